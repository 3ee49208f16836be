"""insert_rows writes exactly the rows given, in any number of statements, on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import BigInteger, Boolean, Column, Integer, MetaData, String, Table, select

from smsbridge.store.bulk import insert_rows
from smsbridge.store.db import Database

metadata = MetaData()
wide = Table(
    "bulk_insert_check",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("big", BigInteger),
    Column("flag", Boolean),
    Column("note", String(40)),
    *(Column(f"c{i}", Integer) for i in range(40)),  # 44 columns: statements split by size
)
COLUMNS = ("id", "big", "flag", "note", *(f"c{i}" for i in range(40)))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    async with database.write() as conn:
        await conn.run_sync(lambda sync: wide.drop(sync, checkfirst=True))
        await conn.run_sync(lambda sync: wide.create(sync))
    yield database
    async with database.write() as conn:
        await conn.run_sync(lambda sync: wide.drop(sync, checkfirst=True))
    await database.dispose()


def _row(i: int) -> tuple[Any, ...]:
    return (i, 2**53 - i, i % 3 == 0, None if i % 5 == 0 else f"note {i} ü", *range(i, i + 40))


@pytest.mark.parametrize("count", [1, 63, 64, 744, 745, 2_345])
async def test_every_row_arrives_as_given(db: Database, count: int) -> None:
    rows = [_row(i) for i in range(1, count + 1)]
    async with db.write() as conn:
        await insert_rows(conn, wide, COLUMNS, rows)
    async with db.read() as conn:
        stored = (await conn.execute(select(wide).order_by(wide.c.id))).all()
    assert [tuple(r) for r in stored] == rows


def _constant_row(i: int, _sqlite: bool) -> tuple[Any, ...]:
    """Columns that hold the same NULL or flag in every row, beside ones that vary."""
    return (i, None, True, None, *(0 if c % 2 else None for c in range(40)))


@pytest.mark.parametrize(
    "make_row",
    [
        _constant_row,
        lambda i, _sqlite: (i, None, False, "x", *([None] * 40)),
        # NULLs that stop being constant halfway; on SQLite, a flag column mixing bools
        # with the ints it stores for them.
        lambda i, sqlite: (
            i,
            i if i > 2 else None,
            [True, 1 if sqlite else True][i % 2],
            None,
            *([i % 2] * 40),
        ),
    ],
)
@pytest.mark.parametrize("count", [3, 1_000])
async def test_constant_columns_arrive_as_given(db: Database, make_row: Any, count: int) -> None:
    rows = [make_row(i, db.is_sqlite) for i in range(1, count + 1)]
    async with db.write() as conn:
        await insert_rows(conn, wide, COLUMNS, rows)
    async with db.read() as conn:
        stored = (await conn.execute(select(wide).order_by(wide.c.id))).all()
    assert [tuple(r) for r in stored] == rows


@pytest.mark.parametrize("count", [1, 10, 100])
async def test_rows_of_nothing_but_constants(db: Database, count: int) -> None:
    narrow = ("flag", "note")
    rows = [(False, None)] * count
    async with db.write() as conn:
        await insert_rows(conn, wide, narrow, rows)
    async with db.read() as conn:
        stored = (await conn.execute(select(wide.c.flag, wide.c.note))).all()
    assert [tuple(r) for r in stored] == rows
