"""The message vocabulary: recipient statuses, their order, and how they summarise."""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum, StrEnum


class Status(StrEnum):
    """Lifecycle of one recipient of a message (one SMS, possibly in several parts)."""

    DRAFT = "draft"  # collecting recipients; neither priced nor queued until closed
    QUEUED = "queued"  # accepted, due now, waiting for the dispatcher
    SCHEDULED = "scheduled"  # accepted, due at send_at
    SENDING = "sending"  # claimed by a dispatcher, handed to a connector
    SENT = "sent"  # the channel accepted it
    DELIVERED = "delivered"  # the handset received it (delivery report)
    FAILED = "failed"  # the channel or the carrier gave up
    EXPIRED = "expired"  # ttl passed before it could be delivered
    CANCELLED = "cancelled"  # cancelled by the sender before it left
    REJECTED = "rejected"  # refused at acceptance (invalid number, opt-out, ...)


PENDING = frozenset({Status.DRAFT, Status.QUEUED, Status.SCHEDULED})
FINAL = frozenset(
    {Status.DELIVERED, Status.FAILED, Status.EXPIRED, Status.CANCELLED, Status.REJECTED}
)


class _Rank(IntEnum):
    pending = 0
    sending = 1
    sent = 2
    final = 3


def rank(status: Status) -> int:
    """Progress of a status; reports never move a recipient backwards."""
    if status in FINAL:
        return _Rank.final
    if status is Status.SENT:
        return _Rank.sent
    if status is Status.SENDING:
        return _Rank.sending
    return _Rank.pending


def advances(current: Status, new: Status) -> bool:
    """Whether a report of ``new`` may replace ``current`` (a late ``sent`` never
    overwrites ``delivered``; a final state is never replaced)."""
    if current in FINAL:
        return False
    return rank(new) > rank(current) or (new in FINAL and current not in FINAL)


class Priority(IntEnum):
    NORMAL = 0
    HIGH = 1


def summarize(statuses: Iterable[str]) -> tuple[str, dict[str, int]]:
    """Overall status of a message and the count per recipient status.

    The overall status is the recipients' common status, or ``mixed`` when they differ.
    """
    counts: dict[str, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    if len(counts) == 1:
        return next(iter(counts)), counts
    return ("mixed" if counts else "empty"), counts


def combine_parts(part_statuses: Iterable[str]) -> Status:
    """Recipient status from its parts' statuses: failed if any failed, expired if any expired,
    delivered when all are delivered, else the least advanced."""
    statuses = [Status(s) for s in part_statuses]
    if not statuses:
        return Status.SENDING
    if Status.FAILED in statuses:
        return Status.FAILED
    if Status.EXPIRED in statuses:
        return Status.EXPIRED
    if all(s is Status.DELIVERED for s in statuses):
        return Status.DELIVERED
    return min(statuses, key=rank)
