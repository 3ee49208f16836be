"""Sent messages one row per recipient, newest first: the providers' journals and reports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from smsbridge.store.schema import messages, recipients

Row = dict[str, Any]


@dataclass(slots=True)
class JournalFilter:
    ids: Sequence[int] = ()
    since: int | None = None
    until: int | None = None
    to: str | None = None
    statuses: Sequence[str] = ()
    label: str | None = None


async def outbound(
    conn: AsyncConnection, account_id: int, flt: JournalFilter, *, limit: int, offset: int = 0
) -> list[Row]:
    query = (
        select(
            recipients.c.id, recipients.c.message_id, recipients.c.to_number, recipients.c.status,
            recipients.c.price, recipients.c.channel, recipients.c.created_at,
            recipients.c.updated_at, recipients.c.error_code, recipients.c.text,
            recipients.c.parts, messages.c.sender, messages.c.label, messages.c.foreign_id,
            messages.c.text.label("message_text"), messages.c.parts.label("message_parts"),
            messages.c.test,
        )
        .join(messages, messages.c.id == recipients.c.message_id)
        .where(recipients.c.account_id == account_id)
    )  # fmt: skip
    if flt.ids:
        query = query.where(recipients.c.id.in_(list(flt.ids)))
    if flt.since is not None:
        query = query.where(recipients.c.created_at >= flt.since)
    if flt.until is not None:
        query = query.where(recipients.c.created_at < flt.until)
    if flt.to is not None:
        query = query.where(recipients.c.to_number == flt.to)
    if flt.statuses:
        query = query.where(recipients.c.status.in_(list(flt.statuses)))
    if flt.label is not None:
        query = query.where(messages.c.label == flt.label)
    query = query.order_by(recipients.c.id.desc()).limit(limit).offset(offset)
    return [dict(r) for r in (await conn.execute(query)).mappings()]
