"""When to try a failed send again."""

from __future__ import annotations

import random


def backoff_seconds(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with full jitter in [50 %, 100 %] of the step."""
    step: float = min(cap, base * 2.0 ** max(0, attempt - 1))
    return step * (0.5 + rng.random() / 2)
