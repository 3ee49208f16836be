"""The lock file that queues SQLite writers of several processes."""

from __future__ import annotations

import asyncio
import fcntl
import os
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from smsbridge.store.db import Database
from smsbridge.store.writer_lock import WriterLock

# flock excludes separate opens of a file even within one process, so two WriterLocks on one
# path behave like two processes.


def _free(path: Path) -> bool:
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing drops the probe's lock
    return True


async def test_a_waiting_writer_gets_the_lock_as_soon_as_it_is_free(tmp_path: Path) -> None:
    path = tmp_path / "db-writer"
    first, second = WriterLock(str(path)), WriterLock(str(path))
    entered = asyncio.Event()
    released_at = 0.0
    acquired_at = 0.0

    async def hold() -> None:
        nonlocal released_at
        async with first.held():
            entered.set()
            await asyncio.sleep(0.3)
            released_at = time.monotonic()

    async def wait() -> None:
        nonlocal acquired_at
        await entered.wait()
        async with second.held():
            acquired_at = time.monotonic()

    await asyncio.gather(hold(), wait())
    assert 0 <= acquired_at - released_at < 0.1
    assert _free(path)
    first.close()
    second.close()


async def test_a_cancelled_waiter_leaves_the_lock_free(tmp_path: Path) -> None:
    path = tmp_path / "db-writer"
    holder, waiter = WriterLock(str(path)), WriterLock(str(path))
    async with holder.held():
        task = asyncio.create_task(_enter(waiter))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    # The waiting thread takes the lock once the holder lets go, then gives it back: the
    # next writer gets in.
    late = WriterLock(str(path))
    await asyncio.wait_for(_enter(late), 5)
    for lock in (holder, waiter, late):
        lock.close()


async def _enter(lock: WriterLock) -> None:
    async with lock.held():
        pass


async def test_one_writer_per_process_at_a_time(tmp_path: Path) -> None:
    lock = WriterLock(str(tmp_path / "db-writer"))
    inside = 0
    most = 0

    async def write() -> None:
        nonlocal inside, most
        async with lock.held():
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.01)
            inside -= 1

    await asyncio.gather(*(write() for _ in range(10)))
    assert most == 1
    lock.close()


async def test_sqlite_files_get_a_writer_lock_and_postgresql_none(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        async with db.write() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
        assert (tmp_path / "x.db-writer").exists()
    finally:
        await db.dispose()
    assert Database("postgresql://root@127.0.0.1:5432/test").writer_lock is None
