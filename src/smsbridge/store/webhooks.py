"""Webhook subscriptions: where an account's events go."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsbridge.store.schema import webhook_attempts, webhook_deliveries, webhooks

Row = dict[str, Any]


async def create(conn: AsyncConnection, values: dict[str, Any]) -> int:
    result = await conn.execute(insert(webhooks).values(**values).returning(webhooks.c.id))
    return int(result.scalar_one())


async def get(conn: AsyncConnection, account_id: int, webhook_id: int) -> Row | None:
    result = await conn.execute(
        select(webhooks).where(webhooks.c.id == webhook_id, webhooks.c.account_id == account_id)
    )
    row = result.mappings().first()
    return dict(row) if row is not None else None


async def page(conn: AsyncConnection, account_id: int) -> list[Row]:
    result = await conn.execute(
        select(webhooks).where(webhooks.c.account_id == account_id).order_by(webhooks.c.id)
    )
    return [dict(r) for r in result.mappings()]


async def update_one(
    conn: AsyncConnection, account_id: int, webhook_id: int, values: dict[str, Any]
) -> bool:
    result = await conn.execute(
        update(webhooks)
        .where(webhooks.c.id == webhook_id, webhooks.c.account_id == account_id)
        .values(**values)
    )
    return bool(result.rowcount)


async def delete_one(conn: AsyncConnection, account_id: int, webhook_id: int) -> bool:
    """Remove the subscription and its outbox (pending deliveries go with it)."""
    result = await conn.execute(
        delete(webhooks).where(webhooks.c.id == webhook_id, webhooks.c.account_id == account_id)
    )
    if not result.rowcount:
        return False
    ids = select(webhook_deliveries.c.id).where(webhook_deliveries.c.webhook_id == webhook_id)
    await conn.execute(delete(webhook_attempts).where(webhook_attempts.c.delivery_id.in_(ids)))
    await conn.execute(
        delete(webhook_deliveries).where(webhook_deliveries.c.webhook_id == webhook_id)
    )
    return True


async def all_enabled(conn: AsyncConnection) -> list[Row]:
    result = await conn.execute(select(webhooks).where(webhooks.c.enabled.is_(True)))
    return [dict(r) for r in result.mappings()]


async def enabled_ids(conn: AsyncConnection, ids: set[int]) -> set[int]:
    """Which of ``ids`` exist and are enabled; on PostgreSQL they stay so until commit (a
    delete or disable waits for the caller's transaction)."""
    if not ids:
        return set()
    query = select(webhooks.c.id).where(webhooks.c.id.in_(sorted(ids)), webhooks.c.enabled)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(read=True)
    return {r[0] for r in (await conn.execute(query)).all()}


async def by_ids(conn: AsyncConnection, ids: list[int]) -> dict[int, Row]:
    if not ids:
        return {}
    result = await conn.execute(select(webhooks).where(webhooks.c.id.in_(ids)))
    return {r["id"]: dict(r) for r in result.mappings()}
