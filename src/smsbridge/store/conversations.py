"""Conversations: per number, what it wrote to the account and what the account sent it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from smsbridge.store.inbound import get_many
from smsbridge.store.schema import conversations, inbound_messages, messages, recipients

Row = dict[str, Any]


async def page(
    conn: AsyncConnection,
    account_id: int,
    *,
    before: tuple[int, str] | None,
    unread_only: bool,
    limit: int,
) -> list[Row]:
    """Newest conversation first, each with its last message in either direction."""
    c = conversations
    query = select(c).where(c.c.account_id == account_id)
    if unread_only:
        query = query.where(c.c.unread > 0)
    if before is not None:
        query = query.where(tuple_(c.c.last_inbound_at, c.c.number) < tuple_(*before))
    query = query.order_by(c.c.last_inbound_at.desc(), c.c.number.desc()).limit(limit)
    rows = [dict(r) for r in (await conn.execute(query)).mappings()]
    inbound = await get_many(conn, [r["last_inbound_id"] for r in rows]) if rows else {}
    for row in rows:
        last_in = inbound.get(row["last_inbound_id"])
        last_out = await last_outbound(conn, account_id, row["number"])
        row["last_inbound"] = last_in
        row["last_outbound"] = last_out
    return rows


async def get(conn: AsyncConnection, account_id: int, number: str) -> Row | None:
    result = await conn.execute(
        select(conversations).where(
            conversations.c.account_id == account_id, conversations.c.number == number
        )
    )
    row = result.mappings().first()
    return dict(row) if row is not None else None


_OUT_COLUMNS = (
    recipients.c.id,
    recipients.c.message_id,
    recipients.c.status,
    recipients.c.error_code,
    recipients.c.created_at,
    recipients.c.updated_at,
    func.coalesce(recipients.c.text, messages.c.text).label("text"),
    messages.c.sender,
    messages.c.label,
)


async def last_outbound(conn: AsyncConnection, account_id: int, number: str) -> Row | None:
    result = await conn.execute(
        select(*_OUT_COLUMNS)
        .join(messages, messages.c.id == recipients.c.message_id)
        .where(recipients.c.account_id == account_id, recipients.c.to_number == number)
        .order_by(recipients.c.id.desc())
        .limit(1)
    )
    row = result.mappings().first()
    return dict(row) if row is not None else None


async def thread(
    conn: AsyncConnection, account_id: int, number: str, *, before: int | None, limit: int
) -> list[Row]:
    """Both directions, newest ``limit`` before ``before`` (unix µs), oldest first."""
    out_query = (
        select(*_OUT_COLUMNS)
        .join(messages, messages.c.id == recipients.c.message_id)
        .where(
            recipients.c.account_id == account_id,
            recipients.c.to_number == number,
            messages.c.draft.is_(False),
        )
    )
    m = inbound_messages
    in_query = select(m).where(m.c.account_id == account_id, m.c.from_number == number)
    if before is not None:
        out_query = out_query.where(recipients.c.created_at < before)
        in_query = in_query.where(m.c.received_at < before)
    outbound = await conn.execute(out_query.order_by(recipients.c.created_at.desc()).limit(limit))
    inbound = await conn.execute(in_query.order_by(m.c.received_at.desc()).limit(limit))
    merged = [{"direction": "outbound", "at": r["created_at"], **r} for r in outbound.mappings()]
    merged += [{"direction": "inbound", "at": r["received_at"], **r} for r in inbound.mappings()]
    merged.sort(key=lambda r: (r["at"], r["direction"] == "inbound"), reverse=True)
    return list(reversed(merged[:limit]))
