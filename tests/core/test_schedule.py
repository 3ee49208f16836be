"""Tests for smsbridge.core.schedule: clock parsing, quiet hours, throttle slots, birthdays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from smsbridge.core.errors import ValidationFailed
from smsbridge.core.schedule import Pacing, birthday_suffixes, format_clock, parse_clock

BERLIN = ZoneInfo("Europe/Berlin")
US = 1_000_000
MINUTE = 60 * US
HOUR = 60 * MINUTE
NOON_TO_TWO = (12 * 60, 14 * 60)
NIGHT = (21 * 60, 8 * 60)  # spans midnight


def us(moment: datetime) -> int:
    """A timezone-aware datetime as microseconds since the epoch (exact)."""
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * US + delta.microseconds


def berlin(
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    micro: int = 0,
    *,
    fold: int = 0,
) -> int:
    return us(datetime(year, month, day, hour, minute, second, micro, BERLIN, fold=fold))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    return us(datetime(year, month, day, hour, minute, second, tzinfo=UTC))


def local(at: int) -> datetime:
    return datetime.fromtimestamp(at / US, BERLIN)


# parse_clock / format_clock --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("00:00", 0),
        ("0:00", 0),
        ("07:00", 420),
        ("9:05", 545),
        ("12:30", 750),
        ("21:30", 1290),
        ("23:59", 1439),
        (" 21:00 ", 1260),
        ("08:00\n", 480),
    ],
)
def test_parse_clock_valid(text: str, minutes: int) -> None:
    assert parse_clock(text, "quiet hours start") == minutes


@pytest.mark.parametrize(
    "text",
    ["", " ", "24:00", "25:00", "12:60", "7:5", "12", "12:", ":30", "1200", "12-00", "12:00:00",
     "-1:00", "noon", "12:3a", "123:00", "12 :00", "9.30"],
)  # fmt: skip
def test_parse_clock_invalid(text: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_clock(text, "quiet hours end")
    assert caught.value.code == "invalid_time_of_day"
    assert caught.value.status_code == 422
    assert "quiet hours end" in caught.value.message
    assert "HH:MM" in caught.value.message


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(None, None), (0, "00:00"), (5, "00:05"), (420, "07:00"), (1290, "21:30"), (1439, "23:59")],
)
def test_format_clock(minutes: int | None, text: str | None) -> None:
    assert format_clock(minutes) == text


def test_clock_round_trip() -> None:
    for minutes in range(24 * 60):
        text = format_clock(minutes)
        assert text is not None
        assert parse_clock(text, "t") == minutes


# Pacing.allowed -------------------------------------------------------------------------------


def test_no_quiet_hours_or_empty_window_allows_everything() -> None:
    at = berlin(2024, 6, 15, 3, 0)
    assert Pacing(BERLIN).allowed(at) == at
    assert Pacing(BERLIN, quiet=(600, 600)).allowed(at) == at
    assert Pacing(BERLIN, quiet=(180, 180)).allowed(at) == at


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ((2024, 6, 15, 0, 0), None),
        ((2024, 6, 15, 11, 59, 59, 999_999), None),  # just before the start
        ((2024, 6, 15, 12, 0), (2024, 6, 15, 14, 0)),  # at the start
        ((2024, 6, 15, 12, 0, 0, 1), (2024, 6, 15, 14, 0)),
        ((2024, 6, 15, 13, 0), (2024, 6, 15, 14, 0)),
        ((2024, 6, 15, 13, 59, 59, 999_999), (2024, 6, 15, 14, 0)),  # just before the end
        ((2024, 6, 15, 14, 0), None),  # at the end: allowed
        ((2024, 6, 15, 14, 0, 0, 1), None),
        ((2024, 6, 15, 23, 59, 59), None),
    ],
)
def test_window_within_a_day(moment: tuple[int, ...], expected: tuple[int, ...] | None) -> None:
    pacing = Pacing(BERLIN, quiet=NOON_TO_TWO)
    at = berlin(*moment)
    assert pacing.allowed(at) == (at if expected is None else berlin(*expected))


def test_window_within_a_day_is_local_time_not_utc() -> None:
    pacing = Pacing(BERLIN, quiet=NOON_TO_TWO)
    # 12:30 UTC is 14:30 in Berlin in summer: allowed; 10:30 UTC is 12:30 there: quiet.
    assert pacing.allowed(utc(2024, 6, 15, 12, 30)) == utc(2024, 6, 15, 12, 30)
    assert pacing.allowed(utc(2024, 6, 15, 10, 30)) == utc(2024, 6, 15, 12, 0)
    # In winter Berlin is UTC+1.
    assert pacing.allowed(utc(2024, 1, 15, 11, 30)) == utc(2024, 1, 15, 13, 0)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ((2024, 6, 15, 8, 0), None),  # at the end: allowed
        ((2024, 6, 15, 12, 0), None),
        ((2024, 6, 15, 20, 59, 59, 999_999), None),  # just before the start
        ((2024, 6, 15, 21, 0), (2024, 6, 16, 8, 0)),  # at the start: the next morning
        ((2024, 6, 15, 22, 30), (2024, 6, 16, 8, 0)),
        ((2024, 6, 15, 23, 59, 59, 999_999), (2024, 6, 16, 8, 0)),
        ((2024, 6, 16, 0, 0), (2024, 6, 16, 8, 0)),  # after midnight: this morning
        ((2024, 6, 16, 3, 0), (2024, 6, 16, 8, 0)),
        ((2024, 6, 16, 7, 59, 59, 999_999), (2024, 6, 16, 8, 0)),  # just before the end
        ((2024, 6, 16, 8, 0, 0, 1), None),
        # the end of a month and of a year
        ((2024, 6, 30, 23, 0), (2024, 7, 1, 8, 0)),
        ((2024, 12, 31, 21, 0), (2025, 1, 1, 8, 0)),
        ((2024, 2, 28, 22, 0), (2024, 2, 29, 8, 0)),
    ],
)
def test_window_spanning_midnight(
    moment: tuple[int, ...], expected: tuple[int, ...] | None
) -> None:
    pacing = Pacing(BERLIN, quiet=NIGHT)
    at = berlin(*moment)
    assert pacing.allowed(at) == (at if expected is None else berlin(*expected))


def test_spring_forward_night() -> None:
    """31 March 2024: Berlin clocks jump from 02:00 CET to 03:00 CEST."""
    pacing = Pacing(BERLIN, quiet=NIGHT)
    wake = utc(2024, 3, 31, 6, 0)  # 08:00 CEST
    assert berlin(2024, 3, 31, 8, 0) == wake
    # 21:00 CET the evening before (20:00 UTC): ten hours of real time until 08:00 CEST.
    start = berlin(2024, 3, 30, 21, 0)
    assert start == utc(2024, 3, 30, 20, 0)
    assert pacing.allowed(start) == wake
    assert wake - start == 10 * HOUR
    assert pacing.allowed(start - 1) == start - 1
    # Around the jump: 01:59:59 CET and 03:00 CEST are one second apart.
    assert pacing.allowed(utc(2024, 3, 31, 0, 59, 59)) == wake
    assert pacing.allowed(utc(2024, 3, 31, 1, 0)) == wake
    assert pacing.allowed(utc(2024, 3, 31, 5, 59, 59)) == wake
    assert pacing.allowed(wake) == wake
    # The next evening is in summer time.
    assert pacing.allowed(berlin(2024, 3, 31, 21, 0)) == utc(2024, 4, 1, 6, 0)
    # A window during the day is unaffected by the jump in the night.
    day = Pacing(BERLIN, quiet=NOON_TO_TWO)
    assert day.allowed(utc(2024, 3, 31, 10, 0)) == utc(2024, 3, 31, 12, 0)  # 12:00 CEST
    assert day.allowed(utc(2024, 3, 31, 9, 59)) == utc(2024, 3, 31, 9, 59)


def test_fall_back_night() -> None:
    """27 October 2024: Berlin clocks go back from 03:00 CEST to 02:00 CET."""
    pacing = Pacing(BERLIN, quiet=NIGHT)
    wake = utc(2024, 10, 27, 7, 0)  # 08:00 CET
    start = berlin(2024, 10, 26, 21, 0)  # 21:00 CEST
    assert start == utc(2024, 10, 26, 19, 0)
    assert pacing.allowed(start) == wake
    assert wake - start == 12 * HOUR
    # Both passes through 02:30 wait for 08:00 CET.
    assert pacing.allowed(berlin(2024, 10, 27, 2, 30, fold=0)) == wake
    assert pacing.allowed(berlin(2024, 10, 27, 2, 30, fold=1)) == wake
    assert pacing.allowed(wake - 1) == wake
    assert pacing.allowed(wake) == wake


def test_window_inside_the_repeated_hour_never_wakes_in_the_past() -> None:
    """On 27 October 2024 Berlin lives through 02:00-03:00 twice (CEST, then CET). A moment in
    the second pass through a quiet window that ends at 02:30 must wait for 02:30 CET, not be
    sent at once because 02:30 CEST is already over."""
    for quiet in ((60, 150), (21 * 60, 150)):  # 01:00-02:30 and 21:00-02:30
        pacing = Pacing(BERLIN, quiet=quiet)
        first = berlin(2024, 10, 27, 2, 15, fold=0)  # 00:15 UTC
        assert pacing.allowed(first) == utc(2024, 10, 27, 0, 30)  # 02:30 CEST
        second = berlin(2024, 10, 27, 2, 15, fold=1)  # 01:15 UTC
        assert second == utc(2024, 10, 27, 1, 15)
        woken = pacing.allowed(second)
        assert woken >= second, f"{quiet}: allowed() went back to {local(woken)}"
        assert woken == utc(2024, 10, 27, 1, 30)  # 02:30 CET


def test_window_ending_in_the_skipped_hour_wakes_after_the_jump() -> None:
    """01:00-02:30 on 31 March 2024: 02:30 never happens in Berlin; the result is after the
    jump and is itself allowed."""
    pacing = Pacing(BERLIN, quiet=(60, 150))
    at = utc(2024, 3, 31, 0, 30)  # 01:30 CET, inside
    woken = pacing.allowed(at)
    assert woken >= utc(2024, 3, 31, 1, 0)  # 03:00 CEST
    assert woken > at
    assert pacing.allowed(woken) == woken


def test_allowed_result_is_never_earlier_and_is_itself_allowed() -> None:
    """Every minute of two DST-change weeks, for a few windows."""
    windows = [NOON_TO_TWO, NIGHT, (0, 60), (23 * 60, 60), (2 * 60, 3 * 60), (150, 4 * 60)]
    for first_day in (datetime(2024, 3, 28, tzinfo=UTC), datetime(2024, 10, 24, tzinfo=UTC)):
        for quiet in windows:
            pacing = Pacing(BERLIN, quiet=quiet)
            for minute in range(0, 6 * 24 * 60, 7):
                at = us(first_day + timedelta(minutes=minute))
                woken = pacing.allowed(at)
                assert woken >= at, (quiet, local(at), local(woken))
                assert pacing.allowed(woken) == woken, (quiet, local(at), local(woken))


# Pacing.slots ---------------------------------------------------------------------------------


def test_slots_without_throttle_all_at_once() -> None:
    pacing = Pacing(BERLIN)
    at = berlin(2024, 6, 15, 10, 0)
    assert pacing.interval == 0
    assert pacing.slots(at, 3) == ([at, at, at], at)
    assert pacing.slots(at, 0) == ([], at)


def test_slots_without_throttle_in_quiet_hours_all_at_the_end() -> None:
    pacing = Pacing(BERLIN, quiet=NIGHT)
    at = berlin(2024, 6, 15, 23, 0)
    wake = berlin(2024, 6, 16, 8, 0)
    assert pacing.slots(at, 4) == ([wake] * 4, wake)


@pytest.mark.parametrize(("per_minute", "interval"), [(1, 60 * US), (6, 10 * US), (600, US // 10),
                                                      (7, 60 * US // 7)])  # fmt: skip
def test_slots_with_throttle_are_spaced(per_minute: int, interval: int) -> None:
    pacing = Pacing(BERLIN, per_minute=per_minute)
    at = berlin(2024, 6, 15, 10, 0)
    assert pacing.interval == interval
    dues, clock = pacing.slots(at, 5)
    assert dues == [at + i * interval for i in range(5)]
    assert clock == at + 5 * interval  # where the next chunk goes on
    more, after = pacing.slots(clock, 2)
    assert more == [clock, clock + interval]
    assert after == clock + 2 * interval


def test_slots_with_throttle_skip_the_quiet_window() -> None:
    pacing = Pacing(BERLIN, per_minute=1, quiet=NOON_TO_TWO)
    at = berlin(2024, 6, 15, 11, 58)
    dues, clock = pacing.slots(at, 5)
    assert dues == [
        berlin(2024, 6, 15, 11, 58),
        berlin(2024, 6, 15, 11, 59),
        berlin(2024, 6, 15, 14, 0),  # 12:00 falls in the window
        berlin(2024, 6, 15, 14, 1),
        berlin(2024, 6, 15, 14, 2),
    ]
    assert clock == berlin(2024, 6, 15, 14, 3)


def test_slots_with_throttle_starting_inside_a_midnight_window() -> None:
    pacing = Pacing(BERLIN, per_minute=2, quiet=NIGHT)
    dues, clock = pacing.slots(berlin(2024, 6, 15, 20, 59), 4)
    assert dues == [
        berlin(2024, 6, 15, 20, 59),
        berlin(2024, 6, 15, 20, 59, 30),
        berlin(2024, 6, 16, 8, 0),
        berlin(2024, 6, 16, 8, 0, 30),
    ]
    assert clock == berlin(2024, 6, 16, 8, 1)


def test_slots_with_throttle_across_the_spring_forward_night() -> None:
    pacing = Pacing(BERLIN, per_minute=60, quiet=NIGHT)
    dues, clock = pacing.slots(berlin(2024, 3, 30, 20, 59, 58), 4)
    assert dues == [
        berlin(2024, 3, 30, 20, 59, 58),
        berlin(2024, 3, 30, 20, 59, 59),
        utc(2024, 3, 31, 6, 0),  # 08:00 CEST
        utc(2024, 3, 31, 6, 0, 1),
    ]
    assert clock == utc(2024, 3, 31, 6, 0, 2)


def test_slots_with_throttle_never_go_back_in_time() -> None:
    pacing = Pacing(BERLIN, per_minute=60, quiet=(60, 150))
    at = berlin(2024, 10, 27, 2, 15, fold=1)  # second pass, inside the window
    dues, clock = pacing.slots(at, 3)
    assert all(d >= at for d in dues), [str(local(d)) for d in dues]
    assert dues == sorted(dues)
    assert clock > dues[-1]


# birthday_suffixes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "suffixes"),
    [
        (date(2025, 6, 15), ("-06-15",)),
        (date(2024, 1, 1), ("-01-01",)),
        (date(2024, 12, 31), ("-12-31",)),
        (date(2025, 3, 1), ("-03-01",)),
        (date(2025, 2, 27), ("-02-27",)),
        (date(2025, 2, 28), ("-02-28", "-02-29")),  # not a leap year
        (date(2100, 2, 28), ("-02-28", "-02-29")),  # divisible by 100: not a leap year
        (date(2024, 2, 28), ("-02-28",)),  # leap year: 29 February comes tomorrow
        (date(2000, 2, 28), ("-02-28",)),  # divisible by 400: a leap year
        (date(2024, 2, 29), ("-02-29",)),
        (date(2024, 3, 1), ("-03-01",)),
    ],
)
def test_birthday_suffixes(day: date, suffixes: tuple[str, ...]) -> None:
    assert birthday_suffixes(day) == suffixes


def test_every_birthday_is_celebrated_once_a_year() -> None:
    """Over a leap and a non-leap year, every possible MM-DD comes up exactly once per year."""
    for year in (2024, 2025):
        seen: list[str] = []
        day = date(year, 1, 1)
        while day.year == year:
            seen.extend(birthday_suffixes(day))
            day += timedelta(days=1)
        assert len(seen) == len(set(seen)) == 366
