"""Tests for smsbridge.core.ids: ordering, uniqueness, the 53-bit bound and the clock."""

from __future__ import annotations

import itertools
import threading
import time
from types import SimpleNamespace

import pytest

from smsbridge.core import ids as ids_module
from smsbridge.core.ids import EPOCH_MS, NODE_BITS, SEQ_BITS, IdGenerator, id_time_ms


class FakeClock:
    """Stands in for the ``time`` module inside smsbridge.core.ids."""

    def __init__(self, ms: int) -> None:
        self.ms = ms

    def time(self) -> float:
        return self.ms / 1000


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock(EPOCH_MS + 1_000_000_000)
    monkeypatch.setattr(ids_module, "time", SimpleNamespace(time=fake.time))
    return fake


def now_ms() -> int:
    return int(time.time() * 1000)


def test_strictly_increasing_over_100k() -> None:
    values = IdGenerator(node=3).take(100_000)
    assert all(a < b for a, b in itertools.pairwise(values))
    assert values[-1] < 2**53
    assert values[0] > 0


def test_ids_below_2_pow_53_even_at_end_of_range(clock: FakeClock) -> None:
    # 41 bits of milliseconds: the last representable millisecond still fits in 53 bits
    clock.ms = EPOCH_MS + (1 << 41) - 1
    gen = IdGenerator(node=15)
    values = gen.take(256)
    assert all(v < 2**53 for v in values)
    assert max(values) == 2**53 - 1


def test_layout(clock: FakeClock) -> None:
    gen = IdGenerator(node=5)
    first, second = gen.take(2)
    ms = clock.ms - EPOCH_MS
    assert first == (ms << (NODE_BITS + SEQ_BITS)) | (5 << SEQ_BITS)
    assert second == first + 1
    assert id_time_ms(first) == clock.ms


def test_distinct_nodes_same_millisecond(clock: FakeClock) -> None:
    generators = [IdGenerator(node=n) for n in range(1 << NODE_BITS)]
    seen: set[int] = set()
    for gen in generators:
        batch = gen.take(100)
        assert {id_time_ms(v) for v in batch} == {clock.ms}
        seen.update(batch)
    assert len(seen) == 100 * (1 << NODE_BITS)


def test_node_is_masked_to_its_bits() -> None:
    assert IdGenerator(node=17).node == 1
    assert IdGenerator(node=15).node == 15
    assert IdGenerator().node == 0


def test_id_time_close_to_now() -> None:
    before = now_ms()
    value = IdGenerator().next_id()
    after = now_ms()
    assert before - 1 <= id_time_ms(value) <= after + 1


def test_sequence_overflow_borrows_next_millisecond(clock: FakeClock) -> None:
    gen = IdGenerator(node=2)
    values = gen.take(1000)  # all in one (frozen) millisecond
    assert len(set(values)) == 1000
    assert all(a < b for a, b in itertools.pairwise(values))
    per_ms = 1 << SEQ_BITS
    times = [id_time_ms(v) for v in values]
    assert times[0] == clock.ms
    assert times[per_ms - 1] == clock.ms
    assert times[per_ms] == clock.ms + 1
    assert times[-1] == clock.ms + (1000 - 1) // per_ms
    # the node bits are never touched by the sequence
    assert {(v >> SEQ_BITS) & ((1 << NODE_BITS) - 1) for v in values} == {2}


def test_overflow_then_clock_catches_up(clock: FakeClock) -> None:
    gen = IdGenerator()
    borrowed = gen.take(600)  # runs two milliseconds ahead of the clock
    clock.ms += 1  # still behind the borrowed time
    more = gen.take(10)
    clock.ms += 10  # now ahead again: fresh millisecond, sequence restarts
    fresh = gen.next_id()
    values = [*borrowed, *more, fresh]
    assert all(a < b for a, b in itertools.pairwise(values))
    assert id_time_ms(fresh) == clock.ms
    assert fresh & ((1 << SEQ_BITS) - 1) == 0


def test_clock_going_backwards_never_goes_back(clock: FakeClock) -> None:
    gen = IdGenerator()
    first = gen.next_id()
    clock.ms -= 5_000
    second = gen.next_id()
    assert second > first
    assert id_time_ms(second) == id_time_ms(first)


def test_overflowing_generators_on_distinct_nodes_do_not_collide(clock: FakeClock) -> None:
    a, b = IdGenerator(node=1), IdGenerator(node=2)
    values = a.take(700) + b.take(700)
    assert len(set(values)) == 1400


def test_threads_get_unique_increasing_ids() -> None:
    gen = IdGenerator(node=7)
    results: list[list[int]] = [[] for _ in range(4)]

    def work(out: list[int]) -> None:
        out.extend(gen.take(5000))

    threads = [threading.Thread(target=work, args=(out,)) for out in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    flat = [v for out in results for v in out]
    assert len(set(flat)) == len(flat) == 20_000
    for out in results:  # each thread sees its own ids in order
        assert all(a < b for a, b in itertools.pairwise(out))


def test_id_time_ms_of_zero_is_epoch() -> None:
    assert id_time_ms(0) == EPOCH_MS


@pytest.mark.parametrize("count", [1, 255, 256, 257, 1000, 20_000])
@pytest.mark.parametrize("used", [0, 1, 200, 256])
def test_take_gives_what_calls_one_by_one_give(clock: FakeClock, count: int, used: int) -> None:
    one_by_one, at_once = IdGenerator(node=5), IdGenerator(node=5)
    for gen in (one_by_one, at_once):
        for _ in range(used):
            gen.next_id()
    assert at_once.take(count) == [one_by_one.next_id() for _ in range(count)]
    clock.ms += 1
    assert at_once.next_id() == one_by_one.next_id()


def test_reserve_hands_out_its_block_then_goes_on(clock: FakeClock) -> None:
    gen = IdGenerator(node=2)
    next_id = gen.reserve(3)
    values = [next_id() for _ in range(6)]
    assert all(a < b for a, b in itertools.pairwise(values))
    assert len(set(values)) == 6
