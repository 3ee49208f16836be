"""What an account recently sent to given numbers: for the reload lock and the daily cap.

These run for every send, so each is one statement whose text never changes: the numbers go
in as a single parameter (a JSON array on SQLite, an array on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

_SELECTS = {
    "recent": "SELECT r.to_number, m.text",
    "counts": "SELECT r.to_number, count(*)",
}
_WHERE = {
    "sqlite": (
        " FROM recipients r JOIN messages m ON m.id = r.message_id"
        " WHERE r.account_id = ? AND r.to_number IN (SELECT value FROM json_each(?))"
        " AND r.created_at >= ? AND r.status <> 'rejected' AND m.test = 0"
    ),
    "postgresql": (
        " FROM recipients r JOIN messages m ON m.id = r.message_id"
        " WHERE r.account_id = $1 AND r.to_number = ANY($2::varchar[])"
        " AND r.created_at >= $3 AND r.status <> 'rejected' AND m.test = false"
    ),
}


def _sql(conn: AsyncConnection, kind: str) -> str:
    dialect = conn.dialect.name
    group = " GROUP BY r.to_number" if kind == "counts" else ""
    return _SELECTS[kind] + _WHERE[dialect] + group


def _numbers(conn: AsyncConnection, numbers: Sequence[str]) -> object:
    return orjson.dumps(list(numbers)).decode() if conn.dialect.name == "sqlite" else list(numbers)


async def recent_texts(
    conn: AsyncConnection, account_id: int, numbers: Sequence[str], since: int
) -> set[tuple[str, str]]:
    """(number, text) pairs sent (not rejected, not test) since ``since``."""
    result = await conn.exec_driver_sql(
        _sql(conn, "recent"), (account_id, _numbers(conn, numbers), since)
    )
    rows: list[Any] = list(result.all())
    return {(str(row[0]), str(row[1])) for row in rows}


async def counts_since(
    conn: AsyncConnection, account_id: int, numbers: Sequence[str], since: int
) -> dict[str, int]:
    result = await conn.exec_driver_sql(
        _sql(conn, "counts"), (account_id, _numbers(conn, numbers), since)
    )
    rows: list[Any] = list(result.all())
    return {str(row[0]): int(row[1]) for row in rows}
