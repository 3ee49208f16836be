"""Webhook subscriptions: create, change, test, and look at and replay their deliveries."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any

import orjson

from smsbridge.config import Settings
from smsbridge.core import netguard
from smsbridge.core.errors import NotFound, ValidationFailed
from smsbridge.core.webhook_signing import new_secret
from smsbridge.dispatch.http_post import HttpPoster, PostError
from smsbridge.dispatch.webhook_sender import Target, custom_headers, post_signed
from smsbridge.services import webhook_formats
from smsbridge.services.caller import Caller
from smsbridge.services.events import EVENT_TYPES, WEBHOOK_TEST, Event
from smsbridge.store import accounts, deliveries, webhooks
from smsbridge.store import campaigns as campaign_store
from smsbridge.store.db import Database, now_us
from smsbridge.store.deliveries import DEAD, DONE, NewDelivery, Result

MAX_PER_ACCOUNT = 50
MAX_HEADERS = 20
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")
_RESERVED = {"host", "content-type", "content-length", "transfer-encoding", "connection",
             "user-agent"}  # fmt: skip
_HOUR_US = 3_600_000_000
Row = dict[str, Any]


class WebhookService:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self._poster: HttpPoster | None = None

    # -- subscriptions -----------------------------------------------------------------------

    async def create(self, caller: Caller, fields: Mapping[str, Any]) -> tuple[Row, str]:
        """A new subscription and its secret (shown this once)."""
        if not fields.get("url"):
            raise ValidationFailed("Give the `url` events are POSTed to.", code="invalid_url")
        if not fields.get("events"):
            raise ValidationFailed(
                f'Give the `events` to send: any of {", ".join(EVENT_TYPES)}, or ["*"].',
                code="invalid_events",
            )
        values = await self._checked(caller, fields)
        secret = fields.get("secret") or new_secret()
        now = now_us()
        async with self.db.write() as conn:
            if len(await webhooks.page(conn, caller.account_id)) >= MAX_PER_ACCOUNT:
                raise ValidationFailed(
                    f"An account has at most {MAX_PER_ACCOUNT} webhooks; delete unused ones "
                    "or subscribe one URL to several events.",
                    code="too_many_webhooks",
                )
            webhook_id = await webhooks.create(conn, {
                "account_id": caller.account_id, "url": values["url"],
                "events": values["events"], "label": values.get("label"),
                "campaign_id": values.get("campaign_id"), "headers": values.get("headers"),
                "secret": secret, "description": values.get("description"),
                "enabled": values.get("enabled", True), "created_at": now, "updated_at": now,
                "format": values.get("format", webhook_formats.NATIVE),
                "method": values.get("method"),
            })  # fmt: skip
            row = await webhooks.get(conn, caller.account_id, webhook_id)
        assert row is not None
        return row, secret

    async def _checked(self, caller: Caller, fields: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if "url" in fields:
            target = netguard.parse_url(fields["url"])
            if not self.settings.webhooks_allow_private:
                netguard.refuse_private_literal(target)
            out["url"] = fields["url"].strip()
        if "events" in fields:
            out["events"] = _events(fields["events"])
        if "secret" in fields and fields["secret"] is not None:
            _secret(fields["secret"])
        if "headers" in fields:
            out["headers"] = _headers(fields["headers"])
        if "label" in fields:
            out["label"] = fields["label"] or None
        if "description" in fields:
            out["description"] = fields["description"] or None
        if "enabled" in fields and fields["enabled"] is not None:
            out["enabled"] = bool(fields["enabled"])
        if fields.get("format") is not None or fields.get("method") is not None:
            out["format"], out["method"] = webhook_formats.check(
                fields.get("format"), fields.get("method")
            )
        if "campaign_id" in fields:
            campaign = fields["campaign_id"]
            if campaign is not None:
                async with self.db.read() as conn:
                    if await campaign_store.get(conn, caller.account_id, int(campaign)) is None:
                        raise ValidationFailed(
                            f"There is no campaign {campaign} in this account.",
                            code="campaign_not_found",
                        )
                campaign = int(campaign)
            out["campaign_id"] = campaign
        return out

    async def get(self, caller: Caller, webhook_id: int) -> Row:
        async with self.db.read() as conn:
            row = await webhooks.get(conn, caller.account_id, webhook_id)
            if row is None:
                raise _missing(webhook_id)
            row["counts"] = await deliveries.counts(conn, webhook_id)
        return row

    async def all(self, caller: Caller) -> list[Row]:
        async with self.db.read() as conn:
            return await webhooks.page(conn, caller.account_id)

    async def update(self, caller: Caller, webhook_id: int, fields: Mapping[str, Any]) -> Row:
        values = await self._checked(caller, fields)
        if fields.get("secret"):
            values["secret"] = fields["secret"]
        values["updated_at"] = now_us()
        async with self.db.write() as conn:
            if not await webhooks.update_one(conn, caller.account_id, webhook_id, values):
                raise _missing(webhook_id)
            row = await webhooks.get(conn, caller.account_id, webhook_id)
        assert row is not None
        return row

    async def rotate_secret(self, caller: Caller, webhook_id: int) -> str:
        secret = new_secret()
        async with self.db.write() as conn:
            changed = await webhooks.update_one(
                conn, caller.account_id, webhook_id, {"secret": secret, "updated_at": now_us()}
            )
        if not changed:
            raise _missing(webhook_id)
        return secret

    async def delete(self, caller: Caller, webhook_id: int) -> None:
        async with self.db.write() as conn:
            if not await webhooks.delete_one(conn, caller.account_id, webhook_id):
                raise _missing(webhook_id)

    async def callback_secret(self, caller: Caller, *, rotate: bool = False) -> str:
        """The secret that signs deliveries to messages' own ``callback_url``."""
        async with self.db.write() as conn:
            if rotate:
                await accounts.rotate_callback_secret(conn, caller.account_id, new_secret())
            return await accounts.callback_secret(conn, caller.account_id, new_secret())

    # -- deliveries --------------------------------------------------------------------------

    async def deliveries(
        self, caller: Caller, webhook_id: int, *, state: str | None, before: int | None,
        limit: int,
    ) -> list[Row]:  # fmt: skip
        if state is not None and state not in (deliveries.WAITING, deliveries.READY, DONE, DEAD):
            raise ValidationFailed(
                "`state` is one of waiting, ready, done, dead.", code="invalid_state"
            )
        await self.get(caller, webhook_id)
        async with self.db.read() as conn:
            return await deliveries.page(
                conn, webhook_id, state=state, before_id=before, limit=limit
            )

    async def redeliver(
        self, caller: Caller, webhook_id: int, delivery_id: int | None = None
    ) -> int:
        """Queue a delivery (or every dead letter of the subscription) again."""
        await self.get(caller, webhook_id)
        now = now_us()
        give_up = now + int(self.settings.webhooks_give_up_hours * _HOUR_US)
        async with self.db.write() as conn:
            if (
                delivery_id is not None
                and await deliveries.get(conn, webhook_id, delivery_id) is None
            ):
                raise NotFound(
                    f"Webhook {webhook_id} has no delivery {delivery_id}.",
                    code="delivery_not_found",
                )
            count = await deliveries.redeliver(
                conn, webhook_id, now=now, give_up_at=give_up, delivery_id=delivery_id
            )
        if delivery_id is not None and not count:
            raise ValidationFailed(
                "Only finished deliveries (done or dead) can be sent again; this one is still "
                "queued.",
                code="delivery_pending",
            )
        return count

    async def test(self, caller: Caller, webhook_id: int) -> Row:
        """POST a ``webhook.test`` event now, once, and report the answer (logged as a
        delivery)."""
        row = await self.get(caller, webhook_id)
        now = now_us()
        event = Event(
            f"evt_test{now}", WEBHOOK_TEST, caller.account_id, now,
            {"webhook_id": str(webhook_id), "message": "This is a test event from smsbridge."},
        )  # fmt: skip
        async with self.db.write() as conn:
            await deliveries.add(
                conn,
                [NewDelivery(caller.account_id, webhook_id, None, event.id, event.type, 0,
                             event.body.decode())],
                now=now, give_up_at=now,
            )  # fmt: skip
            claimed = await deliveries.claim_event(conn, webhook_id, event.id, now=now)
        if self._poster is None:
            self._poster = HttpPoster(allow_private=self.settings.webhooks_allow_private)
        started = time.perf_counter()
        code: int | None = None
        error: str | None = None
        try:
            response = await post_signed(
                self._poster,
                Target(row["url"], row["secret"], custom_headers(row["headers"])),
                event_id=event.id, event_type=event.type, delivery_id=claimed, attempt=1,
                body=event.body, deadline_s=self.settings.webhooks_timeout_seconds,
            )  # fmt: skip
            code = response.status
            if not 200 <= code < 300:
                error = f"HTTP {code}: {response.body[:200].decode('utf-8', 'replace')}"
        except PostError as exc:
            error = str(exc)
        latency = int((time.perf_counter() - started) * 1000)
        ok = error is None
        async with self.db.write() as conn:
            await deliveries.finish(
                conn,
                [Result(claimed, webhook_id, 0, 1, now_us(), code, latency, error,
                        DONE if ok else DEAD)],
                now=now_us(),
            )  # fmt: skip
        return {"delivered": ok, "status_code": code, "latency_ms": latency, "error": error,
                "delivery_id": claimed, "event_id": event.id}  # fmt: skip

    async def close(self) -> None:
        if self._poster is not None:
            await self._poster.close()


def _missing(webhook_id: int) -> NotFound:
    return NotFound(f"There is no webhook {webhook_id} in this account.", code="webhook_not_found")


def _events(value: Any) -> str:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ValidationFailed(
            f'`events` is a list of event types ({", ".join(EVENT_TYPES)}) or ["*"].',
            code="invalid_events",
        )
    wanted = list(dict.fromkeys(v.strip() for v in value))
    unknown = [v for v in wanted if v != "*" and v not in EVENT_TYPES]
    if unknown:
        raise ValidationFailed(
            f"Unknown event type(s) {', '.join(unknown)}; choose from {', '.join(EVENT_TYPES)} "
            'or "*" for all.',
            code="unknown_event",
        )
    return "*" if "*" in wanted else ",".join(wanted)


def _secret(value: Any) -> None:
    if not isinstance(value, str) or not 16 <= len(value) <= 128 or not value.isprintable():
        raise ValidationFailed(
            "A webhook `secret` has 16 to 128 printable characters; leave it out to have one "
            "generated.",
            code="invalid_secret",
        )


def _headers(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dict) or len(value) > MAX_HEADERS:
        raise ValidationFailed(
            f"`headers` is an object of at most {MAX_HEADERS} header names and values.",
            code="invalid_headers",
        )
    for name, text in value.items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise ValidationFailed(f"{name!r} is not a valid header name.", code="invalid_headers")
        if name.lower() in _RESERVED or name.lower().startswith("x-smsbridge-"):
            raise ValidationFailed(
                f"The header {name} is set by smsbridge itself and cannot be replaced.",
                code="invalid_headers",
            )
        if not isinstance(text, str) or len(text) > 1000 or any(c in text for c in "\r\n\0"):
            raise ValidationFailed(
                f"The value of header {name} must be text of at most 1000 characters without "
                "line breaks.",
                code="invalid_headers",
            )
    return orjson.dumps(value).decode() if value else None
