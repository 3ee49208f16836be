"""Delivery reports: correlated to the parts a channel accepted, combined into recipient states.

A report names the channel's own message id. Reports are applied in batches; a report whose id
is not recorded yet (it overtook the send confirmation) is kept as an orphan and applied once
the part appears, and parts that never get a report are found for status polling.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, null, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsbridge.core.message import FINAL, Status, advances, combine_parts
from smsbridge.store.bulk import executemany, insert_rows, one_of
from smsbridge.store.schema import orphan_reports, parts, recipient_events, recipients

EVENT_COLUMNS = ("recipient_id", "status", "at", "detail")
_SENT = Status.SENT.value
Row = dict[str, Any]


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


async def adopt_orphans(conn: AsyncConnection, keys: list[tuple[str, str]]) -> None:
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
