"""Phone numbers to E.164.

Policy (the providers' convention, see DESIGN.md):
- ``+`` or ``00`` starts an international number;
- a single leading ``0`` is a national number in the account's region;
- bare digits (no ``+``, no leading ``0``) are international: ``4917...`` is +49 17...;
- a number that phonenumbers judges invalid is refused with the reason; nothing is guessed.

The common case (international digits) takes a fast path that checks the national significant
number against phonenumbers' own per-type patterns; whatever it does not accept goes through
``phonenumbers.parse``, so the verdicts are phonenumbers' own (tests cross-check them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache

import phonenumbers
from phonenumbers import PhoneMetadata
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE, ValidationResult

from smsbridge.core.errors import ValidationFailed

_SEPARATORS = re.compile(r"[\s\-./]")
_DIGITS = re.compile(r"[0-9]{1,17}")


class InvalidNumber(ValidationFailed):
    """A recipient number that cannot be sent to. ``code`` says why."""

    default_code = "invalid_number"


@dataclass(frozen=True, slots=True)
class _RegionPatterns:
    general: re.Pattern[str]
    types: tuple[tuple[frozenset[int], re.Pattern[str]], ...]

    def valid(self, nsn: str) -> bool:
        if self.general.fullmatch(nsn) is None:
            return False
        n = len(nsn)
        for lengths, pattern in self.types:
            if (not lengths or n in lengths) and pattern.fullmatch(nsn) is not None:
                return True
        return False


# Mobile first: almost every SMS goes to a mobile number, so the common case needs one match.
_TYPE_FIELDS = (
    "mobile",
    "fixed_line",
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
)


@lru_cache(maxsize=512)
def _patterns(region: str) -> _RegionPatterns | None:
    meta = PhoneMetadata.metadata_for_region(region, None)
    if meta is None or meta.general_desc is None:
        return None
    types = []
    for field in _TYPE_FIELDS:
        desc = getattr(meta, field, None)
        if desc is None or desc.national_number_pattern is None:
            continue
        lengths = frozenset(desc.possible_length or meta.general_desc.possible_length or ())
        if lengths == frozenset({-1}):
            continue
        types.append((lengths, re.compile(desc.national_number_pattern)))
    general = re.compile(meta.general_desc.national_number_pattern or r"\d+")
    return _RegionPatterns(general, tuple(types))


def _split_country_code(digits: str) -> tuple[int, str] | None:
    for size in (1, 2, 3):
        cc = int(digits[:size])
        if cc in COUNTRY_CODE_TO_REGION_CODE:
            return cc, digits[size:]
    return None


def _fast_valid(cc: int, nsn: str) -> bool:
    return any(patterns.valid(nsn) for patterns in _cc_patterns(str(cc)))


def _reason(number: phonenumbers.PhoneNumber, raw: str) -> InvalidNumber:
    result = phonenumbers.is_possible_number_with_reason(number)
    cc = number.country_code or 0
    regions = ", ".join(COUNTRY_CODE_TO_REGION_CODE.get(cc, ())) or "unknown"
    if result == ValidationResult.TOO_SHORT:
        why = "it is too short"
    elif result == ValidationResult.TOO_LONG:
        why = "it is too long"
    elif result == ValidationResult.INVALID_COUNTRY_CODE:
        return InvalidNumber(
            f"{raw!r} has no valid country code; write it as +<country code><number>.",
            code="invalid_country_code",
        )
    else:
        why = "no number range of that country matches it"
    return InvalidNumber(
        f"{raw!r} is not a valid phone number for +{cc} ({regions}): {why}. "
        "Check the digits, or write it in international form, e.g. +4917612345678."
    )


def normalize(raw: str, default_region: str | None = None) -> str:
    """Return the E.164 form of ``raw`` or raise :class:`InvalidNumber` saying why."""
    # Fast path for numbers already in E.164 form, the bulk of all traffic.
    if raw[:1] == "+" and raw.isascii() and raw[1:].isdigit():
        for size in (1, 2, 3):
            cc = raw[1 : 1 + size]
            if cc in _COUNTRY_CODES:
                nsn = raw[1 + size :]
                for patterns in _cc_patterns(cc):
                    if patterns.valid(nsn):
                        return raw
                break
    return _normalize_cached(raw, default_region)


_COUNTRY_CODES = frozenset(str(cc) for cc in COUNTRY_CODE_TO_REGION_CODE)


@cache
def _cc_patterns(cc: str) -> tuple[_RegionPatterns, ...]:
    found = (_patterns(region) for region in COUNTRY_CODE_TO_REGION_CODE[int(cc)])
    return tuple(p for p in found if p is not None)


@lru_cache(maxsize=65536)
def _normalize_cached(raw: str, default_region: str | None) -> str:
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        raise InvalidNumber("Empty recipient number; give a number such as +4917612345678.")
    compact = _SEPARATORS.sub("", text)
    if compact.startswith("+"):
        digits = compact[1:]
    elif compact.startswith("00"):
        digits = compact[2:]
    elif compact.startswith("0"):
        return _national(text, compact, default_region)
    else:
        digits = compact
    if not _DIGITS.fullmatch(digits):
        # Punctuation such as "(0)", letters or non-ASCII digits: phonenumbers knows them.
        return _slow_international(text, raw)
    split = None if digits.startswith("0") else _split_country_code(digits)
    if split is None:
        raise InvalidNumber(
            f"{raw!r} does not start with a known country code; "
            "write it as +<country code><number>, e.g. +4917612345678.",
            code="invalid_country_code",
        )
    cc, nsn = split
    if _fast_valid(cc, nsn):
        return f"+{cc}{nsn}"
    # Not valid as written; phonenumbers may still accept it after removing a national
    # prefix written after the country code (+49 0171...), and otherwise says why not.
    return _slow_international("+" + digits, raw)


def _slow_international(text: str, raw: str) -> str:
    candidate = text if text.startswith("+") else "+" + text.lstrip("0")
    try:
        number = phonenumbers.parse(candidate, None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber(
            f"{raw!r} is not a phone number ({exc._msg}); use digits, e.g. +4917612345678."
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise _reason(number, raw)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _national(text: str, compact: str, default_region: str | None) -> str:
    if not default_region:
        raise InvalidNumber(
            f"{text!r} is a national number but no default region is set; write it with its "
            "country code (+49...) or set the account's default region (SMSBRIDGE_DEFAULT_REGION).",
            code="region_required",
        )
    try:
        number = phonenumbers.parse(compact, default_region.upper())
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber(f"{text!r} is not a phone number ({exc._msg}).") from None
    if not phonenumbers.is_valid_number(number):
        raise _reason(number, text)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
