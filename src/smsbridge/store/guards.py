"""What an account recently sent to given numbers: for the reload lock and the daily cap."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from smsbridge.core.message import Status
from smsbridge.store.bulk import one_of
from smsbridge.store.schema import messages, recipients


async def recent_texts(
    conn: AsyncConnection, account_id: int, numbers: Sequence[str], since: int
) -> set[tuple[str, str]]:
    """(number, text) pairs sent (not rejected, not test) since ``since``."""
    found: set[tuple[str, str]] = set()
    for start in range(0, len(numbers), 500):
        result = await conn.execute(
            select(recipients.c.to_number, messages.c.text)
            .join(messages, messages.c.id == recipients.c.message_id)
            .where(
                recipients.c.account_id == account_id,
                one_of(conn, recipients.c.to_number, numbers[start : start + 500]),
                recipients.c.created_at >= since,
                recipients.c.status != Status.REJECTED.value,
                messages.c.test.is_(False),
            )
        )
        found.update((number, text) for number, text in result.all())
    return found


async def counts_since(
    conn: AsyncConnection, account_id: int, numbers: Sequence[str], since: int
) -> dict[str, int]:
    counts: dict[str, int] = {}
    for start in range(0, len(numbers), 500):
        result = await conn.execute(
            select(recipients.c.to_number, func.count())
            .join(messages, messages.c.id == recipients.c.message_id)
            .where(
                recipients.c.account_id == account_id,
                one_of(conn, recipients.c.to_number, numbers[start : start + 500]),
                recipients.c.created_at >= since,
                recipients.c.status != Status.REJECTED.value,
                messages.c.test.is_(False),
            )
            .group_by(recipients.c.to_number)
        )
        counts.update({number: int(n) for number, n in result.all()})
    return counts
