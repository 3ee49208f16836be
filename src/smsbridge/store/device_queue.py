"""Phones' queues: recipients handed to a device, pulled by it, reported on by it.

A row is ``Pending`` until the phone pulls it (then ``Processed``) and ends ``Sent``,
``Delivered``, ``Failed``, ``Cancelled`` or ``Expired``. Its id, as a string, is the message id
the app sees and the part's provider id in the core, so the phone's reports flow through the
ordinary report path. Rows no phone has pulled can still move: to another phone when theirs goes
offline, or to ``Cancelled``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsbridge.core.message import Status
from smsbridge.store.bulk import one_of
from smsbridge.store.schema import (
    device_messages,
    devices,
    messages,
    parts,
    recipient_events,
    recipients,
)

CHANNEL = "android"
PENDING = "Pending"
PROCESSED = "Processed"
CANCELLING = "Cancelling"
OPEN = (PENDING, PROCESSED, CANCELLING)
FINAL = ("Sent", "Delivered", "Failed", "Cancelled", "Expired")  # off the queue
TERMINAL = ("Delivered", "Failed", "Cancelled", "Expired")  # nothing more to report
Row = dict[str, Any]
# The partial index's own predicate, written out: planners use a partial index only when the
# query states its condition literally (a bound parameter does not count).
_OPEN_LITERAL = text("device_messages.state IN ('Pending', 'Processed', 'Cancelling')")


async def enqueue(
    conn: AsyncConnection,
    *,
    recipient_id: int,
    device_id: str,
    sim: int | None,
    valid_until: int,
    now: int,
) -> int:
    """Hand a recipient to a phone; the id of its queue row. Handing the same recipient again
    (a dispatcher died before recording the first hand-over) returns the open row."""
    existing = (
        await conn.execute(
            select(device_messages.c.id).where(
                device_messages.c.recipient_id == recipient_id,
                device_messages.c.state.in_(OPEN),
            )
        )
    ).scalar()
    if existing is not None:
        return int(existing)
    result = await conn.execute(
        insert(device_messages)
        .values(
            recipient_id=recipient_id,
            device_id=device_id,
            sim=sim,
            state=PENDING,
            created_at=now,
            valid_until=valid_until,
            updated_at=now,
        )
        .returning(device_messages.c.id)
    )
    return int(result.scalar_one())


_PULL_COLUMNS = (
    device_messages.c.id,
    device_messages.c.state,
    device_messages.c.sim,
    device_messages.c.valid_until,
    device_messages.c.created_at,
    recipients.c.to_number,
    func.coalesce(recipients.c.text, messages.c.text).label("text"),
    messages.c.priority,
    messages.c.device_options,
)


async def take(
    conn: AsyncConnection, device_id: str, *, limit: int, lifo: bool, now: int, lock: bool
) -> list[Row]:
    """Up to ``limit`` rows waiting for the phone (pending ones become ``Processed``), and the
    ones it should cancel."""
    query = (
        select(*_PULL_COLUMNS)
        .join(recipients, recipients.c.id == device_messages.c.recipient_id)
        .join(messages, messages.c.id == recipients.c.message_id)
        .where(
            device_messages.c.device_id == device_id,
            _OPEN_LITERAL,
            device_messages.c.state.in_((PENDING, CANCELLING)),
        )
        .order_by(device_messages.c.id.desc() if lifo else device_messages.c.id)
        .limit(limit)
    )
    if lock:
        query = query.with_for_update(of=device_messages, skip_locked=True)
    rows = [dict(r) for r in (await conn.execute(query)).mappings()]
    pending = [r["id"] for r in rows if r["state"] == PENDING]
    if pending:
        await conn.execute(
            update(device_messages)
            .where(one_of(conn, device_messages.c.id, pending))
            .values(state=PROCESSED, taken_at=now, updated_at=now)
        )
    return rows


async def newest_pending(conn: AsyncConnection, device_id: str) -> int:
    """The id of the newest row waiting for the phone (0: none)."""
    result = await conn.execute(
        select(func.max(device_messages.c.id)).where(
            device_messages.c.device_id == device_id,
            _OPEN_LITERAL,
            device_messages.c.state == PENDING,
        )
    )
    return int(result.scalar() or 0)


async def mine(conn: AsyncConnection, device_id: str, ids: Sequence[int]) -> dict[int, Row]:
    """This phone's rows among ``ids``."""
    if not ids:
        return {}
    result = await conn.execute(
        select(device_messages.c.id, device_messages.c.state, device_messages.c.recipient_id).where(
            device_messages.c.device_id == device_id, one_of(conn, device_messages.c.id, ids)
        )
    )
    return {r["id"]: dict(r) for r in result.mappings()}


async def set_states(conn: AsyncConnection, changes: Sequence[tuple[int, str]], now: int) -> None:
    for row_id, state in changes:
        values: dict[str, Any] = {"state": state, "updated_at": now}
        if state == PROCESSED:
            values["taken_at"] = now
        await conn.execute(
            update(device_messages).where(device_messages.c.id == row_id).values(**values)
        )


async def overdue(conn: AsyncConnection, now: int, limit: int = 1000) -> list[int]:
    """Rows past their validity that no phone reported as sent: they expire."""
    result = await conn.execute(
        update(device_messages)
        .where(
            device_messages.c.id.in_(
                select(device_messages.c.id)
                .where(device_messages.c.state.in_(OPEN), device_messages.c.valid_until < now)
                .limit(limit)
                .scalar_subquery()
            )
        )
        .values(state="Expired", updated_at=now)
        .returning(device_messages.c.id)
    )
    return [int(r[0]) for r in result.all()]


async def release_stranded(conn: AsyncConnection, now: int, limit: int = 1000) -> int:
    """Rows still waiting on phones that went offline or were removed go back to the outbox,
    due now: the dispatcher routes them again (to an online phone). Pulled rows stay, and so do
    messages that asked for that very phone while it is only offline (they wait for it)."""
    result = await conn.execute(
        select(device_messages.c.id, device_messages.c.recipient_id)
        .join(devices, devices.c.id == device_messages.c.device_id)
        .join(recipients, recipients.c.id == device_messages.c.recipient_id)
        .join(messages, messages.c.id == recipients.c.message_id)
        .where(
            device_messages.c.state == PENDING,
            or_(
                devices.c.deleted_at.is_not(None),
                and_(devices.c.online.is_(False), messages.c.device_id.is_(None)),
            ),
        )
        .limit(limit)
    )
    rows = result.all()
    if not rows:
        return 0
    ids = [int(r[0]) for r in rows]
    taken = await conn.execute(
        delete(device_messages)
        .where(one_of(conn, device_messages.c.id, ids), device_messages.c.state == PENDING)
        .returning(device_messages.c.id, device_messages.c.recipient_id)
    )
    moved = taken.all()
    if not moved:
        return 0
    await conn.execute(
        delete(parts).where(
            parts.c.channel == CHANNEL,
            one_of(conn, parts.c.provider_id, [str(r[0]) for r in moved]),
        )
    )
    recipient_ids = [int(r[1]) for r in moved]
    requeued = await conn.execute(
        update(recipients)
        .where(
            one_of(conn, recipients.c.id, recipient_ids),
            recipients.c.status == Status.SENDING.value,
        )
        .values(status=Status.QUEUED.value, due_at=now, updated_at=now, channel=None)
        .returning(recipients.c.id)
    )
    back = [int(r[0]) for r in requeued.all()]
    if back:
        await conn.execute(
            insert(recipient_events),
            [
                {
                    "recipient_id": rid,
                    "status": Status.QUEUED.value,
                    "at": now,
                    "detail": "its phone went offline before taking it; routed again",
                }
                for rid in back
            ],
        )
    return len(back)


async def cancel_unpulled(conn: AsyncConnection, message_id: int, now: int) -> list[Row]:
    """Withdraw a message's rows no phone has pulled yet; the (recipient, device) pairs."""
    result = await conn.execute(
        update(device_messages)
        .where(
            device_messages.c.state == PENDING,
            device_messages.c.recipient_id.in_(
                select(recipients.c.id).where(
                    recipients.c.message_id == message_id,
                    recipients.c.status == Status.SENDING.value,
                )
            ),
        )
        .values(state="Cancelled", updated_at=now)
        .returning(
            device_messages.c.id, device_messages.c.recipient_id, device_messages.c.device_id
        )
    )
    return [dict(r) for r in result.mappings()]


async def for_recipients(conn: AsyncConnection, recipient_ids: Sequence[int]) -> dict[int, Row]:
    """The newest queue row of each recipient (its phone and phone-side state)."""
    if not recipient_ids:
        return {}
    result = await conn.execute(
        select(
            device_messages.c.id,
            device_messages.c.recipient_id,
            device_messages.c.device_id,
            device_messages.c.state,
            device_messages.c.sim,
            device_messages.c.taken_at,
        )
        .where(one_of(conn, device_messages.c.recipient_id, list(recipient_ids)))
        .order_by(device_messages.c.id)
    )
    return {r["recipient_id"]: dict(r) for r in result.mappings()}


async def load(conn: AsyncConnection, device_ids: Sequence[str]) -> dict[str, int]:
    """Open rows per phone."""
    if not device_ids:
        return {}
    result = await conn.execute(
        select(device_messages.c.device_id, func.count())
        .where(
            and_(
                device_messages.c.state.in_(OPEN),
                one_of(conn, device_messages.c.device_id, list(device_ids)),
            )
        )
        .group_by(device_messages.c.device_id)
    )
    return {r[0]: int(r[1]) for r in result.all()}
