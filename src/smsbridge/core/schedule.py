"""When campaign messages may go out: a throttle (messages per minute) and quiet hours in the
account's time zone. Pure functions over microsecond timestamps."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from smsbridge.core.errors import ValidationFailed

CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_clock(value: str, name: str) -> int:
    """``"21:30"`` -> minutes after midnight."""
    match = CLOCK.match(value.strip())
    if not match:
        raise ValidationFailed(
            f"{name} {value!r} is not a time of day; write it as HH:MM (e.g. 21:00).",
            code="invalid_time_of_day",
        )
    return int(match.group(1)) * 60 + int(match.group(2))


def format_clock(minutes: int | None) -> str | None:
    return None if minutes is None else f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True, slots=True)
class Pacing:
    zone: ZoneInfo
    per_minute: int | None = None  # None: no throttle
    quiet: tuple[int, int] | None = None  # (start, end) minutes after local midnight

    def allowed(self, at: int) -> int:
        """``at`` (µs), or the end of the quiet hours it falls into."""
        if self.quiet is None:
            return at
        start, end = self.quiet
        if start == end:
            return at
        local = datetime.fromtimestamp(at / 1_000_000, self.zone)
        minute = local.hour * 60 + local.minute
        if start < end:
            inside = start <= minute < end
            end_day = local.date()
        else:  # the window spans midnight, e.g. 21:00-08:00
            inside = minute >= start or minute < end
            end_day = local.date() + timedelta(days=1) if minute >= start else local.date()
        if not inside:
            return at
        wake = datetime.combine(end_day, time(end // 60, end % 60), self.zone)
        woken = int(wake.timestamp() * 1_000_000)
        if woken <= at:  # the night clocks go back: the window ends in the repeated hour
            woken = int(wake.replace(fold=1).timestamp() * 1_000_000)
        return woken

    @property
    def interval(self) -> int:
        """Microseconds between two messages (0: no throttle)."""
        return 60_000_000 // self.per_minute if self.per_minute else 0

    def slots(self, clock: int, count: int) -> tuple[list[int], int]:
        """Due times for ``count`` messages from ``clock`` on, and the clock after them."""
        out: list[int] = []
        step = self.interval
        if not step:
            due = self.allowed(clock)
            return [due] * count, due
        for _ in range(count):
            clock = self.allowed(clock)
            out.append(clock)
            clock += step
        return out, clock


def birthday_suffixes(day: date) -> tuple[str, ...]:
    """The ``-MM-DD`` endings of birthdays celebrated on ``day`` (29 February is celebrated on
    28 February in other years)."""
    suffixes = [day.strftime("-%m-%d")]
    if day.month == 2 and day.day == 28:
        try:
            date(day.year, 2, 29)
        except ValueError:
            suffixes.append("-02-29")
    return tuple(suffixes)
