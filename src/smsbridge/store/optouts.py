"""The opt-out list: numbers an account must not message (unless a message is transactional).

The check runs inside the transaction that writes messages, for a whole group commit at once,
as one statement whose text never changes (the numbers go in as one JSON or array parameter).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from smsbridge.store.schema import opt_outs
from smsbridge.store.upsert import insert_missing

_MATCH = {
    "sqlite": "SELECT number FROM opt_outs WHERE account_id = ?"
    " AND number IN (SELECT value FROM json_each(?))",
    "postgresql": "SELECT number FROM opt_outs WHERE account_id = $1"
    " AND number = ANY($2::varchar[])",
}


async def matching(conn: AsyncConnection, account_id: int, numbers: Sequence[str]) -> set[str]:
    """Which of ``numbers`` the account has opted out."""
    if not numbers:
        return set()
    dialect = conn.dialect.name
    param: object = orjson.dumps(list(numbers)).decode() if dialect == "sqlite" else list(numbers)
    result = await conn.exec_driver_sql(_MATCH[dialect], (account_id, param))
    return {row[0] for row in result.all()}


async def add(
    conn: AsyncConnection, account_id: int, numbers: Iterable[str], source: str, now: int
) -> None:
    rows = [(account_id, n, source, now) for n in dict.fromkeys(numbers)]
    await insert_missing(conn, opt_outs, ("account_id", "number", "source", "created_at"), rows)


async def remove(conn: AsyncConnection, account_id: int, numbers: Sequence[str]) -> int:
    removed = 0
    for start in range(0, len(numbers), 900):
        result = await conn.execute(
            delete(opt_outs).where(
                opt_outs.c.account_id == account_id,
                opt_outs.c.number.in_(list(numbers[start : start + 900])),
            )
        )
        removed += result.rowcount or 0
    return removed


async def page(
    conn: AsyncConnection, account_id: int, *, after: str | None, limit: int
) -> tuple[list[dict[str, Any]], int]:
    query = select(opt_outs).where(opt_outs.c.account_id == account_id)
    if after is not None:
        query = query.where(opt_outs.c.number > after)
    rows = [
        dict(r)
        for r in (await conn.execute(query.order_by(opt_outs.c.number).limit(limit))).mappings()
    ]
    total = (
        await conn.execute(
            select(func.count()).select_from(opt_outs).where(opt_outs.c.account_id == account_id)
        )
    ).scalar_one()
    return rows, int(total)
