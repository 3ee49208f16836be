"""executemany with statements compiled once per dialect, rows given as tuples.

SQLAlchemy's per-row parameter processing dominates when thousands of rows go through one
statement (bulk ingest, the dispatcher's outcome and report batches). Here a Core statement is
compiled once for the connection's dialect and rows go straight to the driver's executemany.
Values must already have the column types (ints, strings, bools, None).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import chain
from operator import itemgetter
from typing import Any, TypeVar

from sqlalchemy import ARRAY, ColumnElement, Insert, Table, any_, insert, literal
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import UpdateBase

T = TypeVar("T")

_compiled: dict[tuple[str, int, tuple[str, ...]], tuple[str, Callable[[Any], Any] | None]] = {}


async def executemany(
    conn: AsyncConnection,
    statement: UpdateBase,
    names: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]],
) -> None:
    """Run ``statement`` once per row; ``names`` are the bind names (insert: column names) in
    the order of each row's values."""
    if not rows:
        return
    key = (conn.dialect.name, id(statement), names)
    entry = _compiled.get(key)
    if entry is None:
        column_keys = list(names) if isinstance(statement, Insert) else None
        compiled = statement.compile(
            dialect=conn.dialect, column_keys=column_keys, for_executemany=True
        )
        order = tuple(compiled.positiontup or names)
        # Binds not given per row are the statement's own constants (e.g. status = 'sending').
        constants = {n: compiled.params[n] for n in order if n not in names}
        reorder: Callable[[Any], Any] | None = None
        if constants:
            slots = [(names.index(n), None) if n in names else (-1, constants[n]) for n in order]
            reorder = lambda row: tuple(row[i] if i >= 0 else c for i, c in slots)  # noqa: E731
        elif order != names:
            getter = itemgetter(*(names.index(n) for n in order))
            reorder = getter if len(order) > 1 else (lambda row: (getter(row),))
        entry = (str(compiled), reorder)
        _compiled[key] = entry
    sql, reorder = entry
    await conn.exec_driver_sql(sql, list(rows) if reorder is None else [reorder(r) for r in rows])


async def execute_compiled(
    conn: AsyncConnection, statement: UpdateBase, params: dict[str, Any]
) -> CursorResult[Any]:
    """Execute a module-level statement through its once-compiled SQL (hot paths)."""
    key = (conn.dialect.name, id(statement), ("*one*",))
    entry = _compiled.get(key)
    if entry is None:
        compiled = statement.compile(dialect=conn.dialect)
        order = tuple(compiled.positiontup or ())
        entry = (str(compiled), None)
        _positions[key] = order
        _compiled[key] = entry
    sql = entry[0]
    values = tuple(params[name] for name in _positions[key])
    return await conn.exec_driver_sql(sql, values)


_positions: dict[tuple[str, int, tuple[str, ...]], tuple[str, ...]] = {}
_inserts: dict[str, Insert] = {}


async def insert_rows(
    conn: AsyncConnection, table: Table, columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]
) -> None:
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        await _insert_sqlite(conn, table.name, columns, rows)
        return
    statement = _inserts.get(table.name)
    if statement is None:
        statement = _inserts[table.name] = insert(table)
    await executemany(conn, statement, columns, rows)


# SQLite: many rows per INSERT statement. executemany steps once per row and takes the
# interpreter lock back for each; one statement per thousand rows is about a tenth faster
# for bulk ingest and holds the lock far less. Fewer rows go through executemany, so that
# statement texts do not multiply with every row count.
_MULTI_ROW_FROM = 64
_SQLITE_MAX_VARIABLES = 32_766
_sqlite_sql: dict[tuple[str, tuple[str, ...], int, tuple[str | None, ...]], str] = {}
_SQLITE_SQL_KEPT = 256  # statement texts kept; rows of unusual shapes must not grow it forever


async def _insert_sqlite(
    conn: AsyncConnection, table: str, columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]
) -> None:
    per = min(1000, _SQLITE_MAX_VARIABLES // len(columns))
    for start in range(0, len(rows), per):
        chunk = rows[start : start + per]
        literals = _constant_literals(chunk, len(columns))
        bound = [i for i, lit in enumerate(literals) if lit is None]
        if len(chunk) < _MULTI_ROW_FROM:
            sql = _sqlite_insert(table, columns, 1, literals)
            if len(bound) == len(columns):
                await conn.exec_driver_sql(sql, list(chunk))
            else:
                await conn.exec_driver_sql(sql, [tuple(row[i] for i in bound) for row in chunk])
            continue
        if not bound:
            params: tuple[Any, ...] = ()
        elif len(bound) == len(columns):
            params = tuple(chain.from_iterable(chunk))
        elif len(bound) == 1:
            params = tuple(row[bound[0]] for row in chunk)
        else:
            params = tuple(chain.from_iterable(map(itemgetter(*bound), chunk)))
        await conn.exec_driver_sql(_sqlite_insert(table, columns, len(chunk), literals), params)


def _sqlite_insert(
    table: str, columns: tuple[str, ...], count: int, literals: tuple[str | None, ...]
) -> str:
    """``INSERT`` of ``count`` rows, with a ``?`` where ``literals`` has None."""
    key = (table, columns, count, literals)
    sql = _sqlite_sql.get(key)
    if sql is None:
        if len(_sqlite_sql) >= _SQLITE_SQL_KEPT:
            _sqlite_sql.clear()
        group = "(" + ", ".join("?" if lit is None else lit for lit in literals) + ")"
        head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        sql = _sqlite_sql[key] = head + ", ".join([group] * count)
    return sql


def _constant_literals(chunk: Sequence[tuple[Any, ...]], width: int) -> tuple[str | None, ...]:
    """Per column, the SQL literal when every row holds the same NULL or boolean there, else
    None (bound). The sqlite3 driver binds None and bools through its adapter lookup, which
    costs more than the insert itself; bulk rows are mostly such constants (flags, unset
    optional columns)."""
    out: list[str | None] = [None] * width
    count = len(chunk)
    for index, values in enumerate(zip(*chunk, strict=True)):
        first = values[0]
        # count() compares with ==, so 1 and 0 match True and False: SQLite stores them alike.
        if (first is None or first is True or first is False) and values.count(first) == count:
            out[index] = "NULL" if first is None else "1" if first else "0"
    return tuple(out)


def one_of(
    conn: AsyncConnection, column: ColumnElement[Any], values: Sequence[Any]
) -> ColumnElement[bool]:
    """``column IN (values)`` that keeps one statement text whatever the number of values.

    On PostgreSQL it becomes ``column = ANY($1)`` with one array parameter, so asyncpg prepares
    the statement once instead of once per list length.
    """
    if conn.dialect.name == "postgresql":
        return column == any_(literal(list(values), ARRAY(column.type)))
    return column.in_(list(values))


def chunked(items: Sequence[T], size: int = 900) -> list[Sequence[T]]:
    """``items`` in slices of ``size`` (IN lists and executemany batches stay bounded)."""
    return [items[i : i + size] for i in range(0, len(items), size)]
