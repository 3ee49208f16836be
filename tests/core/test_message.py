"""Tests for smsbridge.core.message: statuses, their order, summaries and part combination."""

from __future__ import annotations

import itertools

import pytest

from smsbridge.core.message import (
    FINAL,
    PENDING,
    Priority,
    Status,
    advances,
    combine_parts,
    rank,
    summarize,
)

S = Status


def test_status_values() -> None:
    assert {s.value for s in Status} == {
        "draft",
        "queued",
        "scheduled",
        "sending",
        "sent",
        "delivered",
        "failed",
        "expired",
        "cancelled",
        "rejected",
    }
    assert Status("delivered") is S.DELIVERED
    assert S.SENT.value == "sent"
    assert isinstance(S.SENT, str)
    assert str(S.FAILED) == "failed"
    with pytest.raises(ValueError):
        Status("unknown")


def test_final_and_pending_sets() -> None:
    assert {S.DRAFT, S.QUEUED, S.SCHEDULED} == PENDING
    assert {S.DELIVERED, S.FAILED, S.EXPIRED, S.CANCELLED, S.REJECTED} == FINAL
    assert not PENDING & FINAL
    assert set(Status) - PENDING - FINAL == {S.SENDING, S.SENT}
    assert "delivered" in FINAL  # str enum: plain strings match too


def test_rank_order() -> None:
    assert rank(S.QUEUED) == rank(S.SCHEDULED) < rank(S.SENDING) < rank(S.SENT)
    assert all(rank(S.SENT) < rank(f) for f in FINAL)
    assert len({rank(f) for f in FINAL}) == 1


def test_priority() -> None:
    assert Priority.NORMAL < Priority.HIGH
    assert int(Priority.NORMAL) == 0


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (S.QUEUED, S.SENDING),
        (S.SCHEDULED, S.SENDING),
        (S.SENDING, S.SENT),
        (S.SENT, S.DELIVERED),
        (S.SENDING, S.DELIVERED),
        (S.QUEUED, S.DELIVERED),
        (S.SENT, S.FAILED),
        (S.SENT, S.EXPIRED),
        (S.QUEUED, S.CANCELLED),
        (S.SCHEDULED, S.CANCELLED),
        (S.QUEUED, S.REJECTED),
        (S.SENDING, S.FAILED),
    ],
)
def test_advances(current: Status, new: Status) -> None:
    assert advances(current, new)


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (S.DELIVERED, S.SENT),  # a late "sent" never replaces "delivered"
        (S.DELIVERED, S.SENDING),
        (S.DELIVERED, S.FAILED),
        (S.FAILED, S.DELIVERED),
        (S.SENT, S.SENDING),
        (S.SENT, S.SENT),
        (S.SENDING, S.QUEUED),
        (S.SENDING, S.SENDING),
        (S.QUEUED, S.SCHEDULED),
        (S.SCHEDULED, S.QUEUED),
    ],
)
def test_does_not_advance(current: Status, new: Status) -> None:
    assert not advances(current, new)


@pytest.mark.parametrize(("current", "new"), list(itertools.product(sorted(FINAL), list(Status))))
def test_nothing_replaces_a_final_state(current: Status, new: Status) -> None:
    assert not advances(current, new)


@pytest.mark.parametrize(("current", "new"), list(itertools.product(list(Status), list(Status))))
def test_advances_never_moves_backwards(current: Status, new: Status) -> None:
    if advances(current, new):
        assert rank(new) > rank(current)
        assert current not in FINAL


def test_lifecycle_chain() -> None:
    state = S.QUEUED
    for report in [S.SENDING, S.SENT, S.SENDING, S.DELIVERED, S.SENT, S.FAILED]:
        if advances(state, report):
            state = report
    assert state is S.DELIVERED


def test_summarize_uniform() -> None:
    assert summarize(["sent", "sent", "sent"]) == ("sent", {"sent": 3})
    assert summarize([S.DELIVERED]) == ("delivered", {"delivered": 1})


def test_summarize_mixed() -> None:
    overall, counts = summarize(["sent", "delivered", "sent", "failed"])
    assert overall == "mixed"
    assert counts == {"sent": 2, "delivered": 1, "failed": 1}
    assert sum(counts.values()) == 4


def test_summarize_accepts_any_iterable() -> None:
    assert summarize(s for s in ["queued", "queued"]) == ("queued", {"queued": 2})


def test_summarize_empty() -> None:
    assert summarize([]) == ("empty", {})


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (["delivered", "delivered", "delivered"], S.DELIVERED),
        (["delivered"], S.DELIVERED),
        (["delivered", "failed", "delivered"], S.FAILED),
        (["failed", "expired"], S.FAILED),
        (["sent", "failed"], S.FAILED),
        (["delivered", "expired"], S.EXPIRED),
        (["sent", "expired"], S.EXPIRED),
        (["delivered", "sent"], S.SENT),
        (["sent", "delivered", "delivered"], S.SENT),
        (["sending", "sent", "delivered"], S.SENDING),
        (["queued", "delivered"], S.QUEUED),
        (["sent", "sent"], S.SENT),
        ([], S.SENDING),
    ],
)
def test_combine_parts(parts: list[str], expected: Status) -> None:
    assert combine_parts(parts) is expected
    assert combine_parts(reversed(parts)) is expected


def test_combine_parts_rejects_unknown_status() -> None:
    with pytest.raises(ValueError):
        combine_parts(["delivered", "bogus"])
