"""Phones: registration, authentication, their queues and reports, and keeping them honest.

The device API (``compat/smsgate/mobile.py``) and the native and integrator APIs call this;
the ``android`` connector fills the queues. Reports a phone sends (``PATCH /message`` and its
own ``sms:*`` webhooks) are applied in the transaction that records the phone-side state.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from smsbridge.config import Settings
from smsbridge.connectors.base import InboundSms
from smsbridge.core.errors import NotFound, Unauthorized, ValidationFailed
from smsbridge.core.message import Status
from smsbridge.dispatch.device_hub import (
    MESSAGE_CANCELLED,
    MESSAGE_ENQUEUED,
    SETTINGS_UPDATED,
    WEBHOOKS_UPDATED,
    DeviceEvent,
    DeviceHub,
)
from smsbridge.services.device_accounts import DeviceAccounts, check_settings, merge_settings
from smsbridge.services.inbound import InboundService
from smsbridge.services.ttl_cache import TtlCache
from smsbridge.store import device_queue
from smsbridge.store import devices as store
from smsbridge.store import reports as report_store
from smsbridge.store.db import Database, now_us

log = logging.getLogger(__name__)

CHANNEL = device_queue.CHANNEL
SEEN_WRITE_EVERY_US = 5_000_000  # last_seen is written at most this often per phone
SIGNATURE_WINDOW_S = 900  # how old a signed webhook from a phone may be
# Events a phone posts to our own receiver.
OWN_HOOK_EVENTS = (
    "sms:received", "sms:data-received", "sms:sent", "sms:delivered", "sms:failed",
    "sms:cancelled", "system:ping", "app:started",
)  # fmt: skip
# Phone-side states in the order they progress (reports never move a row back).
_RANK = {"Pending": 0, "Processed": 1, "Cancelling": 1, "Sent": 2}
_CORE_STATUS = {
    "Sent": Status.SENT,
    "Delivered": Status.DELIVERED,
    "Failed": Status.FAILED,
    "Cancelled": Status.CANCELLED,
}
_RESULT_CODE = re.compile(r"RESULT_[A-Z_]+")
_DELIVERY_CODE = re.compile(r"Delivery result[^:]*:\s*(\d+)")


@dataclass(frozen=True, slots=True)
class Registered:
    device_id: str
    token: str
    login: str
    password: str | None


@dataclass(frozen=True, slots=True)
class StateReport:
    """One entry of ``PATCH /message``: the phone's state of one of its queue rows."""

    id: str
    state: str
    error: str | None = None
    at: int | None = None  # unix microseconds


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_device_id() -> str:
    alphabet = string.ascii_letters + string.digits + "_-"
    return "".join(secrets.choice(alphabet) for _ in range(21))


def error_code(text: str | None) -> str | None:
    """A stable code from the app's failure text (``Send result: RESULT_ERROR_... (...)``)."""
    if not text:
        return None
    match = _RESULT_CODE.search(text)
    if match:
        return match.group(0)
    if text.strip().lower().startswith("ttl expired"):
        return "TTL_EXPIRED"
    match = _DELIVERY_CODE.search(text)
    if match:
        return f"DELIVERY_{match.group(1)}"
    return text.strip()[:64]


def parse_time(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return int(parsed.timestamp() * 1_000_000)


class DeviceService:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        hub: DeviceHub,
        accounts: DeviceAccounts,
        inbound: InboundService,
        on_event: Callable[[], None] = lambda: None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.hub = hub
        self.accounts = accounts
        self.inbound = inbound
        self.on_event = on_event  # an event was committed (wakes the webhook publisher)
        self.on_requeued: Callable[[], None] = lambda: None  # wakes the dispatcher
        self.on_fleet_change: Callable[[int | None], None] = lambda _account: None
        self._tokens: TtlCache[str, dict[str, Any]] = TtlCache(2.0)
        self._seen_written: dict[str, int] = {}
        # Written often enough that a connected phone never looks silent.
        offline_us = int(settings.devices_offline_after_seconds * 1_000_000)
        self._seen_every = min(SEEN_WRITE_EVERY_US, offline_us // 4)

    # ------------------------------------------------------------------ registration

    async def register(
        self,
        *,
        scheme: str,
        credential: str,
        name: str,
        push_token: str | None,
        sims: list[dict[str, Any]],
        app_version: str | None,
    ) -> Registered:
        """A new phone for the account the credential names: ``Bearer`` private token,
        ``Basic`` integrator login, or ``Code`` one-time code."""
        account_id: int | None
        if scheme == "bearer":
            account_id = await self.accounts.account_of_private_token(credential)
        elif scheme == "code":
            account_id = await self.accounts.use_code(credential.strip())
        elif scheme == "basic":
            login, _, secret = credential.partition(":")
            account_id = await self.accounts.verify_basic(login, secret)
        else:
            account_id = None
        if account_id is None:
            raise Unauthorized(
                "Unknown private token or code: copy the token `smsbridge devices token` "
                "prints into the app's Cloud server settings.",
                code="invalid_private_token",
            )
        creds = await self.accounts.ensure(account_id)
        # The first phone shows the integrator password, as the app expects; later ones
        # (and the same phone registering again) get none, and nothing changes.
        password = await self.accounts.first_password(account_id)
        token = secrets.token_urlsafe(32)
        device = store.NewDevice(
            id=new_device_id(),
            account_id=account_id,
            name=(name or "Android phone")[:128],
            token_hash=hash_token(token),
            push_token=push_token,
            sims=sims,
            app_version=app_version,
            signing_key=secrets.token_urlsafe(24),
        )
        async with self.db.write() as conn:
            await store.add(conn, device, now_us())
        self.on_event()
        self.on_fleet_change(account_id)
        return Registered(device.id, token, creds.login, password)

    async def authenticate(self, token: str | None) -> dict[str, Any]:
        """The phone holding ``token`` (401 makes the app register again)."""
        if not token:
            raise Unauthorized("Missing device token.", code="missing_token")
        digest = hash_token(token)
        found, device = self._tokens.get(digest)
        if not found or device is None:
            async with self.db.read() as conn:
                device = await store.by_token(conn, digest)
            if device is None:
                raise Unauthorized("Unknown device token: register again.", code="invalid_token")
            self._tokens.put(digest, device)
        await self._seen(device)
        return device

    async def _seen(self, device: dict[str, Any]) -> None:
        now = now_us()
        last = self._seen_written.get(device["id"], 0)
        if device["online"] and now - last < self._seen_every:
            return
        self._seen_written[device["id"]] = now
        async with self.db.write() as conn:
            current = await store.get(conn, device["account_id"], device["id"])
            if current is None:
                return
            await store.seen(conn, current, now)
        if not current["online"]:
            device["online"] = True
            self.on_event()
            self.on_fleet_change(device["account_id"])

    async def touch(self, device: dict[str, Any]) -> None:
        """The phone is still connected (its event stream is open)."""
        await self._seen(device)

    async def update(
        self, device: dict[str, Any], *, push_token: str | None, sims: list[dict[str, Any]] | None
    ) -> None:
        async with self.db.write() as conn:
            await store.update_device(
                conn, device["id"], now_us(), push_token=push_token, sims=sims
            )
        self._tokens.clear()
        self.on_fleet_change(device["account_id"])

    # ------------------------------------------------------------------ queue

    async def pull(self, device: dict[str, Any], *, lifo: bool) -> list[dict[str, Any]]:
        limit = self.settings.devices_pull_limit
        async with self.db.write() as conn:
            rows = await device_queue.take(
                conn, device["id"], limit=limit, lifo=lifo, now=now_us(),
                lock=not self.db.is_sqlite,
            )  # fmt: skip
        if len(rows) >= limit:  # more may wait: the phone pulls again
            self.hub.publish(device["id"], DeviceEvent(MESSAGE_ENQUEUED))
        return rows

    async def newest_pending(self, device_id: str) -> int:
        async with self.db.read() as conn:
            return await device_queue.newest_pending(conn, device_id)

    async def report(self, device: dict[str, Any], items: list[StateReport]) -> int:
        """Apply the phone's state reports; ids that are not its own are ignored (the app
        also reports messages it had before it was registered here). Returns how many
        changed something."""
        ids = [int(i.id) for i in items if i.id.isdigit() and len(i.id) < 19]
        now = now_us()
        async with self.db.read() as conn:  # most reports repeat what a webhook told already
            known = await device_queue.mine(conn, device["id"], ids)
        if not any(
            (row := known.get(int(i.id))) is not None
            and row["state"] not in device_queue.TERMINAL
            and _advances(row["state"], "Processed" if i.state == "Pending" else i.state)
            for i in items
            if i.id.isdigit() and len(i.id) < 19
        ):
            return 0
        async with self.db.write() as conn:
            rows = await device_queue.mine(conn, device["id"], ids)
            changes: list[tuple[int, str]] = []
            reports: list[report_store.Report] = []
            for item in items:
                row = rows.get(int(item.id)) if item.id.isdigit() and len(item.id) < 19 else None
                if row is None:
                    continue
                state = "Processed" if item.state == "Pending" else item.state
                current = row["state"]
                if current in device_queue.TERMINAL or not _advances(current, state):
                    continue
                row["state"] = state
                changes.append((row["id"], state))
                status = _CORE_STATUS.get(state)
                if status is None:
                    continue
                code = error_code(item.error) if status is Status.FAILED else None
                if code == "TTL_EXPIRED":
                    status = Status.EXPIRED
                reports.append(
                    report_store.Report(CHANNEL, str(row["id"]), status, code, item.at or now)
                )
            if changes:
                await device_queue.set_states(conn, changes, now)
            if reports:
                await report_store.apply_reports(conn, reports)
        if reports:
            self.on_event()
        return len(changes)

    # ------------------------------------------------------------------ webhooks from phones

    def hooks_for(self, device: dict[str, Any], base_url: str) -> list[dict[str, Any]]:
        url = f"{base_url.rstrip('/')}/api/mobile/v1/hooks/{device['id']}"
        return [
            {"id": f"smsbridge-{event.replace(':', '-')}", "url": url, "event": event,
             "deviceId": device["id"]}
            for event in OWN_HOOK_EVENTS
        ]  # fmt: skip

    async def webhooks_for(self, device: dict[str, Any], base_url: str) -> list[dict[str, Any]]:
        """Our own receiver for every event we use, then the integrator's webhooks."""
        theirs = await self.accounts.webhooks(device["account_id"])
        mine = [w for w in theirs if w["deviceId"] in (None, device["id"])]
        return self.hooks_for(device, base_url) + mine

    async def hook(
        self, device_id: str, body: bytes, timestamp: str | None, signature: str | None
    ) -> None:
        """A signed event the phone posted to our receiver."""
        async with self.db.read() as conn:
            device = await store.by_id(conn, device_id)
        if device is None:
            raise NotFound(f"No device {device_id!r}.", code="device_not_found")
        if not timestamp or not signature:
            raise Unauthorized(
                "Missing X-Signature or X-Timestamp: the phone signs with the key from its "
                "settings; let it download them again.",
                code="missing_signature",
            )
        expected = hmac.new(
            device["signing_key"].encode(), body + timestamp.encode(), hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(expected, signature.strip().lower()):
            raise Unauthorized("Bad webhook signature.", code="invalid_signature")
        try:
            stamp = int(timestamp)
        except ValueError:
            raise Unauthorized(
                "X-Timestamp must be unix seconds.", code="invalid_signature"
            ) from None
        if abs(time.time() - stamp) > SIGNATURE_WINDOW_S:
            raise Unauthorized(
                "X-Timestamp is too far from now: check the phone's clock.", code="stale_signature"
            )
        await self._seen(device)
        try:
            envelope = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise ValidationFailed("The body is not JSON.", code="invalid_json") from None
        if not isinstance(envelope, dict) or not isinstance(envelope.get("payload"), dict):
            raise ValidationFailed("Expected {event, payload}.", code="invalid_webhook")
        await self._on_hook(device, str(envelope.get("event")), envelope["payload"])

    async def _on_hook(self, device: dict[str, Any], event: str, payload: dict[str, Any]) -> None:
        if event == "sms:received":
            sim = payload.get("simNumber") if isinstance(payload.get("simNumber"), int) else None
            sender = payload.get("sender") or payload.get("phoneNumber")
            if not isinstance(sender, str) or not isinstance(payload.get("message"), str):
                raise ValidationFailed(
                    "sms:received needs sender and message.", code="invalid_webhook"
                )
            message_id = payload.get("messageId")
            await self.inbound.receive(
                InboundSms(
                    channel=CHANNEL,
                    sender=sender,
                    text=payload["message"],
                    to=_sim_number(device, sim) or _str(payload.get("recipient")),
                    received_at=parse_time(payload.get("receivedAt")),
                    provider_id=f"{device['id']}:{message_id}" if message_id else None,
                    account_id=device["account_id"],
                    device=device["id"],
                    sim=sim,
                )
            )
            return
        state = {"sms:sent": "Sent", "sms:delivered": "Delivered", "sms:failed": "Failed",
                 "sms:cancelled": "Cancelled"}.get(event)  # fmt: skip
        if state is not None and isinstance(payload.get("messageId"), str):
            at_key = {"Sent": "sentAt", "Delivered": "deliveredAt", "Failed": "failedAt",
                      "Cancelled": "cancelledAt"}[state]  # fmt: skip
            await self.report(
                device,
                [
                    StateReport(
                        payload["messageId"],
                        state,
                        _str(payload.get("reason")),
                        parse_time(payload.get(at_key)),
                    )
                ],
            )
        # system:ping, app:started and the rest: being heard from is all that counts.

    # ------------------------------------------------------------------ devices

    async def all_of(self, account_id: int) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            return await store.list_for(conn, account_id)

    async def get(self, account_id: int, device_id: str) -> dict[str, Any]:
        async with self.db.read() as conn:
            device = await store.get(conn, account_id, device_id)
        if device is None:
            raise NotFound(
                f"No device {device_id!r} in this account; list them with GET /api/v1/devices.",
                code="device_not_found",
            )
        return device

    async def check(self, account_id: int, device_id: str | None, sim: int | None) -> None:
        """Refuse a send naming a phone the account does not have, or a SIM it lacks."""
        if device_id is None:
            return
        try:
            device = await self.get(account_id, device_id)
        except NotFound as exc:
            raise ValidationFailed(exc.message, code=exc.code) from None
        slots = {s.get("simNumber") for s in device["sims"]} - {None}
        if sim is not None and slots and sim not in slots:
            raise ValidationFailed(
                f"Device {device_id!r} has SIMs {sorted(slots)}, not {sim}.",
                code="sim_not_found",
            )

    async def remove(self, account_id: int, device_id: str) -> None:
        async with self.db.write() as conn:
            if not await store.remove(conn, account_id, device_id, now_us()):
                raise NotFound(f"No device {device_id!r} in this account.", code="device_not_found")
            moved = await device_queue.release_stranded(conn, now_us())
        self._tokens.clear()
        self.on_fleet_change(account_id)
        if moved:
            self.on_requeued()

    async def edit(
        self,
        account_id: int,
        device_id: str,
        *,
        name: str | None = None,
        settings: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Rename a phone or change its own settings (e.g. its throttle: send intervals and a
        limit per period), which override the account's and reach the phone at once."""
        device = await self.get(account_id, device_id)
        merged = None
        if settings is not None:
            merged = merge_settings(
                device["settings"] or {}, check_settings(settings, partial=True)
            )
        async with self.db.write() as conn:
            await store.update_device(conn, device_id, now_us(), name=name, settings=merged)
        if merged is not None:
            self.hub.publish(device_id, DeviceEvent(SETTINGS_UPDATED))
        self._tokens.clear()
        return await self.get(account_id, device_id)

    async def settings_for(self, device: dict[str, Any]) -> dict[str, Any]:
        """The account's phone settings with this phone's own, plus its signing key."""
        settings = await self.accounts.settings_of(device["account_id"])
        async with self.db.read() as conn:
            current = await store.get(conn, device["account_id"], device["id"])
        own = (current or device)["settings"] or {}
        merged = merge_settings(settings, own)
        merged.setdefault("webhooks", {})["signing_key"] = device["signing_key"]
        return merged

    async def notify_account(self, account_id: int, event_type: str) -> None:
        ids = [d["id"] for d in await self.all_of(account_id)]
        self.hub.publish_all(ids, DeviceEvent(event_type))

    async def settings_changed(self, account_id: int) -> None:
        await self.notify_account(account_id, SETTINGS_UPDATED)

    async def webhooks_changed(self, account_id: int) -> None:
        await self.notify_account(account_id, WEBHOOKS_UPDATED)

    def cancelled(self, rows: list[dict[str, Any]]) -> None:
        """Tell phones about queue rows withdrawn before they pulled them."""
        for row in rows:
            self.hub.publish(
                row["device_id"], DeviceEvent(MESSAGE_CANCELLED, {"messageId": str(row["id"])})
            )

    # ------------------------------------------------------------------ upkeep

    async def upkeep(self) -> None:
        """Phones silent too long go offline, work waiting on them moves to others, and
        rows past their validity expire."""
        now = now_us()
        async with self.db.read() as conn:
            if not await store.any_device(conn):
                return
        silent_since = now - int(self.settings.devices_offline_after_seconds * 1_000_000)
        async with self.db.write() as conn:
            gone = await store.mark_offline(conn, silent_since=silent_since, now=now)
            moved = await device_queue.release_stranded(conn, now)
            expired = await device_queue.overdue(conn, now)
            if expired:
                await report_store.apply_reports(
                    conn,
                    [
                        report_store.Report(CHANNEL, str(i), Status.EXPIRED, "TTL_EXPIRED", now)
                        for i in expired
                    ],
                )
            await store.prune_revoked(conn, now)
        if gone:
            self._tokens.clear()
            for row in gone:
                self._seen_written.pop(row["id"], None)
            self.on_fleet_change(None)
        if gone or expired:
            self.on_event()
        if moved:
            self.on_requeued()


def _advances(current: str, new: str) -> bool:
    if new in device_queue.TERMINAL:
        return True
    return _RANK.get(new, -1) > _RANK.get(current, -1)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _sim_number(device: dict[str, Any], sim: int | None) -> str | None:
    for card in device["sims"]:
        if card.get("simNumber") == sim and isinstance(card.get("phoneNumber"), str):
            number: str = card["phoneNumber"]
            return None if "*" in number else number
    return None
