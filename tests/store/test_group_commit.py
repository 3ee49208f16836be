"""Tests for smsbridge.store.group_commit.GroupCommitter: the batching logic, with a recording
flush function standing in for the database."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from smsbridge.store.group_commit import GroupCommitter


class Recorder:
    """A flush function that records each batch; optionally slow, blocked or failing."""

    def __init__(
        self,
        *,
        bad: Callable[[int], bool] = lambda _item: False,
        delay: float = 0.0,
    ) -> None:
        self.batches: list[list[int]] = []
        self.committed: list[int] = []
        self.bad = bad
        self.delay = delay
        self.gate: asyncio.Event | None = None
        self.events: list[str] = []

    async def __call__(self, batch: list[int]) -> None:
        self.batches.append(list(batch))
        self.events.append(f"flush-start {batch}")
        if self.gate is not None:
            await self.gate.wait()
        if self.delay:
            await asyncio.sleep(self.delay)
        else:
            await asyncio.sleep(0)
        if any(self.bad(item) for item in batch):
            self.events.append(f"flush-failed {batch}")
            raise ValueError(f"bad item in {batch}")
        self.committed.extend(batch)
        self.events.append(f"flush-end {batch}")


@pytest.fixture
async def committers() -> AsyncIterator[list[GroupCommitter[int]]]:
    """Committers a test started; stopped afterwards so no task outlives its test."""
    started: list[GroupCommitter[int]] = []
    yield started
    for committer in started:
        await asyncio.wait_for(committer.stop(), 5)


def started(
    committers: list[GroupCommitter[int]],
    flush: Recorder,
    *,
    max_batch: int = 5000,
    weight: Callable[[int], int] = lambda _item: 1,
    on_commit: Callable[[], None] | None = None,
) -> GroupCommitter[int]:
    committer = GroupCommitter(
        flush, name="test", max_batch=max_batch, weight=weight, on_commit=on_commit
    )
    committer.start()
    committers.append(committer)
    return committer


async def test_concurrent_submits_share_few_flushes(committers: list[GroupCommitter[int]]) -> None:
    flush = Recorder()
    committer = started(committers, flush)
    await asyncio.gather(*(committer.submit(i) for i in range(1000)))
    assert sorted(flush.committed) == list(range(1000))
    assert len(flush.batches) <= 3
    assert sum(len(b) for b in flush.batches) == 1000


async def test_submissions_during_a_flush_form_the_next_batch(
    committers: list[GroupCommitter[int]],
) -> None:
    flush = Recorder(delay=0.02)
    committer = started(committers, flush)
    first = asyncio.ensure_future(committer.submit(0))
    await asyncio.sleep(0.005)  # flush of [0] is in progress
    rest = [asyncio.ensure_future(committer.submit(i)) for i in range(1, 101)]
    await asyncio.gather(first, *rest)
    assert flush.batches == [[0], list(range(1, 101))]


async def test_idle_item_is_written_at_once(committers: list[GroupCommitter[int]]) -> None:
    flush = Recorder()
    committer = started(committers, flush)
    for i in range(3):
        await committer.submit(i)
    assert flush.batches == [[0], [1], [2]]


async def test_submit_returns_only_after_its_flush(committers: list[GroupCommitter[int]]) -> None:
    flush = Recorder()
    flush.gate = asyncio.Event()
    committer = started(committers, flush)

    async def caller(i: int) -> None:
        await committer.submit(i)
        flush.events.append(f"returned {i}")

    tasks = [asyncio.ensure_future(caller(i)) for i in range(5)]
    await asyncio.sleep(0.02)
    assert flush.batches == [[0, 1, 2, 3, 4]]
    assert not any(t.done() for t in tasks)
    assert flush.committed == []
    flush.gate.set()
    await asyncio.gather(*tasks)
    assert flush.events[:2] == ["flush-start [0, 1, 2, 3, 4]", "flush-end [0, 1, 2, 3, 4]"]
    assert sorted(flush.events[2:]) == [f"returned {i}" for i in range(5)]


async def test_one_bad_item_fails_alone(committers: list[GroupCommitter[int]]) -> None:
    flush = Recorder(bad=lambda item: item == 13)
    committer = started(committers, flush)
    results = await asyncio.gather(
        *(committer.submit(i) for i in range(20)), return_exceptions=True
    )
    failures = {i: r for i, r in enumerate(results) if r is not None}
    assert list(failures) == [13]
    assert isinstance(failures[13], ValueError)
    assert "13" in str(failures[13])
    assert sorted(flush.committed) == [i for i in range(20) if i != 13]
    # one combined attempt, then one by one
    assert flush.batches[0] == list(range(20))
    assert flush.batches[1:] == [[i] for i in range(20)]


async def test_single_bad_item_raises_to_its_caller(committers: list[GroupCommitter[int]]) -> None:
    flush = Recorder(bad=lambda item: item < 0)
    committer = started(committers, flush)
    with pytest.raises(ValueError):
        await committer.submit(-1)
    await committer.submit(1)  # the committer keeps running
    assert flush.committed == [1]


async def test_max_batch_bounds_batch_size(committers: list[GroupCommitter[int]]) -> None:
    flush = Recorder()
    committer = started(committers, flush, max_batch=7)
    await asyncio.gather(*(committer.submit(i) for i in range(50)))
    assert [len(b) for b in flush.batches] == [7] * 7 + [1]
    assert [i for b in flush.batches for i in b] == list(range(50))


async def test_weight_bounds_batch_size(committers: list[GroupCommitter[int]]) -> None:
    flush = Recorder()
    committer = started(committers, flush, max_batch=100, weight=lambda item: 10)
    await asyncio.gather(*(committer.submit(i) for i in range(95)))
    assert [len(b) for b in flush.batches] == [10] * 9 + [5]


async def test_weighted_batches_close_once_full(committers: list[GroupCommitter[int]]) -> None:
    """A batch stops growing as soon as its weight reaches max_batch; an item heavier than
    max_batch still goes out, alone."""
    weights = [30, 30, 30, 30, 250, 5, 5, 60, 60, 1]
    flush = Recorder()
    committer = started(committers, flush, max_batch=100, weight=lambda item: weights[item])
    await asyncio.gather(*(committer.submit(i) for i in range(len(weights))))
    assert [i for b in flush.batches for i in b] == list(range(len(weights)))
    for batch in flush.batches:
        # without its last item a batch was still below the bound
        assert sum(weights[i] for i in batch[:-1]) < 100
    assert [4] in flush.batches


async def test_on_commit_called_after_each_flush(committers: list[GroupCommitter[int]]) -> None:
    flush = Recorder()
    calls: list[list[int]] = []
    committer = started(committers, flush, on_commit=lambda: calls.append(list(flush.committed)))
    await committer.submit(1)
    assert calls == [[1]]
    await asyncio.gather(*(committer.submit(i) for i in range(2, 6)))
    assert len(calls) == len(flush.batches)
    assert calls[-1] == [1, 2, 3, 4, 5]


async def test_on_commit_not_called_when_a_lone_item_fails(
    committers: list[GroupCommitter[int]],
) -> None:
    calls: list[None] = []
    committer = started(
        committers, Recorder(bad=lambda _item: True), on_commit=lambda: calls.append(None)
    )
    with pytest.raises(ValueError):
        await committer.submit(1)
    assert calls == []


async def test_stop_drains_queued_items() -> None:
    flush = Recorder(delay=0.01)
    committer: GroupCommitter[int] = GroupCommitter(flush, name="test", max_batch=3)
    committer.start()
    futures = [committer.submit_nowait(i) for i in range(10)]
    await asyncio.wait_for(committer.stop(), 5)
    assert sorted(flush.committed) == list(range(10))
    assert all(f.done() and f.exception() is None for f in futures)
    # stopped: submit writes directly again; stop is idempotent
    await committer.submit(99)
    assert flush.batches[-1] == [99]
    await committer.stop()


async def test_stop_without_start_is_a_no_op() -> None:
    committer: GroupCommitter[int] = GroupCommitter(Recorder(), name="test")
    await asyncio.wait_for(committer.stop(), 1)


async def test_restart_after_stop(committers: list[GroupCommitter[int]]) -> None:
    flush = Recorder()
    committer = started(committers, flush)
    await committer.submit(1)
    await committer.stop()
    committer.start()
    await asyncio.gather(*(committer.submit(i) for i in range(2, 5)))
    assert flush.committed == [1, 2, 3, 4]


async def test_submit_without_start_flushes_directly() -> None:
    flush = Recorder()
    committer: GroupCommitter[int] = GroupCommitter(flush, name="test")
    await committer.submit(1)
    await committer.submit(2)
    assert flush.batches == [[1], [2]]
    assert committer.name == "test"


async def test_submit_without_start_raises_directly() -> None:
    committer: GroupCommitter[int] = GroupCommitter(Recorder(bad=lambda _i: True), name="test")
    with pytest.raises(ValueError):
        await committer.submit(1)


async def test_submit_nowait_futures_resolve(committers: list[GroupCommitter[int]]) -> None:
    flush = Recorder(bad=lambda item: item == 3)
    committer = started(committers, flush)
    futures = [committer.submit_nowait(i) for i in range(6)]
    _done, pending = await asyncio.wait(futures, timeout=5)
    assert not pending
    assert [f.exception() is None for f in futures] == [True, True, True, False, True, True]
    assert isinstance(futures[3].exception(), ValueError)
    assert sorted(flush.committed) == [0, 1, 2, 4, 5]


async def test_fire_and_forget_failure_does_not_warn(
    committers: list[GroupCommitter[int]],
) -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        committer = started(committers, Recorder(bad=lambda item: item == 1))
        future = committer.submit_nowait(1)
        await asyncio.wait([future], timeout=5)
        del future
        await committer.submit(2)  # the committer lets go of the failed batch
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(previous)
    assert not [c for c in reported if "never retrieved" in str(c.get("message"))]


async def test_cancelled_caller_does_not_break_the_batch(
    committers: list[GroupCommitter[int]],
) -> None:
    flush = Recorder()
    flush.gate = asyncio.Event()
    committer = started(committers, flush)
    tasks = [asyncio.ensure_future(committer.submit(i)) for i in range(3)]
    await asyncio.sleep(0.01)
    tasks[1].cancel()
    flush.gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], asyncio.CancelledError)
    assert flush.committed == [0, 1, 2]  # the item was already in the transaction
    await committer.submit(3)


async def test_failing_on_commit_does_not_stop_the_committer() -> None:
    def boom() -> None:
        raise RuntimeError("notify failed")

    flush = Recorder()
    committer: GroupCommitter[int] = GroupCommitter(flush, name="test", on_commit=boom)
    committer.start()
    task = committer._task
    assert task is not None
    try:
        await asyncio.wait_for(committer.submit(1), 1)
        await asyncio.wait_for(committer.submit(2), 0.2)
        await asyncio.wait_for(committer.stop(), 0.2)
    finally:
        if not task.done():
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)  # consume its exception
