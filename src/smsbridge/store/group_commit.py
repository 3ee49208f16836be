"""Group commit: many concurrent callers, one transaction.

Callers ``await submit(item)`` and resume only once their item is committed. A background task
takes everything queued so far, writes it in one transaction with ``flush``, and wakes the
callers. Under load this turns thousands of small commits into a few large ones; when idle an
item is written at once. If a combined flush fails, items are retried one by one so a single
bad item fails alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


class GroupCommitter(Generic[T]):
    def __init__(
        self,
        flush: Callable[[list[T]], Awaitable[None]],
        *,
        name: str,
        max_batch: int = 5000,
        weight: Callable[[T], int] = lambda _item: 1,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self._flush = flush
        self.name = name
        self._max_batch = max_batch
        self._weight = weight
        self._on_commit = on_commit
        self._queue: asyncio.Queue[tuple[T, asyncio.Future[None]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """Write what is queued, then stop."""
        if self._task is None:
            return
        await self._queue.join()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    def submit_nowait(self, item: T) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((item, future))
        return future

    def submit_or_flush(self, item: T) -> Awaitable[None]:
        """Queue ``item`` now (or, when not running, start writing it) and return what to
        await for its commit."""
        if self._task is None:
            return asyncio.ensure_future(self._flush([item]))
        return self.submit_nowait(item)

    async def submit(self, item: T) -> None:
        if self._task is None:
            # Not running (e.g. a CLI command): write directly.
            await self._flush([item])
            return
        await self.submit_nowait(item)

    async def _run(self) -> None:
        while True:
            first = await self._queue.get()
            batch = [first]
            size = self._weight(first[0])
            while size < self._max_batch and not self._queue.empty():
                entry = self._queue.get_nowait()
                batch.append(entry)
                size += self._weight(entry[0])
            try:
                await self._write(batch)
            except Exception as exc:  # never let the committer die: fail this batch only
                log.exception("%s: writing a batch failed", self.name)
                for _, future in batch:
                    _fail(future, exc)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _write(self, batch: list[tuple[T, asyncio.Future[None]]]) -> None:
        try:
            await self._flush([item for item, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                _fail(batch[0][1], exc)
                return
            log.warning("%s: combined flush failed (%s); retrying one by one", self.name, exc)
            for item, future in batch:
                try:
                    await self._flush([item])
                except Exception as single:
                    _fail(future, single)
                else:
                    _done(future)
            self._committed()
            return
        for _, future in batch:
            _done(future)
        self._committed()

    def _committed(self) -> None:
        if self._on_commit is not None:
            try:
                self._on_commit()
            except Exception:
                log.exception("%s: on_commit callback failed", self.name)


def _done(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _fail(future: asyncio.Future[None], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
        # Fire-and-forget callers never await; keep asyncio from warning about it.
        future.add_done_callback(lambda f: f.exception())
