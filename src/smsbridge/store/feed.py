"""Reading the event feed: recipients' state changes (``recipient_events``) and the journal,
in commit order, from a position that survives restarts.

A position is (txid, id) per source. On PostgreSQL rows are read in that order and only below
the oldest transaction still running, so a transaction that took its ids early and commits
late is never skipped. SQLite writes one transaction at a time, so ids alone are commit order.

Events of one recipient must come out in order, and its ``message.queued`` (journal) before its
state changes: state changes are read before the journal, so every change read belongs to a
message whose journal row is visible by the time the journal is read, and when the journal has
more than one batch the state changes wait for the next round.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Select, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from smsbridge.core.message import Status
from smsbridge.store.bulk import chunked, one_of
from smsbridge.store.schema import journal, messages, recipient_events, recipients

Row = dict[str, Any]
_END = 2**62
EVENT_STATES = ("sent", "delivered", "failed", "expired", "cancelled")


@dataclass(frozen=True, slots=True)
class Position:
    txid: int = 0
    id: int = 0


@dataclass(frozen=True, slots=True)
class FeedCursor:
    journal: Position = Position()
    events: Position = Position()

    def encode(self) -> str:
        j, e = self.journal, self.events
        return f"{j.txid}.{j.id}-{e.txid}.{e.id}"

    @classmethod
    def decode(cls, value: str) -> FeedCursor:
        """Raises ValueError for anything :meth:`encode` cannot have produced."""
        left, right = value.strip().split("-")
        jt, ji = (int(v) for v in left.split("."))
        et, ei = (int(v) for v in right.split("."))
        if min(jt, ji, et, ei) < 0 or max(jt, ji, et, ei) >= 2**63:
            raise ValueError("position out of range")
        return cls(Position(jt, ji), Position(et, ei))


@dataclass(slots=True)
class FeedBatch:
    journal: list[Row]
    changes: list[Row]
    cursor: FeedCursor
    more: bool  # a limit was reached: read again at once


# What every message event carries about its message.
_MESSAGE_COLUMNS = (
    messages.c.parts.label("message_parts"),
    messages.c.foreign_id,
    messages.c.label,
    messages.c.campaign_id,
    messages.c.callback_url,
    messages.c.callback_format,
    messages.c.test,
)
STATE_COLUMNS = (
    recipient_events.c.id.label("event_id"),
    recipient_events.c.txid,
    recipient_events.c.recipient_id,
    recipient_events.c.status,
    recipient_events.c.at,
    recipient_events.c.detail,
    recipients.c.message_id,
    recipients.c.account_id,
    recipients.c.to_number,
    recipients.c.error_code,
    recipients.c.error_message,
    recipients.c.channel,
    recipients.c.parts,
    *_MESSAGE_COLUMNS,
)


async def read(
    conn: AsyncConnection,
    cursor: FeedCursor,
    *,
    limit: int,
    account_id: int | None = None,
) -> FeedBatch:
    postgres = conn.dialect.name == "postgresql"
    bound = await _bound(conn) if postgres else None
    query: Select[Any] = (
        select(*STATE_COLUMNS)
        .join(recipients, recipients.c.id == recipient_events.c.recipient_id)
        .join(messages, messages.c.id == recipients.c.message_id)
    )
    if account_id is not None:
        query = query.where(recipients.c.account_id == account_id)
    # Only changes that are events (not `sending`, not a retry's `queued`): the position
    # then rests on the last event, and the few rows after it are read again next time.
    query = query.where(recipient_events.c.status.in_(EVENT_STATES))
    query = _after(query, recipient_events, cursor.events, bound).limit(limit)
    changes = [dict(r) for r in (await conn.execute(query)).mappings()]
    jquery: Select[Any] = select(journal)
    if account_id is not None:
        jquery = jquery.where(journal.c.account_id == account_id)
    jquery = _after(jquery, journal, cursor.journal, bound).limit(limit)
    entries = [dict(r) for r in (await conn.execute(jquery)).mappings()]
    if len(entries) == limit:
        changes = []  # the journal first: changes of messages it has not reached yet wait
    return FeedBatch(
        entries,
        changes,
        FeedCursor(
            _last(entries, "id", cursor.journal),
            _last(changes, "event_id", cursor.events),
        ),
        more=len(entries) == limit or len(changes) == limit,
    )


async def head(conn: AsyncConnection) -> FeedCursor:
    """The position after everything committed so far (where a live stream starts)."""
    if conn.dialect.name == "postgresql":
        bound = await _bound(conn)
        end = Position(bound - 1, _END)
        return FeedCursor(end, end)
    last_journal = (await conn.execute(select(func.max(journal.c.id)))).scalar() or 0
    last_event = (await conn.execute(select(func.max(recipient_events.c.id)))).scalar() or 0
    return FeedCursor(Position(0, int(last_journal)), Position(0, int(last_event)))


async def queued_recipients(
    conn: AsyncConnection, *, message_ids: Sequence[int] = (), recipient_ids: Sequence[int] = ()
) -> list[Row]:
    """The recipients a ``queued`` journal row speaks of, with what their events carry."""
    columns = (
        recipients.c.id.label("recipient_id"),
        recipients.c.message_id,
        recipients.c.account_id,
        recipients.c.to_number,
        recipients.c.status,
        recipients.c.parts,
        recipients.c.created_at,
        *_MESSAGE_COLUMNS,
        messages.c.send_at,
    )
    out: list[Row] = []
    for key, ids in ((recipients.c.message_id, message_ids), (recipients.c.id, recipient_ids)):
        for chunk in chunked(list(ids), 500):
            result = await conn.execute(
                select(*columns)
                .join(messages, messages.c.id == recipients.c.message_id)
                .where(
                    one_of(conn, key, chunk),
                    recipients.c.status.not_in([Status.REJECTED.value, Status.DRAFT.value]),
                )
                .order_by(recipients.c.message_id, recipients.c.position)
            )
            out.extend(dict(r) for r in result.mappings())
    return out


async def _bound(conn: AsyncConnection) -> int:
    """The oldest transaction still running: every row below it is committed or gone."""
    result = await conn.exec_driver_sql(
        "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
    )
    return int(result.scalar_one())


def _after(query: Select[Any], table: Any, position: Position, bound: int | None) -> Select[Any]:
    if bound is None:
        return query.where(table.c.id > position.id).order_by(table.c.id)
    after = tuple_(table.c.txid, table.c.id) > tuple_(
        literal(position.txid, BigInteger()), literal(position.id, BigInteger())
    )
    return query.where(after, table.c.txid < bound).order_by(table.c.txid, table.c.id)


def _last(rows: list[Row], key: str, default: Position) -> Position:
    if not rows:
        return default
    row = rows[-1]
    return Position(int(row["txid"] or 0), int(row[key]))
