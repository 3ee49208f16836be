"""Received SMS: parts waiting for their siblings, reassembled messages, their threads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from smsbridge.store.bulk import one_of
from smsbridge.store.schema import (
    accounts,
    conversations,
    inbound_messages,
    inbound_parts,
    recipients,
)
from smsbridge.store.upsert import insert_ignore

Row = dict[str, Any]
PartKey = tuple[str, str, int, int]  # channel, from number, reference, total


async def serialize_sender(conn: AsyncConnection, channel: str, sender: str) -> None:
    """One transaction at a time per sender on PostgreSQL: parts of one SMS arriving at once
    must see each other, and a redelivery must see the first delivery (SQLite has one writer
    anyway)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(
            select(func.pg_advisory_xact_lock(func.hashtext(f"inbound:{channel}:{sender}")))
        )


async def add_part(conn: AsyncConnection, values: dict[str, Any]) -> list[Row] | None:
    """Keep one part of a concatenated SMS; when it completes the set, take and return all
    parts in order (a part received twice counts once)."""
    await conn.execute(insert_ignore(conn, inbound_parts).values(**values))
    key = (values["channel"], values["from_number"], values["ref"], values["total"])
    parts = await _parts_of(conn, key)
    if len(parts) < values["total"]:
        return None
    await _drop_parts(conn, parts)
    return parts


async def _parts_of(conn: AsyncConnection, key: PartKey) -> list[Row]:
    channel, number, ref, total = key
    result = await conn.execute(
        select(inbound_parts)
        .where(
            inbound_parts.c.channel == channel,
            inbound_parts.c.from_number == number,
            inbound_parts.c.ref == ref,
            inbound_parts.c.total == total,
        )
        .order_by(inbound_parts.c.seq)
    )
    return [dict(r) for r in result.mappings()]


async def _drop_parts(conn: AsyncConnection, parts: list[Row]) -> None:
    await conn.execute(
        delete(inbound_parts).where(one_of(conn, inbound_parts.c.id, [p["id"] for p in parts]))
    )


async def stale_part_sets(conn: AsyncConnection, *, before: int, limit: int = 100) -> list[PartKey]:
    """Sets of parts whose first part arrived before ``before`` and never completed."""
    result = await conn.execute(
        select(
            inbound_parts.c.channel,
            inbound_parts.c.from_number,
            inbound_parts.c.ref,
            inbound_parts.c.total,
        )
        .group_by(
            inbound_parts.c.channel,
            inbound_parts.c.from_number,
            inbound_parts.c.ref,
            inbound_parts.c.total,
        )
        .having(func.min(inbound_parts.c.received_at) < before)
        .limit(limit)
    )
    return [(r[0], r[1], r[2], r[3]) for r in result.all()]


async def take_part_set(conn: AsyncConnection, key: PartKey) -> list[Row]:
    parts = await _parts_of(conn, key)
    if parts:
        await _drop_parts(conn, parts)
    return parts


async def known(conn: AsyncConnection, channel: str, provider_id: str) -> int | None:
    result = await conn.execute(
        select(inbound_messages.c.id).where(
            inbound_messages.c.channel == channel, inbound_messages.c.provider_id == provider_id
        )
    )
    value = result.scalar()
    return int(value) if value is not None else None


async def _last_to(conn: AsyncConnection, account_id: int, number: str) -> tuple[int, int] | None:
    """(recipient id, message id) of the last message the account sent to ``number``."""
    result = await conn.execute(
        select(recipients.c.id, recipients.c.message_id)
        .where(recipients.c.account_id == account_id, recipients.c.to_number == number)
        .order_by(recipients.c.id.desc())
        .limit(1)
    )
    row = result.first()
    return (int(row[0]), int(row[1])) if row is not None else None


async def last_sent_to(conn: AsyncConnection, account_id: int, number: str) -> int | None:
    """The last message the account sent to ``number`` (the one a reply answers)."""
    last = await _last_to(conn, account_id, number)
    return last[1] if last else None


async def owner_of(conn: AsyncConnection, number: str) -> int | None:
    """The account that messaged ``number`` last, or None if none ever did (one indexed
    lookup per account: the recipients index leads with the account)."""
    best: tuple[int, int] | None = None
    for (account_id,) in (await conn.execute(select(accounts.c.id))).all():
        last = await _last_to(conn, account_id, number)
        if last is not None and (best is None or last[0] > best[0]):
            best = (last[0], int(account_id))
    return best[1] if best else None


async def first_account(conn: AsyncConnection) -> int | None:
    value = (await conn.execute(select(func.min(accounts.c.id)))).scalar()
    return int(value) if value is not None else None


async def insert_one(conn: AsyncConnection, values: dict[str, Any]) -> int:
    result = await conn.execute(
        insert(inbound_messages).values(**values).returning(inbound_messages.c.id)
    )
    return int(result.scalar_one())


async def touch_conversation(
    conn: AsyncConnection, account_id: int, number: str, inbound_id: int, at: int, now: int
) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(conversations).values(
        account_id=account_id, number=number, last_inbound_id=inbound_id, last_inbound_at=at,
        unread=1, inbound_count=1, created_at=now,
    )  # fmt: skip
    # A message stored late (parts that never completed) keeps its first part's time and does
    # not become the conversation's latest.
    newer = statement.excluded.last_inbound_at >= conversations.c.last_inbound_at
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[conversations.c.account_id, conversations.c.number],
            set_={
                "last_inbound_id": case(
                    (newer, statement.excluded.last_inbound_id),
                    else_=conversations.c.last_inbound_id,
                ),
                "last_inbound_at": case(
                    (newer, statement.excluded.last_inbound_at),
                    else_=conversations.c.last_inbound_at,
                ),
                "unread": conversations.c.unread + 1,
                "inbound_count": conversations.c.inbound_count + 1,
            },
        )
    )


async def get_many(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, Row]:
    result = await conn.execute(
        select(inbound_messages).where(one_of(conn, inbound_messages.c.id, list(ids)))
    )
    return {r["id"]: dict(r) for r in result.mappings()}


async def get(conn: AsyncConnection, account_id: int, inbound_id: int) -> Row | None:
    result = await conn.execute(
        select(inbound_messages).where(
            inbound_messages.c.id == inbound_id, inbound_messages.c.account_id == account_id
        )
    )
    row = result.mappings().first()
    return dict(row) if row is not None else None


@dataclass(slots=True)
class InboundFilter:
    from_number: str | None = None
    to_number: str | None = None
    channel: str | None = None
    keyword: str | None = None
    unread: bool | None = None
    since: int | None = None
    until: int | None = None
    before_id: int | None = None


async def page(conn: AsyncConnection, account_id: int, flt: InboundFilter, limit: int) -> list[Row]:
    m = inbound_messages
    query = select(m).where(m.c.account_id == account_id)
    if flt.from_number is not None:
        query = query.where(m.c.from_number == flt.from_number)
    if flt.to_number is not None:
        query = query.where(m.c.to_number == flt.to_number)
    if flt.channel is not None:
        query = query.where(m.c.channel == flt.channel)
    if flt.keyword is not None:
        query = query.where(m.c.keyword == flt.keyword)
    if flt.unread is not None:
        query = query.where(m.c.read_at.is_(None) if flt.unread else m.c.read_at.is_not(None))
    if flt.since is not None:
        query = query.where(m.c.received_at >= flt.since)
    if flt.until is not None:
        query = query.where(m.c.received_at < flt.until)
    if flt.before_id is not None:
        query = query.where(m.c.id < flt.before_id)
    result = await conn.execute(query.order_by(m.c.id.desc()).limit(limit))
    return [dict(r) for r in result.mappings()]


async def mark_read(
    conn: AsyncConnection, account_id: int, number: str, now: int, *, up_to_id: int | None = None
) -> int:
    """Mark a number's inbound messages read (up to an id); returns how many were unread."""
    m = inbound_messages
    cond = [m.c.account_id == account_id, m.c.from_number == number, m.c.read_at.is_(None)]
    if up_to_id is not None:
        cond.append(m.c.id <= up_to_id)
    result = await conn.execute(update(m).where(*cond).values(read_at=now))
    marked = int(result.rowcount or 0)
    remaining = (
        await conn.execute(
            select(func.count())
            .select_from(m)
            .where(m.c.account_id == account_id, m.c.from_number == number, m.c.read_at.is_(None))
        )
    ).scalar_one()
    await conn.execute(
        update(conversations)
        .where(conversations.c.account_id == account_id, conversations.c.number == number)
        .values(unread=int(remaining))
    )
    return marked
