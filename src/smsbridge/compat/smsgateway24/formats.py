"""SmsGateway24's wire formats: PHP ``DateTime`` objects, its date inputs, time zones."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from smsbridge.core.errors import ValidationFailed

_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])?(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)
_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
)


@dataclass(frozen=True, slots=True)
class Zone:
    """A time zone as PHP shows it: a fixed offset (``timezone_type`` 1) or a name (3)."""

    tz: tzinfo
    name: str | None = None  # IANA name; None: a fixed offset

    def php(self, us: int | None) -> dict[str, Any] | None:
        """Unix microseconds as PHP's JSON of a ``DateTime``."""
        if us is None:
            return None
        local = datetime.fromtimestamp(us / 1_000_000, self.tz)
        if self.name is not None:
            return {"date": _php_date(local), "timezone_type": 3, "timezone": self.name}
        return {"date": _php_date(local), "timezone_type": 1, "timezone": offset_text(local)}

    def human(self, us: int | None) -> str | None:
        """``28.03.2020 20:10:29``, as getalldevices shows times."""
        if us is None:
            return None
        return datetime.fromtimestamp(us / 1_000_000, self.tz).strftime("%d.%m.%Y %H:%M:%S")


UTC_ZONE = Zone(UTC)


def _php_date(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond:06d}"


def offset_text(value: datetime) -> str:
    delta = value.utcoffset() or timedelta(0)
    minutes = int(delta.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def zone(value: str | None, default: str = "UTC") -> Zone:
    """A ``timezone`` parameter: an IANA name (``Australia/Sydney``), an offset (``+02:00``,
    ``2``, ``-0530``) or absent (``default``, a name; UTC is shown as ``+00:00``)."""
    text = (value or "").strip() or default
    if text.upper() in ("UTC", "Z", "GMT", "+00:00", "0"):
        return UTC_ZONE
    match = _OFFSET.match(text)
    if match is not None:
        sign, hours, minutes = match.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
        if delta > timedelta(hours=14):
            raise _bad_zone(text)
        return Zone(timezone(-delta if sign == "-" else delta))
    try:
        return Zone(ZoneInfo(text), text)
    except (ZoneInfoNotFoundError, ValueError):
        raise _bad_zone(text) from None


def _bad_zone(text: str) -> ValidationFailed:
    return ValidationFailed(
        f"Unknown time zone {text!r}; give a name such as Europe/Berlin or an offset such as "
        "+02:00.",
        code="invalid_timezone",
    )


def parse_time(value: str, tz: tzinfo, name: str) -> datetime:
    """``YYYY-MM-DD[ HH:MM:SS]`` (or ``DD.MM.YYYY H:i:s``) in ``tz``, or unix seconds."""
    text = value.strip()
    if re.fullmatch(r"\d{9,11}", text):
        return datetime.fromtimestamp(int(text), UTC)
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return parsed.replace(tzinfo=tz)
    raise ValidationFailed(
        f"`{name}` {value!r} is not a date: write YYYY-MM-DD or YYYY-MM-DD HH:MM:SS.",
        code="invalid_date",
    )


def end_of(value: str, tz: tzinfo, name: str) -> datetime:
    """The end of an ``enddate``: a whole day when only the date is given, else the second."""
    start = parse_time(value, tz, name)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}|\d{2}\.\d{2}\.\d{4}", value.strip()):
        return start + timedelta(days=1)
    return start + timedelta(seconds=1)


def int_or_text(value: str | None) -> int | str | None:
    """A customer id as given: a number when it is one (as the API stores them)."""
    if value is None:
        return None
    return int(value) if re.fullmatch(r"-?\d{1,18}", value) else value
