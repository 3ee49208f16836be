"""Engines and transactions for SQLite (embedded default) and PostgreSQL.

SQLite allows one writer at a time. Write transactions start with ``BEGIN IMMEDIATE`` on a
single dedicated connection, so writers queue in-process instead of failing with
SQLITE_BUSY on lock upgrade; reads use a separate pool and WAL lets them run beside the writer.
Other processes (the CLI, a second worker) wait on ``busy_timeout``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from smsbridge.store.writer_lock import WriterLock


def now_us() -> int:
    return time.time_ns() // 1000


def async_url(url: str) -> str:
    """Map user-facing URLs (``sqlite:///x.db``, ``postgresql://...``) to async drivers."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return str(parsed.set(drivername="sqlite+aiosqlite"))
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ValueError(
        f"unsupported database URL {url!r}: use sqlite:///path.db or postgresql://user@host/db"
    )


def _writer_lock(url: str) -> WriterLock | None:
    """SQLite files get a lock file beside them (``NAME.db-writer``) that queues writers."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    path = parsed.database
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return WriterLock(path + "-writer")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The driver must not open transactions itself; we issue BEGIN explicitly.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.execute("PRAGMA wal_autocheckpoint=20000")
    cursor.close()


class Database:
    """Owns the engines; hands out read and write transactions."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = async_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        self.writer_lock = _writer_lock(self.url)
        if self.is_sqlite:
            self.writer = create_async_engine(self.url, pool_size=1, max_overflow=0)
            event.listen(self.writer.sync_engine, "connect", _sqlite_pragmas)
            event.listen(
                self.writer.sync_engine,
                "begin",
                lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"),
            )
            # Reads run in autocommit: each SELECT sees the latest commit, and a read costs
            # no BEGIN/ROLLBACK round trips through the driver's thread.
            self.reader = create_async_engine(
                self.url, pool_size=8, max_overflow=8, pool_reset_on_return=None
            )
            event.listen(self.reader.sync_engine, "connect", _sqlite_pragmas)
        else:
            # No pre-ping (a round trip per checkout); connections are recycled hourly and
            # a broken one fails its transaction, which callers retry.
            self.writer = create_async_engine(
                self.url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=3600
            )
            self.reader = self.writer

    @classmethod
    def unpooled(cls, url: str) -> Database:
        """For short-lived CLI commands."""
        db = cls.__new__(cls)
        db.url = async_url(url)
        db.is_sqlite = db.url.startswith("sqlite")
        db.writer_lock = _writer_lock(db.url)
        engine = create_async_engine(db.url, poolclass=NullPool)
        if db.is_sqlite:
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(
                engine.sync_engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE")
            )
        db.writer = db.reader = engine
        return db

    @asynccontextmanager
    async def write(self, *, fresh_plans: bool = False) -> AsyncIterator[AsyncConnection]:
        """A transaction that commits on success and rolls back on any error.

        ``fresh_plans`` (PostgreSQL): plan each statement with the table sizes of the moment.
        The outbox tables grow from empty at a great pace, and a generic plan cached while a
        table was tiny (a sequential scan) would stay in use once it holds millions of rows.
        Lookups of the dispatcher ask for it; bulk inserts do not need it.
        """
        if self.writer_lock is not None:
            async with self.writer_lock.held(), self.writer.begin() as conn:
                yield conn
            return
        async with self.writer.begin() as conn:
            if fresh_plans and not self.is_sqlite:
                await conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.reader.connect() as conn:
            yield conn
            # Closing without commit rolls back; nothing was written.

    async def dispose(self) -> None:
        if self.writer_lock is not None:
            self.writer_lock.close()
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()

    @property
    def engines(self) -> tuple[AsyncEngine, ...]:
        return (self.writer,) if self.reader is self.writer else (self.writer, self.reader)
