"""Parsing of path and query parameters shared by the routes."""

from __future__ import annotations


def parse_id(raw: str) -> int | None:
    """A database id from a path or cursor: ASCII digits that fit in 63 bits, else None."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or int(raw) >= 2**63:
        return None
    return int(raw)
