"""Campaign rows, their progress, and holding back or releasing their queued recipients."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsbridge.core.message import Status
from smsbridge.store.bulk import executemany
from smsbridge.store.schema import campaigns, messages, recipients

Row = dict[str, Any]
WAITING = (Status.QUEUED.value, Status.SCHEDULED.value)


async def create(conn: AsyncConnection, values: dict[str, Any]) -> int:
    result = await conn.execute(insert(campaigns).values(**values).returning(campaigns.c.id))
    return int(result.scalar_one())


async def get(
    conn: AsyncConnection, account_id: int, campaign_id: int, *, lock: bool = False
) -> Row | None:
    query = select(campaigns).where(
        campaigns.c.id == campaign_id, campaigns.c.account_id == account_id
    )
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row is not None else None


async def lock(conn: AsyncConnection, campaign_id: int) -> Row | None:
    """The row, locked against other processes until the transaction ends (PostgreSQL; on
    SQLite the write transaction already excludes every other writer)."""
    return await fetch(conn, campaign_id, lock=conn.dialect.name == "postgresql")


async def fetch(conn: AsyncConnection, campaign_id: int, *, lock: bool = False) -> Row | None:
    query = select(campaigns).where(campaigns.c.id == campaign_id)
    if lock:
        query = query.with_for_update()
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row is not None else None


async def page(
    conn: AsyncConnection, account_id: int, *, state: str | None, before: int | None, limit: int
) -> list[Row]:
    query = select(campaigns).where(campaigns.c.account_id == account_id)
    if state is not None:
        query = query.where(campaigns.c.state == state)
    if before is not None:
        query = query.where(campaigns.c.id < before)
    result = await conn.execute(query.order_by(campaigns.c.id.desc()).limit(limit))
    return [dict(r) for r in result.mappings()]


async def delete(conn: AsyncConnection, campaign_id: int) -> None:
    await conn.execute(campaigns.delete().where(campaigns.c.id == campaign_id))


async def set_values(conn: AsyncConnection, campaign_id: int, **values: Any) -> None:
    await conn.execute(update(campaigns).where(campaigns.c.id == campaign_id).values(**values))


async def take_lease(
    conn: AsyncConnection, campaign_id: int, runner: str, until: int, now: int
) -> bool:
    """Become (or stay) the process that expands the campaign until ``until``; False while
    another process holds an unexpired lease."""
    result = await conn.execute(
        update(campaigns)
        .where(
            campaigns.c.id == campaign_id,
            (campaigns.c.runner == runner)
            | campaigns.c.lease_until.is_(None)
            | (campaigns.c.lease_until < now),
        )
        .values(runner=runner, lease_until=until)
    )
    return bool(result.rowcount)


async def needing_work(conn: AsyncConnection, now: int, limit: int = 20) -> list[Row]:
    """Campaigns to start (scheduled and due) or to expand, finish or run (running)."""
    result = await conn.execute(
        select(campaigns.c.id, campaigns.c.account_id, campaigns.c.state)
        .where(
            (campaigns.c.state == "running")
            | ((campaigns.c.state == "scheduled") & (campaigns.c.send_at <= now))
        )
        .order_by(campaigns.c.id)
        .limit(limit)
    )
    return [dict(r) for r in result.mappings()]


async def message_ids(conn: AsyncConnection, campaign_id: int) -> list[int]:
    result = await conn.execute(select(messages.c.id).where(messages.c.campaign_id == campaign_id))
    return [row[0] for row in result.all()]


async def progress(conn: AsyncConnection, campaign_id: int) -> tuple[dict[str, int], int]:
    """Recipients per status over all of the campaign's messages, and their cost so far."""
    ids = await message_ids(conn, campaign_id)
    if not ids:
        return {}, 0
    counts: dict[str, int] = {}
    for start in range(0, len(ids), 500):
        result = await conn.execute(
            select(recipients.c.status, func.count())
            .where(recipients.c.message_id.in_(ids[start : start + 500]))
            .group_by(recipients.c.status)
        )
        for status, count in result.all():
            counts[status] = counts.get(status, 0) + int(count)
    cost = (
        await conn.execute(select(func.coalesce(func.sum(messages.c.price), 0)).where(
            messages.c.campaign_id == campaign_id, messages.c.test.is_(False)))
    ).scalar_one()  # fmt: skip
    return counts, int(cost)


async def unfinished(conn: AsyncConnection, message_id: int) -> bool:
    """Whether any recipient of the message still waits or is being sent."""
    result = await conn.execute(
        select(recipients.c.id)
        .where(
            recipients.c.message_id == message_id,
            recipients.c.status.in_([*WAITING, Status.SENDING.value]),
        )
        .limit(1)
    )
    return result.first() is not None


async def hold(conn: AsyncConnection, message_ids: Sequence[int], now: int) -> int:
    """Take the messages' waiting recipients out of the dispatcher's reach (pause)."""
    held = 0
    for mid in message_ids:
        result = await conn.execute(
            update(recipients)
            .where(
                recipients.c.message_id == mid,
                recipients.c.status.in_(WAITING),
                recipients.c.due_at.is_not(None),
            )
            .values(due_at=None, updated_at=now)
        )
        held += result.rowcount or 0
    return held


async def held(conn: AsyncConnection, message_id: int, after: int, limit: int) -> list[int]:
    """Held recipients of a message by position (the ones a resume gives new due times)."""
    result = await conn.execute(
        select(recipients.c.position, recipients.c.id)
        .where(
            recipients.c.message_id == message_id,
            recipients.c.status.in_(WAITING),
            recipients.c.due_at.is_(None),
            recipients.c.position > after,
        )
        .order_by(recipients.c.position)
        .limit(limit)
    )
    return [row[1] for row in result.all()]


_RELEASE = (
    update(recipients)
    .where(recipients.c.id == bindparam("rid"))
    .values(due_at=bindparam("due"), updated_at=bindparam("now"))
)


async def release(conn: AsyncConnection, ids: Sequence[int], dues: Sequence[int], now: int) -> None:
    await executemany(
        conn, _RELEASE, ("due", "now", "rid"),
        [(due, now, rid) for rid, due in zip(ids, dues, strict=True)],
    )  # fmt: skip


async def positions(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, int]:
    result = await conn.execute(
        select(recipients.c.id, recipients.c.position).where(recipients.c.id.in_(list(ids)))
    )
    return {row[0]: row[1] for row in result.all()}


async def existing_numbers(
    conn: AsyncConnection, account_id: int, message_id: int, numbers: Sequence[str]
) -> set[str]:
    if not numbers:
        return set()
    result = await conn.execute(
        select(recipients.c.to_number).where(
            recipients.c.account_id == account_id,
            recipients.c.to_number.in_(list(numbers)),
            recipients.c.message_id == message_id,
        )
    )
    return {row[0] for row in result.all()}
