"""Tests for smsbridge.core.numbers: the E.164 policy, error codes and messages, and a
cross-check of the fast path against phonenumbers itself."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneNumberFormat, PhoneNumberType

from smsbridge.core.errors import ValidationFailed
from smsbridge.core.numbers import InvalidNumber, normalize

# ---------------------------------------------------------------------------------------------
# helpers


def outcome(raw: str, region: str | None = None) -> str:
    """The E.164 result, or ``!<code>`` when refused."""
    try:
        return normalize(raw, region)
    except InvalidNumber as exc:
        return f"!{exc.code}"


def phonenumbers_e164(e164_candidate: str) -> str | None:
    """What phonenumbers itself makes of ``+<digits>``: its E.164 form if valid, else None."""
    try:
        number = phonenumbers.parse(e164_candidate, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    result: str = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return result


ALL_TYPES = [
    value
    for name, value in vars(PhoneNumberType).items()
    if name.isupper() and isinstance(value, int) and name != "UNKNOWN"
]


def _example_numbers() -> dict[str, list[str]]:
    """Every example number phonenumbers has, as E.164, by region (every type) and for the
    non-geographic entities (+800, +808, +870, ...)."""
    found: dict[str, list[str]] = {}
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for number_type in ALL_TYPES:
            number = phonenumbers.example_number_for_type(region, number_type)
            if number is not None:
                e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
                found.setdefault(region, []).append(e164)
    for cc in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        number = phonenumbers.example_number_for_non_geo_entity(cc)
        if number is not None:
            found[f"+{cc}"] = [phonenumbers.format_number(number, PhoneNumberFormat.E164)]
    return found


EXAMPLES = _example_numbers()


def _split(e164: str) -> tuple[int, str]:
    number = phonenumbers.parse(e164, None)
    assert number.country_code is not None
    return number.country_code, phonenumbers.national_significant_number(number)


EXAMPLE_NSNS = sorted({_split(e164) for numbers in EXAMPLES.values() for e164 in numbers})
COUNTRY_CODES = sorted(COUNTRY_CODE_TO_REGION_CODE)

# ---------------------------------------------------------------------------------------------
# table

VALID: list[tuple[str, str | None, str]] = [
    # international with + or 00, any separators
    ("+4917612345678", None, "+4917612345678"),
    ("004917612345678", None, "+4917612345678"),
    ("+39-347-1234567", None, "+393471234567"),  # messaggisms style
    ("+39 347 123 4567", None, "+393471234567"),
    ("+49.176.1234.5678", None, "+4917612345678"),
    ("+49/176/12345678", None, "+4917612345678"),
    ("  +49 1761 2345678\t", None, "+4917612345678"),
    ("+1 212 555 0100", None, "+12125550100"),
    ("+1 (212) 555-0100", None, "+12125550100"),
    ("+44 7911 123456", None, "+447911123456"),
    ("+43 650 1234567", None, "+436501234567"),
    ("+33 6 12 34 56 78", None, "+33612345678"),
    ("+7 912 345 67 89", None, "+79123456789"),
    ("+86 138 0013 8000", None, "+8613800138000"),
    ("+800 1234 5678", None, "+80012345678"),  # non-geographic: slow path
    ("00 800 1234 5678", None, "+80012345678"),
    # Italian fixed line keeps its leading zero
    ("+39 06 12345678", None, "+390612345678"),
    ("0039 06 1234 5678", None, "+390612345678"),
    # national with a region
    ("017612345678", "DE", "+4917612345678"),
    ("0176 1234 5678", "DE", "+4917612345678"),
    ("0176-1234-5678", "de", "+4917612345678"),  # region is case-insensitive
    ("07911 123456", "GB", "+447911123456"),
    ("06 12345678", "IT", "+390612345678"),
    # bare digits are international, never national, even with a region set
    ("4917612345678", None, "+4917612345678"),
    ("436501234567", None, "+436501234567"),
    ("4917612345678", "DE", "+4917612345678"),
    ("436501234567", "DE", "+436501234567"),
    ("49 171 2345678", None, "+491712345678"),
    ("12125550100", "DE", "+12125550100"),
    # documented behaviour of the slow path (phonenumbers): the "(0)" trunk prefix is dropped
    ("+49 (0)171 2345678", None, "+491712345678"),
    ("+44 (0) 7911 123456", None, "+447911123456"),
    # ... vanity letters are mapped to digits, an extension is dropped
    ("+1 800 FLOWERS", None, "+18003569377"),
    ("+4917612345678 ext. 5", None, "+4917612345678"),
]

INVALID: list[tuple[str, str | None, str]] = [
    ("", None, "invalid_number"),
    ("   ", None, "invalid_number"),
    ("\t\n", "DE", "invalid_number"),
    ("017612345678", None, "region_required"),
    ("0176 1234 5678", None, "region_required"),
    ("0", None, "region_required"),
    ("+49171999999999", None, "invalid_number"),
    ("+491", None, "invalid_number"),
    ("+49", None, "invalid_number"),
    ("0049", None, "invalid_number"),
    ("+4917612345678901234", None, "invalid_number"),  # too long, fast path
    ("+49176123456780000000000", None, "invalid_number"),  # too long for the fast path
    ("1" * 30, None, "invalid_number"),
    ("9" * 200, None, "invalid_number"),
    ("+9991234567", None, "invalid_country_code"),
    ("+999", None, "invalid_country_code"),
    ("999 123 4567", None, "invalid_country_code"),
    ("+0", None, "invalid_country_code"),
    ("+", None, "invalid_number"),
    ("00", None, "invalid_number"),
    ("abc", None, "invalid_number"),
    ("call me", None, "invalid_number"),
    ("tel:+4917612345678", None, "invalid_number"),
    ("(+49) 176 12345678", None, "invalid_number"),
    ("+49 +176", None, "invalid_number"),
    ("0123", "DE", "invalid_number"),
    ("017612345678", "XX", "invalid_number"),  # unknown region
    ("+10212555010", None, "invalid_number"),
    ("+88212345678", None, "invalid_number"),  # non-geographic, no range matches
]


@pytest.mark.parametrize(("raw", "region", "expected"), VALID)
def test_normalize_valid(raw: str, region: str | None, expected: str) -> None:
    assert normalize(raw, region) == expected


@pytest.mark.parametrize(("raw", "region", "code"), INVALID)
def test_normalize_invalid(raw: str, region: str | None, code: str) -> None:
    with pytest.raises(InvalidNumber) as info:
        normalize(raw, region)
    exc = info.value
    assert exc.code == code
    assert isinstance(exc, ValidationFailed)
    assert exc.status_code == 422
    assert exc.message == str(exc)
    assert exc.message.endswith(".")
    if raw.strip():
        # the message quotes what was given (compacted when it took the slow path)
        compact = raw.strip().replace(" ", "")
        assert raw.strip() in exc.message or compact in exc.message


def test_table_is_big_enough() -> None:
    assert len(VALID) + len(INVALID) >= 30


def test_invalid_reason_names_the_country() -> None:
    with pytest.raises(InvalidNumber) as info:
        normalize("+49171999999999")
    assert "+49" in info.value.message
    assert "(DE)" in info.value.message
    assert "e.g. +4917612345678" in info.value.message


@pytest.mark.parametrize(
    ("raw", "why"),
    [("+491", "too short"), ("+4917612345678901234", "too long"), ("+49171999999999", "range")],
)
def test_invalid_reason_says_why(raw: str, why: str) -> None:
    with pytest.raises(InvalidNumber) as info:
        normalize(raw)
    assert why in info.value.message


def test_region_required_message_is_actionable() -> None:
    with pytest.raises(InvalidNumber) as info:
        normalize("017612345678")
    assert "SMSBRIDGE_DEFAULT_REGION" in info.value.message
    assert "country code" in info.value.message


def test_invalid_country_code_message() -> None:
    with pytest.raises(InvalidNumber) as info:
        normalize("+9991234567")
    assert "+<country code><number>" in info.value.message


def test_normalize_is_idempotent_on_table() -> None:
    for _raw, _region, expected in VALID:
        assert normalize(expected) == expected
        assert normalize(expected, "US") == expected


# ---------------------------------------------------------------------------------------------
# realistic numbers: every example number of every region and type


@pytest.mark.parametrize("region", sorted(EXAMPLES))
def test_example_numbers_all_spellings(region: str) -> None:
    for e164 in EXAMPLES[region]:
        digits = e164[1:]
        assert normalize(e164) == e164
        assert normalize("00" + digits) == e164
        assert normalize(digits) == e164
        assert normalize(" 00 " + digits + " ", "DE") == e164


def test_example_numbers_cover_the_world() -> None:
    assert len(EXAMPLES) >= len(phonenumbers.SUPPORTED_REGIONS)
    assert sum(len(numbers) for numbers in EXAMPLES.values()) > 1000
    assert {cc for cc, _ in EXAMPLE_NSNS} == set(COUNTRY_CODES)


# ---------------------------------------------------------------------------------------------
# property: the fast path against phonenumbers

digits = st.text(alphabet="0123456789", min_size=4, max_size=14)


@st.composite
def near_examples(draw: st.DrawFn) -> tuple[int, str]:
    """A real national number with its tail randomised (often still valid)."""
    cc, nsn = draw(st.sampled_from(EXAMPLE_NSNS))
    keep = len(nsn) - draw(st.one_of(st.integers(0, 3), st.integers(0, len(nsn))))
    length = max(4, min(14, len(nsn) + draw(st.sampled_from([0, 0, 0, -1, 1]))))
    tail = draw(st.text(alphabet="0123456789", min_size=0, max_size=14))
    nsn = (nsn[:keep] + tail + "0" * 14)[:length]
    if draw(st.integers(0, 3)) == 0 and len(nsn) < 14:
        nsn = "0" + nsn  # a leading zero, e.g. a trunk prefix written after the country code
    return cc, nsn


cc_and_nsn = st.one_of(st.tuples(st.sampled_from(COUNTRY_CODES), digits), near_examples())


@settings(max_examples=500, deadline=None)
@example(cc=49, nsn="01712345678")
@example(cc=1, nsn="18149488194")
@given(cc=st.sampled_from(COUNTRY_CODES), nsn=digits)
def test_fast_path_matches_phonenumbers(cc: int, nsn: str) -> None:
    raw = f"+{cc}{nsn}"
    expected = phonenumbers_e164(raw)
    got = outcome(raw)
    if expected is None:
        assert got == "!invalid_number"
    else:
        assert got == expected


# ---------------------------------------------------------------------------------------------
# regressions


@pytest.mark.parametrize(
    "raw", ["+012125550100", "+079123456789", "0001 212 555 0100", "00049 176 12345678"]
)
def test_country_code_cannot_start_with_zero(raw: str) -> None:
    assert outcome(raw) == "!invalid_country_code"


@pytest.mark.parametrize(
    "raw",
    [
        "+4917\uff1612345678",  # fullwidth 6
        "4917\u066612345678",  # Arabic-Indic 6
        "+49 176 1234 567\u0668",  # Arabic-Indic 8
    ],
)
def test_non_ascii_digits_never_leak_into_e164(raw: str) -> None:
    got = outcome(raw)
    assert got.startswith("!") or (got.isascii() and got[1:].isdigit())


@pytest.mark.parametrize(
    ("a", "b"),
    [("+49 (0)171 2345678", "+49 0171 2345678"), ("+44 (0) 7911 123456", "+44 07911 123456")],
)
def test_fast_and_slow_path_agree(a: str, b: str) -> None:
    assert outcome(a) == outcome(b)
