"""The audit log: one row per security-relevant action."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from smsbridge.store.schema import audit_log


async def record(
    conn: AsyncConnection,
    *,
    actor: str,
    action: str,
    account_id: int | None,
    now: int,
    **detail: Any,
) -> None:
    await conn.execute(
        insert(audit_log).values(
            at=now,
            actor=actor,
            action=action,
            account_id=account_id,
            detail=orjson.dumps(detail).decode() if detail else None,
        )
    )


async def latest_id(conn: AsyncConnection) -> int:
    """The newest audit entry: every change of keys, accounts, prices or limits adds one."""
    value = (await conn.execute(select(func.max(audit_log.c.id)))).scalar()
    return int(value or 0)


async def entries(
    conn: AsyncConnection, *, account_id: int | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if account_id is not None:
        query = query.where(audit_log.c.account_id == account_id)
    rows = (await conn.execute(query)).all()
    return [
        {
            "id": row.id,
            "at": row.at,
            "account_id": row.account_id,
            "actor": row.actor,
            "action": row.action,
            "detail": orjson.loads(row.detail) if row.detail else None,
        }
        for row in rows
    ]
