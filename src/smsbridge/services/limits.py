"""Requests per second per API key: a token bucket per key, in this process."""

from __future__ import annotations

import math
import time

from smsbridge.core.errors import TooManyRequests
from smsbridge.services.caller import Caller


class RateLimiter:
    def __init__(self, default_rate: int = 0) -> None:
        self.default_rate = default_rate
        self._buckets: dict[int, tuple[float, float]] = {}  # key id -> (tokens, last time)

    def check(self, caller: Caller) -> None:
        """Take one token for the caller's key or refuse with 429 and when to retry."""
        rate = caller.rate_limit if caller.rate_limit is not None else self.default_rate
        if rate <= 0 or caller.key_id is None:
            return
        now = time.monotonic()
        tokens, last = self._buckets.get(caller.key_id, (float(rate), now))
        tokens = min(float(rate), tokens + (now - last) * rate)
        if tokens < 1:
            wait = (1 - tokens) / rate
            self._buckets[caller.key_id] = (tokens, now)
            raise TooManyRequests(
                f"Too many requests: this key may make {rate} per second. Retry after "
                f"{wait:.2f} s, or ask for a higher limit.",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
                details={"limit_per_second": rate, "retry_after": round(wait, 3)},
            )
        self._buckets[caller.key_id] = (tokens - 1, now)
        if len(self._buckets) > 100_000:
            self._buckets.clear()
