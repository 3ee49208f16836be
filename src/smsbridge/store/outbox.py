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

from sqlalchemy import bindparam, delete, null, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsbridge.core.message import FINAL, Priority, Status, advances, combine_parts
from smsbridge.store import billing
from smsbridge.store.bulk import executemany, insert_rows, one_of
from smsbridge.store.schema import (
    accounts,
    messages,
    orphan_reports,
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
            )
        )
        claimed.extend(
            Claimed(r[0], r[1], r[2], r[3], r[4], r[5], previous[r[0]]) for r in result.all()
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
    status: Status  # SENT, QUEUED (retry later), FAILED or EXPIRED
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
EVENT_COLUMNS = ("recipient_id", "status", "at", "detail")
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
        events.append((o.recipient_id, o.status.value, o.at, detail))
        for seq, provider_id in enumerate(o.provider_ids, start=1):
            part_rows.append((o.recipient_id, seq, o.channel, provider_id, _SENT, None, o.at))
    await insert_rows(conn, recipient_events, EVENT_COLUMNS, events)
    if part_rows:
        await insert_rows(conn, parts, PART_COLUMNS, part_rows)
        await _adopt_orphans(conn, [(p[2], p[3]) for p in part_rows])
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


@dataclass(frozen=True, slots=True)
class Report:
    channel: str
    provider_id: str
    status: Status
    error_code: str | None
    at: int


async def apply_reports(conn: AsyncConnection, reports: Sequence[Report]) -> int:
    """Apply delivery reports to parts and recipients; keep unknown ones as orphans.

    Returns how many reports matched a known part.
    """
    if not reports:
        return 0
    known: dict[tuple[str, str], Row] = {}
    for channel, chunk in _per_channel((r.channel, r.provider_id) for r in reports):
        result = await conn.execute(
            select(
                parts.c.id,
                parts.c.channel,
                parts.c.provider_id,
                parts.c.recipient_id,
                parts.c.status,
            ).where(parts.c.channel == channel, one_of(conn, parts.c.provider_id, chunk))
        )
        for row in result.mappings():
            known[(row["channel"], row["provider_id"])] = dict(row)
    orphans = [r for r in reports if (r.channel, r.provider_id) not in known]
    await insert_rows(
        conn,
        orphan_reports,
        ORPHAN_COLUMNS,
        [(r.channel, r.provider_id, r.status.value, r.error_code, r.at) for r in orphans],
    )
    changed: dict[int, tuple[Any, ...]] = {}  # part id -> (status, error, at, part id)
    touched: dict[int, tuple[str | None, int]] = {}  # recipient id -> (error, at)
    for r in reports:
        part = known.get((r.channel, r.provider_id))
        if part is None:
            continue
        if advances(Status(part["status"]), r.status):
            part["status"] = r.status.value
            changed[part["id"]] = (r.status.value, r.error_code, r.at, part["id"])
            touched[part["recipient_id"]] = (r.error_code, r.at)
    if changed:
        await executemany(conn, _set_part, ("new_status", "new_error", "now", "pid"),
                          list(changed.values()))  # fmt: skip
        await _settle_recipients(conn, touched)
    return len(reports) - len(orphans)


ORPHAN_COLUMNS = ("channel", "provider_id", "status", "error_code", "received_at")
_set_part = (
    update(parts)
    .where(parts.c.id == bindparam("pid"))
    .values(
        status=bindparam("new_status"), error_code=bindparam("new_error"),
        updated_at=bindparam("now"),
    )
)  # fmt: skip
_settle = (
    update(recipients)
    .where(recipients.c.id == bindparam("rid"))
    .values(
        status=bindparam("new_status"), error_code=bindparam("new_error"),
        updated_at=bindparam("now"), due_at=null(),
    )
)  # fmt: skip


async def _settle_recipients(
    conn: AsyncConnection, touched: dict[int, tuple[str | None, int]]
) -> None:
    """Recompute each touched recipient's status from its parts; only move forward."""
    ids = list(touched)
    part_states: dict[int, list[str]] = {}
    current: dict[int, str] = {}
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        result = await conn.execute(
            select(parts.c.recipient_id, parts.c.status).where(
                one_of(conn, parts.c.recipient_id, chunk)
            )
        )
        for rid, status in result.all():
            part_states.setdefault(rid, []).append(status)
        result = await conn.execute(
            select(recipients.c.id, recipients.c.status).where(one_of(conn, recipients.c.id, chunk))
        )
        current.update({rid: status for rid, status in result.all()})
    updates: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    for rid, states in part_states.items():
        now_status = Status(current.get(rid, _SENT))
        combined = combine_parts(states)
        if combined is now_status or not advances(now_status, combined):
            continue
        error, at = touched[rid]
        updates.append((combined.value, error, at, rid))
        events.append((rid, combined.value, at, error))
    if updates:
        await executemany(conn, _settle, ("new_status", "new_error", "now", "rid"), updates)
        await insert_rows(conn, recipient_events, EVENT_COLUMNS, events)


async def _adopt_orphans(conn: AsyncConnection, keys: list[tuple[str, str]]) -> None:
    """Apply reports that arrived before the parts they describe were recorded."""
    found: list[Report] = []
    ids: list[int] = []
    for channel, chunk in _per_channel(keys):
        result = await conn.execute(
            select(orphan_reports)
            .where(
                orphan_reports.c.channel == channel,
                one_of(conn, orphan_reports.c.provider_id, chunk),
            )
            .order_by(orphan_reports.c.id)
        )
        for row in result.mappings():
            ids.append(row["id"])
            found.append(
                Report(
                    row["channel"],
                    row["provider_id"],
                    Status(row["status"]),
                    row["error_code"],
                    row["received_at"],
                )
            )
    if found:
        await conn.execute(delete(orphan_reports).where(one_of(conn, orphan_reports.c.id, ids)))
        await apply_reports(conn, found)


async def stale_sent(
    conn: AsyncConnection, *, older_than: int, limit: int
) -> list[tuple[int, str, str]]:
    """Parts still waiting for a report: (recipient id, channel, provider id)."""
    result = await conn.execute(
        select(parts.c.recipient_id, parts.c.channel, parts.c.provider_id)
        .join(recipients, recipients.c.id == parts.c.recipient_id)
        .where(
            recipients.c.status == Status.SENT.value,
            recipients.c.updated_at < older_than,
            parts.c.status.not_in([s.value for s in FINAL]),
        )
        .limit(limit)
    )
    return [(r[0], r[1], r[2]) for r in result.all()]


async def touch_recipients(conn: AsyncConnection, ids: Sequence[int], now: int) -> None:
    """Mark recipients as recently checked so status polling does not ask again at once."""
    if ids:
        await conn.execute(
            update(recipients).where(recipients.c.id.in_(list(ids))).values(updated_at=now)
        )


async def adopt_waiting_orphans(conn: AsyncConnection, limit: int = 1000) -> int:
    """Apply orphan reports whose parts have been recorded since (the report and the send
    confirmation were committed concurrently, so neither saw the other)."""
    result = await conn.execute(
        select(orphan_reports)
        .join(
            parts,
            (parts.c.channel == orphan_reports.c.channel)
            & (parts.c.provider_id == orphan_reports.c.provider_id),
        )
        .order_by(orphan_reports.c.id)
        .limit(limit)
    )
    rows = list(result.mappings())
    if not rows:
        return 0
    await conn.execute(
        delete(orphan_reports).where(orphan_reports.c.id.in_([r["id"] for r in rows]))
    )
    await apply_reports(
        conn,
        [
            Report(
                r["channel"],
                r["provider_id"],
                Status(r["status"]),
                r["error_code"],
                r["received_at"],
            )
            for r in rows
        ],
    )
    return len(rows)


async def has_orphans(conn: AsyncConnection) -> bool:
    result = await conn.execute(select(orphan_reports.c.id).limit(1))
    return result.first() is not None


def _per_channel(keys: Iterable[tuple[str, str]], size: int = 500) -> list[tuple[str, list[str]]]:
    """(channel, provider ids) chunks: one indexed equality plus an IN list per query (row
    value IN lists are planned poorly by PostgreSQL)."""
    grouped: dict[str, set[str]] = {}
    for channel, provider_id in keys:
        grouped.setdefault(channel, set()).add(provider_id)
    out: list[tuple[str, list[str]]] = []
    for channel, ids in grouped.items():
        ordered = sorted(ids)
        out.extend((channel, ordered[i : i + size]) for i in range(0, len(ordered), size))
    return out
