"""Phones: registration, authentication, their queues, settings, and keeping them honest.

The device API (``compat/smsgate/mobile.py``) and the native and integrator APIs call this;
the ``android`` connector fills the queues; what phones report is ``phone_reports``.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from smsbridge.config import Settings
from smsbridge.core.device_settings import check_settings, merge_settings
from smsbridge.core.errors import NotFound, Unauthorized, ValidationFailed
from smsbridge.core.ids import nanoid
from smsbridge.core.message import Status
from smsbridge.dispatch.device_hub import (
    MESSAGE_CANCELLED,
    MESSAGE_ENQUEUED,
    SETTINGS_UPDATED,
    WEBHOOKS_UPDATED,
    DeviceEvent,
    DeviceHub,
)
from smsbridge.services.device_accounts import DeviceAccounts
from smsbridge.services.ttl_cache import TtlCache
from smsbridge.store import device_queue
from smsbridge.store import devices as store
from smsbridge.store import reports as report_store
from smsbridge.store.db import Database, now_us

log = logging.getLogger(__name__)

CHANNEL = device_queue.CHANNEL
SEEN_WRITE_EVERY_US = 5_000_000  # last_seen is written at most this often per phone
# Events a phone posts to our own receiver.
OWN_HOOK_EVENTS = (
    "sms:received", "sms:data-received", "sms:sent", "sms:delivered", "sms:failed",
    "sms:cancelled", "system:ping", "app:started",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Registered:
    device_id: str
    token: str
    login: str
    password: str | None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class DeviceService:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        hub: DeviceHub,
        accounts: DeviceAccounts,
        on_event: Callable[[], None] = lambda: None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.hub = hub
        self.accounts = accounts
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
            id=nanoid(),
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
        await self.seen(device)
        return device

    async def seen(self, device: dict[str, Any]) -> None:
        """The phone called in (written at most every few seconds)."""
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
            merged = merge_settings(device["settings"] or {}, check_settings(settings))
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
