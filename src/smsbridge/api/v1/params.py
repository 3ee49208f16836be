"""Parsing of path and query parameters shared by the routes, and their JSON replies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from starlette.responses import Response

from smsbridge.core.errors import ValidationFailed


def parse_id(raw: str) -> int | None:
    """A database id from a path or cursor: ASCII digits that fit in 63 bits, else None."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or int(raw) >= 2**63:
        return None
    return int(raw)


def parse_cursor(raw: str | None) -> int | None:
    """The id a `cursor` query parameter continues from (None: the first page)."""
    if raw is None:
        return None
    value = parse_id(raw)
    if value is None:
        raise ValidationFailed(
            "Invalid cursor; pass `next_cursor` from the previous page.", code="invalid_cursor"
        )
    return value


def time_us(value: datetime | None) -> int | None:
    """A query parameter's time as unix microseconds; it must name its time zone."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValidationFailed(
            "Dates need a time zone, e.g. 2026-05-01T00:00:00Z.", code="invalid_date"
        )
    return int(value.timestamp() * 1_000_000)


def json_response(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")
