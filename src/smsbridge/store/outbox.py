"""The outbox: claiming due recipients and recording what happened to them.

A claim moves due rows to ``sending`` and pushes their ``due_at`` to the end of a lease. If the
process dies before the outcome is recorded, the lease runs out, the row is due again and
another claim sends it: nothing accepted is lost. On PostgreSQL the claim locks rows with
``FOR UPDATE SKIP LOCKED`` so concurrent workers never take the same row; on SQLite the write
lock serialises claims.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, null, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsbridge.core.message import Priority, Status
from smsbridge.store import billing, reports
from smsbridge.store.bulk import executemany, insert_rows, one_of
from smsbridge.store.schema import (
    accounts,
    messages,
    parts,
    recipient_events,
    recipients,
)

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    message_id: int
    to_number: str
    attempts: int
    expires_at: int | None
    priority: int
    previous_status: str
    text: str | None = None  # personalised text (else the message's)
    encoding: str | None = None


async def claim(
    conn: AsyncConnection, *, now: int, lease_until: int, worker: str, limit: int, lock: bool
) -> list[Claimed]:
    """Take up to ``limit`` due recipients, high priority first."""
    claimed: list[Claimed] = []
    for priority in (Priority.HIGH, Priority.NORMAL):
        room = limit - len(claimed)
        if room <= 0:
            break
        due = (
            select(recipients.c.id, recipients.c.status)
            .where(
                recipients.c.due_at.is_not(None),
                recipients.c.priority == int(priority),
                recipients.c.due_at <= now,
            )
            .order_by(recipients.c.due_at)
            .limit(room)
        )
        if lock:
            due = due.with_for_update(skip_locked=True)
        picked = (await conn.execute(due)).all()
        if not picked:
            continue
        previous = {row[0]: row[1] for row in picked}
        result = await conn.execute(
            update(recipients)
            .where(one_of(conn, recipients.c.id, list(previous)))
            .values(
                status=Status.SENDING.value,
                due_at=lease_until,
                lease_until=lease_until,
                claimed_by=worker,
                attempts=recipients.c.attempts + 1,
                updated_at=now,
            )
            .returning(
                recipients.c.id,
                recipients.c.message_id,
                recipients.c.to_number,
                recipients.c.attempts,
                recipients.c.expires_at,
                recipients.c.priority,
                recipients.c.text,
                recipients.c.encoding,
            )
        )
        claimed.extend(
            Claimed(r[0], r[1], r[2], r[3], r[4], r[5], previous[r[0]], r[6], r[7])
            for r in result.all()
        )
    return claimed


async def load_messages(conn: AsyncConnection, ids: Iterable[int]) -> dict[int, Row]:
    wanted = list(ids)
    out: dict[int, Row] = {}
    for start in range(0, len(wanted), 900):
        result = await conn.execute(
            select(
                messages.c.id,
                messages.c.text,
                messages.c.sender,
                messages.c.encoding,
                messages.c.languages,
                messages.c.concat_ref,
                messages.c.flash,
                messages.c.account_id,
                messages.c.channel,
                messages.c.device_id,
                messages.c.sim,
                messages.c.udh,
            ).where(one_of(conn, messages.c.id, wanted[start : start + 900]))
        )
        for row in result.mappings():
            out[row["id"]] = dict(row)
    return out


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one claimed recipient."""

    recipient_id: int
    claimed_at: int
    at: int
    status: Status  # SENT, SENDING (queued by the channel), QUEUED (retry later), FAILED, EXPIRED
    channel: str | None = None
    provider_ids: tuple[str, ...] = ()
    error_code: str | None = None
    error_message: str | None = None
    retry_at: int | None = None


_set_outcome = (
    update(recipients)
    .where(
        recipients.c.id == bindparam("rid"),
        recipients.c.status == Status.SENDING.value,
        recipients.c.claimed_by == bindparam("worker"),
    )
    .values(
        status=bindparam("new_status"),
        due_at=bindparam("new_due"),
        lease_until=null(),
        channel=bindparam("new_channel"),
        error_code=bindparam("new_error_code"),
        error_message=bindparam("new_error_message"),
        updated_at=bindparam("now"),
    )
)
_OUTCOME_BINDS = (
    "new_status", "new_due", "new_channel", "new_error_code", "new_error_message", "now", "rid",
    "worker",
)  # fmt: skip
EVENT_COLUMNS = reports.EVENT_COLUMNS
PART_COLUMNS = ("recipient_id", "seq", "channel", "provider_id", "status", "error_code",
                "updated_at")  # fmt: skip
_SENDING = Status.SENDING.value
_SENT = Status.SENT.value


async def record_outcomes(conn: AsyncConnection, outcomes: Sequence[Outcome], worker: str) -> None:
    """Write outcomes, their events and the parts each channel accepted."""
    if not outcomes:
        return
    await executemany(
        conn,
        _set_outcome,
        _OUTCOME_BINDS,
        [
            (o.status.value, o.retry_at, o.channel, o.error_code, o.error_message, o.at,
             o.recipient_id, worker)
            for o in outcomes
        ],
    )  # fmt: skip
    events: list[tuple[Any, ...]] = []
    part_rows: list[tuple[Any, ...]] = []
    for o in outcomes:
        if o.status is not Status.EXPIRED:
            events.append((o.recipient_id, _SENDING, o.claimed_at, None))
        detail = o.error_message
        if o.status is Status.QUEUED and o.retry_at is not None:
            detail = f"retry after error: {o.error_message}"
        if o.status is not Status.SENDING:
            events.append((o.recipient_id, o.status.value, o.at, detail))
        part_status = o.status.value if o.status is Status.SENDING else _SENT
        for seq, provider_id in enumerate(o.provider_ids, start=1):
            part_rows.append((o.recipient_id, seq, o.channel, provider_id, part_status, None, o.at))
    await insert_rows(conn, recipient_events, EVENT_COLUMNS, events)
    if part_rows:
        await insert_rows(conn, parts, PART_COLUMNS, part_rows)
        await reports.adopt_orphans(conn, [(p[2], p[3]) for p in part_rows])
    unsent = [o.recipient_id for o in outcomes if o.status in (Status.FAILED, Status.EXPIRED)]
    if unsent:
        await _refund_unsent(conn, unsent, outcomes[0].at)


async def _refund_unsent(conn: AsyncConnection, recipient_ids: list[int], now: int) -> None:
    """Credit back what never left the gateway, for accounts whose policy says so."""
    result = await conn.execute(
        select(recipients.c.message_id, recipients.c.account_id, recipients.c.price)
        .join(messages, messages.c.id == recipients.c.message_id)
        .join(accounts, accounts.c.id == recipients.c.account_id)
        .where(
            one_of(conn, recipients.c.id, recipient_ids),
            recipients.c.price > 0,
            messages.c.test.is_(False),
            accounts.c.refund_policy == "unsent",
        )
    )
    per_message: dict[tuple[int, int], int] = {}
    for message_id, account_id, price in result.all():
        per_message[(account_id, message_id)] = per_message.get((account_id, message_id), 0) + price
    for (account_id, message_id), amount in per_message.items():
        await billing.adjust(
            conn, account_id, amount, reason="refund", now=now, message_id=message_id,
            note="not sent",
        )  # fmt: skip
