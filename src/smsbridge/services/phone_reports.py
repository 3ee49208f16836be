"""What phones report: message states (``PATCH /message``) and the signed events they post to
our receiver (``sms:received``, ``sms:sent`` ...). States are applied in the transaction that
records the phone-side state, through the core's ordinary report path."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from smsbridge.connectors.base import InboundSms
from smsbridge.core.errors import NotFound, Unauthorized, ValidationFailed
from smsbridge.core.message import Status
from smsbridge.services.devices import DeviceService
from smsbridge.services.inbound import InboundService
from smsbridge.services.ttl_cache import TtlCache
from smsbridge.store import device_queue
from smsbridge.store import devices as store
from smsbridge.store import reports as report_store
from smsbridge.store.db import Database, now_us

CHANNEL = device_queue.CHANNEL
SIGNATURE_WINDOW_S = 900  # how old a signed webhook from a phone may be
# Phone-side states in the order they progress (reports never move a row back).
_RANK = {"Pending": 0, "Processed": 1, "Cancelling": 1, "Sent": 2}
_CORE_STATUS = {
    "Sent": Status.SENT,
    "Delivered": Status.DELIVERED,
    "Failed": Status.FAILED,
    "Cancelled": Status.CANCELLED,
}
# The phone's own status events: the state each reports and the payload field of its time.
_HOOK_STATES = {
    "sms:sent": ("Sent", "sentAt"),
    "sms:delivered": ("Delivered", "deliveredAt"),
    "sms:failed": ("Failed", "failedAt"),
    "sms:cancelled": ("Cancelled", "cancelledAt"),
}
_RESULT_CODE = re.compile(r"RESULT_[A-Z_]+")
_DELIVERY_CODE = re.compile(r"Delivery result[^:]*:\s*(\d+)")


@dataclass(frozen=True, slots=True)
class StateReport:
    """One entry of ``PATCH /message``: the phone's state of one of its queue rows."""

    id: str
    state: str
    error: str | None = None
    at: int | None = None  # unix microseconds


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
    """An RFC 3339 time with its offset as unix microseconds (None when it is not one)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return int(parsed.timestamp() * 1_000_000)


def _queue_id(text: str) -> int | None:
    """The queue row a phone's message id names (ids of other servers are not numbers)."""
    return int(text) if text.isdigit() and len(text) < 19 else None


def _advances(current: str, new: str) -> bool:
    if current in device_queue.TERMINAL:
        return False
    if new in device_queue.TERMINAL:
        return True
    return _RANK.get(new, -1) > _RANK.get(current, -1)


def _plan(
    rows: dict[int, dict[str, Any]], items: Sequence[StateReport], now: int
) -> tuple[list[tuple[int, str]], list[report_store.Report]]:
    """The phone-side state changes the reports make, and the core reports they carry."""
    changes: list[tuple[int, str]] = []
    reports: list[report_store.Report] = []
    for item in items:
        row_id = _queue_id(item.id)
        row = rows.get(row_id) if row_id is not None else None
        state = "Processed" if item.state == "Pending" else item.state
        if row is None or not _advances(row["state"], state):
            continue
        row["state"] = state
        changes.append((row["id"], state))
        status = _CORE_STATUS.get(state)
        if status is None:
            continue
        code = error_code(item.error) if status is Status.FAILED else None
        if code == "TTL_EXPIRED":
            status = Status.EXPIRED
        reports.append(report_store.Report(CHANNEL, str(row["id"]), status, code, item.at or now))
    return changes, reports


class PhoneReports:
    def __init__(
        self,
        db: Database,
        devices: DeviceService,
        inbound: InboundService,
        on_event: Callable[[], None] = lambda: None,
    ) -> None:
        self.db = db
        self.devices = devices
        self.inbound = inbound
        self.on_event = on_event  # an event was committed (wakes the webhook publisher)
        # Phones post several events per message: their records are read once a second.
        self._devices: TtlCache[str, dict[str, Any] | None] = TtlCache(1.0)

    async def report(self, device: dict[str, Any], items: Sequence[StateReport]) -> int:
        """Apply the phone's state reports; ids that are not its own are ignored (the app
        also reports messages it had before it was registered here). Returns how many
        changed something."""
        ids = [row_id for i in items if (row_id := _queue_id(i.id)) is not None]
        now = now_us()
        async with self.db.read() as conn:  # most reports repeat what a webhook told already
            changes, _ = _plan(await device_queue.mine(conn, device["id"], ids), items, now)
        if not changes:
            return 0
        async with self.db.write() as conn:
            rows = await device_queue.mine(conn, device["id"], ids)
            changes, reports = _plan(rows, items, now)
            if changes:
                await device_queue.set_states(conn, changes, now)
            if reports:
                await report_store.apply_reports(conn, reports)
        if reports:
            self.on_event()
        return len(changes)

    async def hook(
        self, device_id: str, body: bytes, timestamp: str | None, signature: str | None
    ) -> None:
        """A signed event the phone posted to our receiver."""
        found, device = self._devices.get(device_id)
        if not found:
            async with self.db.read() as conn:
                device = await store.by_id(conn, device_id)
            self._devices.put(device_id, device)
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
        await self.devices.seen(device)
        try:
            envelope = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise ValidationFailed("The body is not JSON.", code="invalid_json") from None
        if not isinstance(envelope, dict) or not isinstance(envelope.get("payload"), dict):
            raise ValidationFailed("Expected {event, payload}.", code="invalid_webhook")
        await self._on_hook(device, str(envelope.get("event")), envelope["payload"])

    async def _on_hook(self, device: dict[str, Any], event: str, payload: dict[str, Any]) -> None:
        if event == "sms:received":
            await self._received(device, payload)
            return
        known = _HOOK_STATES.get(event)
        if known is not None and isinstance(payload.get("messageId"), str):
            state, at_key = known
            report = StateReport(
                payload["messageId"], state, _str(payload.get("reason")),
                parse_time(payload.get(at_key)),
            )  # fmt: skip
            await self.report(device, [report])
        # system:ping, app:started and the rest: being heard from is all that counts.

    async def _received(self, device: dict[str, Any], payload: dict[str, Any]) -> None:
        sim = payload.get("simNumber") if isinstance(payload.get("simNumber"), int) else None
        sender = payload.get("sender") or payload.get("phoneNumber")
        if not isinstance(sender, str) or not isinstance(payload.get("message"), str):
            raise ValidationFailed("sms:received needs sender and message.", code="invalid_webhook")
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


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _sim_number(device: dict[str, Any], sim: int | None) -> str | None:
    """The number of the SIM an SMS came in on, unless the app sent it redacted."""
    for card in device["sims"]:
        if card.get("simNumber") == sim and isinstance(card.get("phoneNumber"), str):
            number: str = card["phoneNumber"]
            return None if "*" in number else number
    return None
