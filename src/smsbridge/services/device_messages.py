"""Messages as the SMSGate integrator API sees them: addressed by the integrator's own id,
one state per recipient in the app's vocabulary (Pending, Processed, Sent, Delivered,
Failed, Cancelled), listed with offsets and a total count."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import and_, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from smsbridge.core.errors import Conflict, NotFound, ValidationFailed
from smsbridge.core.ids import nanoid
from smsbridge.core.message import Status
from smsbridge.services.caller import Caller
from smsbridge.services.message_plan import SendRequest
from smsbridge.services.messages import MessageService
from smsbridge.services.send import SendService
from smsbridge.store import device_queue
from smsbridge.store import devices as device_store
from smsbridge.store.db import Database, now_us
from smsbridge.store.messages import get_message
from smsbridge.store.schema import device_messages, messages, recipient_events, recipients

ANDROID = device_queue.CHANNEL
# Core recipient status -> the app's state ("sending" is Pending or Processed on the phone).
APP_STATE = {
    Status.DRAFT.value: "Pending", Status.QUEUED.value: "Pending",
    Status.SCHEDULED.value: "Pending", Status.SENDING.value: "Pending",
    Status.SENT.value: "Sent", Status.DELIVERED.value: "Delivered",
    Status.FAILED.value: "Failed", Status.EXPIRED.value: "Failed",
    Status.REJECTED.value: "Failed", Status.CANCELLED.value: "Cancelled",
}  # fmt: skip
CORE_STATUSES = {
    "Pending": ("draft", "queued", "scheduled", "sending"),
    "Processed": ("sending",),
    "Sent": ("sent",),
    "Delivered": ("delivered",),
    "Failed": ("failed", "expired", "rejected"),
    "Cancelled": ("cancelled",),
}


@dataclass(slots=True)
class RecipientView:
    phone_number: str
    state: str
    error: str | None


@dataclass(slots=True)
class MessageView:
    id: str
    device_id: str | None
    state: str
    is_encrypted: bool
    recipients: list[RecipientView]
    states: dict[str, int]  # state -> unix microseconds it was first reached
    text: str
    options: dict[str, Any]
    created_at: int
    valid_until: int | None


@dataclass(slots=True)
class ListQuery:
    since: int | None = None
    until: int | None = None
    state: str | None = None
    device_id: str | None = None
    limit: int = 50
    offset: int = 0
    ascending: bool = False


def aggregate(states: list[str]) -> str:
    """The message's state from its recipients', as the app computes it."""
    if not states:
        return "Pending"
    if "Pending" in states:
        return "Pending"
    if "Processed" in states:
        return "Processed"
    for final in ("Failed", "Delivered", "Cancelled"):
        if all(s == final for s in states):
            return final
    return "Sent"


class IntegratorMessages:
    def __init__(self, db: Database, send: SendService, messages: MessageService) -> None:
        self.db = db
        self.sender = send
        self.messages = messages

    async def send(
        self, caller: Caller, req: SendRequest, *, active_within_hours: int = 0
    ) -> MessageView:
        req.ext_id = req.ext_id or nanoid()
        req.channel = ANDROID
        async with self.db.read() as conn:
            if await _by_ext_id(conn, caller.account_id, req.ext_id) is not None:
                raise Conflict(f"A message with id {req.ext_id!r} exists already.",
                               code="duplicate_id")  # fmt: skip
            if req.device_id is not None:
                device = await device_store.get(conn, caller.account_id, req.device_id)
                if device is None:
                    raise ValidationFailed(f"No device {req.device_id!r} in this account.",
                                           code="device_not_found")  # fmt: skip
            elif active_within_hours > 0:
                since = now_us() - active_within_hours * 3600 * 1_000_000
                phones = [
                    d for d in await device_store.list_for(conn, caller.account_id)
                    if d["last_seen"] >= since
                ]  # fmt: skip
                if not phones:
                    raise ValidationFailed(
                        f"No device was active in the last {active_within_hours} hours.",
                        code="no_active_device",
                    )
                req.device_id = secrets.choice(phones)["id"]
        accepted = await self.sender.send(caller, req)
        return await self._view_of(caller.account_id, accepted.id)

    async def get(self, caller: Caller, ext_id: str) -> MessageView:
        return await self._view_of(caller.account_id, await self._message_id(caller, ext_id))

    async def cancel(self, caller: Caller, ext_id: str) -> MessageView:
        message_id = await self._message_id(caller, ext_id)
        view = await self._view_of(caller.account_id, message_id)
        if view.state not in ("Pending",):
            raise Conflict(f"Message {ext_id!r} is {view.state}: only pending messages can be "
                           "cancelled.", code="not_pending")  # fmt: skip
        await self.messages.cancel(caller, message_id)
        return await self._view_of(caller.account_id, message_id)

    async def list(self, caller: Caller, query: ListQuery) -> tuple[list[MessageView], int]:
        conds = [messages.c.account_id == caller.account_id, messages.c.channel == ANDROID]
        if query.since is not None:
            conds.append(messages.c.created_at >= query.since)
        if query.until is not None:
            conds.append(messages.c.created_at < query.until)
        if query.device_id is not None:
            # Asked for that phone, or routed to it.
            routed = (
                select(device_messages.c.id)
                .join(recipients, recipients.c.id == device_messages.c.recipient_id)
                .where(
                    recipients.c.message_id == messages.c.id,
                    device_messages.c.device_id == query.device_id,
                )
                .exists()
            )
            conds.append(or_(messages.c.device_id == query.device_id, routed))
        if query.state is not None:
            conds.append(_has_recipient_in(query.state))
        where = and_(*conds)
        order = messages.c.created_at.asc() if query.ascending else messages.c.created_at.desc()
        async with self.db.read() as conn:
            total = (await conn.execute(select(func.count()).where(where))).scalar_one()
            ids = [
                r[0]
                for r in await conn.execute(
                    select(messages.c.id).where(where).order_by(order, messages.c.id)
                    .limit(query.limit).offset(query.offset)
                )
            ]  # fmt: skip
        views = [await self._view_of(caller.account_id, mid) for mid in ids]
        return views, int(total)

    async def _message_id(self, caller: Caller, ext_id: str) -> int:
        async with self.db.read() as conn:
            message_id = await _by_ext_id(conn, caller.account_id, ext_id)
        if message_id is None:
            raise NotFound(f"Message {ext_id!r} not found.", code="message_not_found")
        return message_id

    async def _view_of(self, account_id: int, message_id: int) -> MessageView:
        async with self.db.read() as conn:
            record = await get_message(conn, account_id, message_id, details=False)
            assert record is not None
            ids = [r["id"] for r in record.recipients]
            queue = await device_queue.for_recipients(conn, ids)
            reached: dict[str, int] = {}
            for chunk in [ids[i : i + 900] for i in range(0, len(ids), 900)]:
                result = await conn.execute(
                    select(recipient_events.c.status, func.min(recipient_events.c.at))
                    .where(recipient_events.c.recipient_id.in_(chunk))
                    .group_by(recipient_events.c.status)
                )
                for status, at in result.all():
                    state = APP_STATE.get(status)
                    if state is not None and status != Status.SENDING.value:
                        reached[state] = min(at, reached.get(state, at))
        message = record.message
        reached.setdefault("Pending", message["created_at"])
        views: list[RecipientView] = []
        device_id = message["device_id"]
        for r in record.recipients:
            state = APP_STATE.get(r["status"], "Pending")
            row = queue.get(r["id"])
            if row is not None:
                device_id = device_id or row["device_id"]
                if state == "Pending" and row["state"] != "Pending":
                    state = "Processed"
                taken = row["taken_at"]
                if taken is not None:
                    reached["Processed"] = min(taken, reached.get("Processed", taken))
            error = None
            if state == "Failed":
                error = r["error_message"] or r["error_code"]
            views.append(RecipientView(r["to_number"], state, error))
        options = orjson.loads(message["device_options"]) if message["device_options"] else {}
        return MessageView(
            id=message["ext_id"] or str(message["id"]),
            device_id=device_id,
            state=aggregate([v.state for v in views]),
            is_encrypted=bool(options.get("encrypted")),
            recipients=views,
            states=reached,
            text=message["text"],
            options=options,
            created_at=message["created_at"],
            valid_until=message["expires_at"],
        )


def _has_recipient_in(state: str) -> ColumnElement[bool]:
    """Messages with a recipient in the app's ``state``: a ``sending`` recipient is Processed
    once its phone took it, Pending before."""
    statuses = CORE_STATUSES.get(state)
    if statuses is None:
        raise ValidationFailed(
            f"Unknown state {state!r}; use one of {', '.join(CORE_STATUSES)}.",
            code="invalid_state",
        )
    taken = (
        select(device_messages.c.id)
        .where(
            device_messages.c.recipient_id == recipients.c.id,
            device_messages.c.state.in_(("Processed", "Cancelling")),
        )
        .exists()
    )
    sending = recipients.c.status == Status.SENDING.value
    if state == "Processed":
        match = and_(sending, taken)
    elif state == "Pending":
        others = [s for s in statuses if s != Status.SENDING.value]
        match = or_(recipients.c.status.in_(others), and_(sending, ~taken))
    else:
        match = recipients.c.status.in_(statuses)
    return select(recipients.c.id).where(recipients.c.message_id == messages.c.id, match).exists()


async def _by_ext_id(conn: Any, account_id: int, ext_id: str) -> int | None:
    result = await conn.execute(
        select(messages.c.id).where(
            messages.c.account_id == account_id, messages.c.ext_id == ext_id
        )
    )
    value = result.scalar()
    return int(value) if value is not None else None
