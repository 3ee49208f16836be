"""Time-ordered 53-bit integer ids, generated without a database round trip.

Layout: 41 bits of milliseconds since 2024-01-01, 4 bits of node, 8 bits of sequence. Ids stay
below 2**53 so JavaScript clients read them exactly. Several processes on one database get a
distinct ``node`` (allocated from the database at start). The generator never goes back in
time, so ids from one process are strictly increasing; past 256 ids in one millisecond it
borrows the next millisecond, running briefly ahead of the clock under bulk load.
"""

from __future__ import annotations

import secrets
import string
import threading
import time
from collections.abc import Callable

EPOCH_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
NODE_BITS = 4
SEQ_BITS = 8
_SEQ_MASK = (1 << SEQ_BITS) - 1


class IdGenerator:
    def __init__(self, node: int = 0) -> None:
        self.node = node & ((1 << NODE_BITS) - 1)
        self._last_ms = 0
        self._seq = 0
        self._lock = threading.Lock()

    def next_id(self) -> int:
        with self._lock:
            now = int(time.time() * 1000) - EPOCH_MS
            if now > self._last_ms:
                self._last_ms = now
                self._seq = 0
            else:
                self._seq += 1
                if self._seq > _SEQ_MASK:
                    # Sequence exhausted for this millisecond: borrow the next one.
                    self._last_ms += 1
                    self._seq = 0
            return (self._last_ms << (NODE_BITS + SEQ_BITS)) | (self.node << SEQ_BITS) | self._seq

    def take(self, count: int) -> list[int]:
        """``count`` ids at once: the same ids as ``count`` calls of :meth:`next_id` in a
        row would give, for the cost of one."""
        out: list[int] = []
        with self._lock:
            now = int(time.time() * 1000) - EPOCH_MS
            if now > self._last_ms:
                self._last_ms = now
                self._seq = -1
            while count > 0:
                if self._seq >= _SEQ_MASK:
                    self._last_ms += 1
                    self._seq = -1
                n = min(count, _SEQ_MASK - self._seq)
                base = (self._last_ms << (NODE_BITS + SEQ_BITS)) | (self.node << SEQ_BITS)
                out.extend(range(base + self._seq + 1, base + self._seq + 1 + n))
                self._seq += n
                count -= n
        return out

    def reserve(self, count: int) -> Callable[[], int]:
        """A source of ids like :meth:`next_id` that hands out ``count`` ids taken at once
        first (bulk work), then goes on one by one."""
        block = iter(self.take(count))

        def next_id() -> int:
            return next(block, None) or self.next_id()

        return next_id


def id_time_ms(ident: int) -> int:
    """Unix milliseconds at which an id was generated."""
    return (ident >> (NODE_BITS + SEQ_BITS)) + EPOCH_MS


_NANOID_ALPHABET = string.ascii_letters + string.digits + "_-"


def nanoid(size: int = 21) -> str:
    """A random URL-safe id as SMSGate makes them (devices, messages, webhooks)."""
    return "".join(secrets.choice(_NANOID_ALPHABET) for _ in range(size))
