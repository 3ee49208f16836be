"""``INSERT ... ON CONFLICT DO NOTHING`` for SQLite and PostgreSQL, compiled once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Insert, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from smsbridge.store.bulk import executemany

_statements: dict[tuple[str, str], Insert] = {}


def insert_ignore(conn: AsyncConnection, table: Table) -> Insert:
    key = (conn.dialect.name, table.name)
    statement = _statements.get(key)
    if statement is None:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(table).on_conflict_do_nothing()
        _statements[key] = statement
    return statement


async def insert_missing(
    conn: AsyncConnection, table: Table, columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert the rows whose key is not there yet; leave existing rows alone."""
    await executemany(conn, insert_ignore(conn, table), columns, rows)
