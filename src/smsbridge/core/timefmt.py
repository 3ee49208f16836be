"""Times as the APIs show them: ISO 8601 in UTC with milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache


def iso(us: int | None) -> str | None:
    """Unix microseconds as ``2026-11-22T08:00:00.123Z`` (None stays None)."""
    if us is None:
        return None
    return iso_of(us)


@lru_cache(maxsize=4096)
def iso_of(us: int) -> str:
    """:func:`iso` of a time that is there (hot paths: one call less)."""
    dt = datetime.fromtimestamp(us / 1_000_000, UTC)
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")
