"""Messages and their recipients: insert, read, list, cancel."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from smsbridge.core.errors import SmsBridgeError
from smsbridge.core.message import PENDING, Status
from smsbridge.store import billing, device_queue, journal, optouts
from smsbridge.store.billing import Charge
from smsbridge.store.bulk import chunked, insert_rows
from smsbridge.store.guards import GuardCheck
from smsbridge.store.schema import messages, parts, recipient_events, recipients

Row = dict[str, Any]


@dataclass(slots=True)
class NewMessages:
    """Rows for one or more accepted messages, written in one transaction.

    Rows are tuples in the order of :data:`MESSAGE_COLUMNS` and :data:`RECIPIENT_COLUMNS`:
    bulk ingest builds hundreds of thousands of them, and tuples are the cheapest shape.
    """

    messages: list[tuple[Any, ...]] = field(default_factory=list)
    recipients: list[tuple[Any, ...]] = field(default_factory=list)
    charges: list[Charge] = field(default_factory=list)
    checks: list[GuardCheck] = field(default_factory=list)  # reload lock and daily cap
    # Filled in when written: each charged account's balance afterwards, and the messages
    # the checks refused (they are not written).
    balances: dict[int, int] = field(default_factory=dict)
    refused: dict[int, SmsBridgeError] = field(default_factory=dict)
    # Messages not checked against the opt-out list (transactional ones, drafts until closed),
    # and, once written, the recipients rejected because their number opted out.
    exempt: set[int] = field(default_factory=set)
    opted_out: set[int] = field(default_factory=set)

    def extend(self, other: NewMessages) -> None:
        self.messages.extend(other.messages)
        self.recipients.extend(other.recipients)
        self.charges.extend(other.charges)
        self.checks.extend(other.checks)
        self.exempt.update(other.exempt)

    def drop(self, refused: dict[int, SmsBridgeError]) -> None:
        """Remove refused messages (their recipients and charges) and remember why."""
        mine = {r[0] for r in self.messages} & refused.keys()
        if not mine:
            return
        self.refused.update({mid: refused[mid] for mid in mine})
        self.messages = [r for r in self.messages if r[0] not in mine]
        self.recipients = [r for r in self.recipients if r[1] not in mine]
        self.charges = [c for c in self.charges if c.message_id not in mine]

    @property
    def size(self) -> int:
        return len(self.recipients) + len(self.messages)


# Both in the tables' column order, so the driver takes the rows as they are.
MESSAGE_COLUMNS = (
    "id", "account_id", "text", "sender", "encoding", "languages", "parts", "concat_ref",
    "priority", "flash", "test", "foreign_id", "label", "recipient_count", "price", "created_at",
    "send_at", "expires_at", "draft", "transactional", "channel", "draft_options", "campaign_id",
    "callback_url", "callback_format", "device_id", "sim", "ext_id", "device_options", "udh",
    "door_data",
)  # fmt: skip
RECIPIENT_COLUMNS = (
    "id", "message_id", "account_id", "position", "to_number", "price", "status", "error_code",
    "error_message", "priority", "due_at", "expires_at", "created_at", "updated_at", "text",
    "encoding", "parts",
)  # fmt: skip
_PRICE = MESSAGE_COLUMNS.index("price")
OPTED_OUT = ("opted_out", "The recipient opted out of messages from this account.")


async def reject_opted_out(conn: AsyncConnection, rows: NewMessages) -> None:
    """Turn recipients whose number is on their account's opt-out list into ``rejected``
    (unrefundable nothing: they are not charged)."""
    wanted: dict[int, list[str]] = {}
    rejected = Status.REJECTED.value
    for r in rows.recipients:
        if r[6] != rejected and r[1] not in rows.exempt:
            wanted.setdefault(r[2], []).append(r[4])
    hits = {}
    for account_id, numbers in wanted.items():
        found = await optouts.matching(conn, account_id, numbers)
        if found:
            hits[account_id] = found
    if not hits:
        return
    refunds: dict[int, int] = {}
    out = []
    for r in rows.recipients:
        if r[6] != rejected and r[1] not in rows.exempt and r[4] in hits.get(r[2], ()):
            refunds[r[1]] = refunds.get(r[1], 0) + r[5]
            rows.opted_out.add(r[0])
            r = (*r[:5], 0, rejected, *OPTED_OUT, r[9], None, *r[11:])
        out.append(r)
    rows.recipients = out
    rows.messages = [
        (*m[:_PRICE], max(0, m[_PRICE] - refunds[m[0]]), *m[_PRICE + 1 :]) if m[0] in refunds else m
        for m in rows.messages
    ]
    charges = []
    for c in rows.charges:
        amount = c.amount - refunds.get(c.message_id, 0)
        if amount:
            charges.append(Charge(c.account_id, c.message_id, amount))
    rows.charges = charges


async def insert_messages(conn: AsyncConnection, rows: NewMessages, now: int) -> dict[int, int]:
    """Write the rows (opted-out recipients rejected) and debit their charges; returns each
    charged account's balance."""
    await reject_opted_out(conn, rows)
    await insert_rows(conn, messages, MESSAGE_COLUMNS, rows.messages)
    await insert_rows(conn, recipients, RECIPIENT_COLUMNS, rows.recipients)
    await journal.append_queued(conn, _queued_per_account(rows.messages), at=now)
    return await billing.charge(conn, rows.charges, now) if rows.charges else {}


_ACCOUNT = MESSAGE_COLUMNS.index("account_id")
_DRAFT = MESSAGE_COLUMNS.index("draft")
_CALLBACK = MESSAGE_COLUMNS.index("callback_url")


def _queued_per_account(rows: list[tuple[Any, ...]]) -> dict[int, tuple[list[int], bool]]:
    """Message ids queued (drafts are not, yet) per account, and whether one has a callback."""
    out: dict[int, tuple[list[int], bool]] = {}
    for row in rows:
        if row[_DRAFT]:
            continue
        ids, callback = out.get(row[_ACCOUNT], ([], False))
        ids.append(row[0])
        out[row[_ACCOUNT]] = (ids, callback or row[_CALLBACK] is not None)
    return out


@dataclass(slots=True)
class MessageRecord:
    message: Row
    recipients: list[Row]
    events: dict[int, list[Row]]
    parts: dict[int, list[Row]]


async def get_message(
    conn: AsyncConnection, account_id: int, message_id: int, *, details: bool = True
) -> MessageRecord | None:
    result = await conn.execute(
        select(messages).where(messages.c.id == message_id, messages.c.account_id == account_id)
    )
    message = result.mappings().first()
    if message is None:
        return None
    result = await conn.execute(
        select(recipients)
        .where(recipients.c.message_id == message_id)
        .order_by(recipients.c.position)
    )
    rcpts = [dict(r) for r in result.mappings()]
    events: dict[int, list[Row]] = {}
    part_rows: dict[int, list[Row]] = {}
    if details and rcpts:
        ids = [r["id"] for r in rcpts]
        for chunk in chunked(ids, 900):
            result = await conn.execute(
                select(recipient_events)
                .where(recipient_events.c.recipient_id.in_(chunk))
                .order_by(recipient_events.c.id)
            )
            for ev in result.mappings():
                events.setdefault(ev["recipient_id"], []).append(dict(ev))
            result = await conn.execute(
                select(parts).where(parts.c.recipient_id.in_(chunk)).order_by(parts.c.seq)
            )
            for part in result.mappings():
                part_rows.setdefault(part["recipient_id"], []).append(dict(part))
    return MessageRecord(dict(message), rcpts, events, part_rows)


@dataclass(slots=True)
class MessageFilter:
    status: str | None = None
    to: str | None = None
    label: str | None = None
    foreign_id: str | None = None
    since: int | None = None
    until: int | None = None
    before_id: int | None = None  # cursor: messages older than this id


async def list_messages(
    conn: AsyncConnection, account_id: int, flt: MessageFilter, limit: int
) -> list[tuple[Row, list[Row]]]:
    query = select(messages).where(messages.c.account_id == account_id)
    if flt.label is not None:
        query = query.where(messages.c.label == flt.label)
    if flt.foreign_id is not None:
        query = query.where(messages.c.foreign_id == flt.foreign_id)
    if flt.since is not None:
        query = query.where(messages.c.created_at >= flt.since)
    if flt.until is not None:
        query = query.where(messages.c.created_at < flt.until)
    if flt.before_id is not None:
        query = query.where(messages.c.id < flt.before_id)
    if flt.status is not None or flt.to is not None:
        conds = [recipients.c.message_id == messages.c.id]
        if flt.status is not None:
            conds.append(recipients.c.status == flt.status)
        if flt.to is not None:
            conds.append(recipients.c.to_number == flt.to)
        query = query.where(select(recipients.c.id).where(and_(*conds)).exists())
    query = query.order_by(messages.c.id.desc()).limit(limit)
    rows = [dict(r) for r in (await conn.execute(query)).mappings()]
    if not rows:
        return []
    by_message: dict[int, list[Row]] = {r["id"]: [] for r in rows}
    result = await conn.execute(
        select(
            recipients.c.id,
            recipients.c.message_id,
            recipients.c.to_number,
            recipients.c.status,
            recipients.c.error_code,
            recipients.c.error_message,
            recipients.c.channel,
            recipients.c.updated_at,
        )
        .where(recipients.c.message_id.in_(list(by_message)))
        .order_by(recipients.c.message_id, recipients.c.position)
    )
    for r in result.mappings():
        by_message[r["message_id"]].append(dict(r))
    return [(row, by_message[row["id"]]) for row in rows]


async def merge_door_data(
    conn: AsyncConnection, account_id: int, message_id: int, patch: dict[str, Any]
) -> None:
    """Merge ``patch`` into a message's door data (objects merge one level deep)."""
    current = (
        await conn.execute(
            select(messages.c.door_data).where(
                messages.c.id == message_id, messages.c.account_id == account_id
            )
        )
    ).scalar()
    data: dict[str, Any] = orjson.loads(current) if current else {}
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    await conn.execute(
        update(messages)
        .where(messages.c.id == message_id, messages.c.account_id == account_id)
        .values(door_data=orjson.dumps(data).decode())
    )


async def cancel_pending(
    conn: AsyncConnection, message_id: int, now: int
) -> tuple[list[tuple[int, int]], dict[str, int], list[Row]]:
    """Cancel the recipients that have not left yet. Returns the cancelled (id, price) pairs,
    the count of recipients per status before cancelling, and the phone queue rows withdrawn
    (their phones are told)."""
    result = await conn.execute(
        select(recipients.c.status, func.count())
        .where(recipients.c.message_id == message_id)
        .group_by(recipients.c.status)
    )
    before = {status: count for status, count in result.all()}
    # Recipients waiting on a phone that has not pulled them yet can still be withdrawn.
    withdrawn = await device_queue.cancel_unpulled(conn, message_id, now)
    cancellable: ColumnElement[bool] = recipients.c.status.in_([s.value for s in PENDING])
    if withdrawn:
        cancellable = cancellable | recipients.c.id.in_([w["recipient_id"] for w in withdrawn])
    result = await conn.execute(
        update(recipients)
        .where(recipients.c.message_id == message_id, cancellable)
        .values(status=Status.CANCELLED.value, due_at=None, updated_at=now)
        .returning(recipients.c.id, recipients.c.price)
    )
    cancelled = [(row[0], row[1]) for row in result.all()]
    # A cancelled draft is closed for good: it takes no more recipients.
    await conn.execute(
        update(messages)
        .where(messages.c.id == message_id, messages.c.draft.is_(True))
        .values(draft=False)
    )
    if cancelled:
        await conn.execute(
            insert(recipient_events),
            [
                {"recipient_id": rid, "status": Status.CANCELLED.value, "at": now}
                for rid, _ in cancelled
            ],
        )
    return cancelled, before, withdrawn


async def recipients_by_id(
    conn: AsyncConnection, account_id: int, ids: Sequence[int]
) -> dict[int, Row]:
    """Recipients of the account among ``ids`` (with their message's label and foreign id)."""
    out: dict[int, Row] = {}
    for chunk in chunked(sorted(set(ids)), 900):
        result = await conn.execute(
            select(recipients, messages.c.label, messages.c.foreign_id, messages.c.sender,
                   messages.c.text.label("message_text"))
            .join(messages, messages.c.id == recipients.c.message_id)
            .where(recipients.c.account_id == account_id, recipients.c.id.in_(chunk))
        )  # fmt: skip
        for row in result.mappings():
            out[row["id"]] = dict(row)
    return out
