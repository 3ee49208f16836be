"""Hands SQLite's write lock from process to process the moment it is free.

SQLite lets one writer in at a time; a writer that finds the database locked sleeps and
retries (1, 2, 5 ... up to 100 ms a try), so with several processes (``serve --workers N``,
a CLI import beside the server) the lock sits idle between writers. Every writer of ours
first takes an exclusive ``flock`` on a file beside the database: a process waiting for it
wakes as soon as the holder releases it. SQLite's own locking still decides; this only
queues our processes fairly in front of it. The kernel drops the lock of a process that dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator


class WriterLock:
    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        # One writer per process at a time: flock does not exclude holders that share a file.
        self._gate: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _file(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._fd

    def _local_gate(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._gate is None or self._loop is not loop:
            self._gate, self._loop = asyncio.Lock(), loop
        return self._gate

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        async with self._local_gate():
            fd = self._file()
            await _lock(fd)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


async def _lock(fd: int) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the common case: free
        return
    except BlockingIOError:
        pass
    waiting = asyncio.get_running_loop().run_in_executor(None, fcntl.flock, fd, fcntl.LOCK_EX)
    try:
        await asyncio.shield(waiting)
    except asyncio.CancelledError:
        # The thread still takes the lock; give it back once it has.
        waiting.add_done_callback(
            lambda done: None if done.exception() else fcntl.flock(fd, fcntl.LOCK_UN)
        )
        raise
