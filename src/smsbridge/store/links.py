"""Tracked short links and attachments: the rows behind ``/l/{code}`` and ``/f/{code}``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsbridge.store.schema import attachments, recipients, tracked_links

Row = dict[str, Any]


async def add_links(conn: AsyncConnection, rows: Sequence[Row]) -> None:
    if rows:
        await conn.execute(insert(tracked_links), list(rows))


async def attach_links(conn: AsyncConnection, codes: Sequence[str], message_id: int) -> None:
    await conn.execute(
        update(tracked_links)
        .where(tracked_links.c.code.in_(list(codes)))
        .values(message_id=message_id)
    )


async def click(conn: AsyncConnection, code: str, now: int) -> Row | None:
    """Count one click; the link as it is afterwards (None: unknown code)."""
    result = await conn.execute(
        update(tracked_links)
        .where(tracked_links.c.code == code)
        .values(clicks=tracked_links.c.clicks + 1, last_click_at=now)
        .returning(*tracked_links.c)
    )
    row = result.mappings().first()
    return dict(row) if row is not None else None


async def first_recipient(conn: AsyncConnection, message_id: int) -> int | None:
    result = await conn.execute(
        select(recipients.c.id)
        .where(recipients.c.message_id == message_id)
        .order_by(recipients.c.position)
        .limit(1)
    )
    value = result.scalar()
    return int(value) if value is not None else None


async def links_of(conn: AsyncConnection, account_id: int, message_ids: Sequence[int]) -> list[Row]:
    result = await conn.execute(
        select(tracked_links).where(
            tracked_links.c.account_id == account_id,
            tracked_links.c.message_id.in_(list(message_ids)),
        )
    )
    return [dict(r) for r in result.mappings()]


async def add_attachment(conn: AsyncConnection, row: Row) -> None:
    await conn.execute(insert(attachments).values(**row))


async def attachment(conn: AsyncConnection, code: str) -> Row | None:
    result = await conn.execute(select(attachments).where(attachments.c.code == code))
    row = result.mappings().first()
    return dict(row) if row is not None else None


async def count_download(conn: AsyncConnection, code: str) -> None:
    await conn.execute(
        update(attachments)
        .where(attachments.c.code == code)
        .values(downloads=attachments.c.downloads + 1)
    )
