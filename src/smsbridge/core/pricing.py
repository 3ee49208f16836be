"""Prices per SMS part, by destination prefix; amounts in micro-credits (1 credit = 10**6)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from smsbridge.core.errors import ValidationFailed

MICRO = 1_000_000
DEFAULT_PRICE = MICRO  # one part costs one credit unless configured otherwise


@dataclass(frozen=True, slots=True)
class PriceList:
    default: int = DEFAULT_PRICE
    high_surcharge: int = 0
    by_prefix: Mapping[str, int] = field(default_factory=dict)
    # The prefix lengths that occur, longest first: every message is priced, and most price
    # lists hold a few lengths (none by default), so only those are looked up.
    _lengths: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        lengths = sorted({len(p) for p in self.by_prefix if 0 < len(p) <= 15}, reverse=True)
        object.__setattr__(self, "_lengths", tuple(lengths))

    def per_part(self, e164: str) -> int:
        """Price of one part to ``e164`` (+4917...): the longest matching prefix wins."""
        if not self._lengths:
            return self.default
        digits = e164.lstrip("+")
        for length in self._lengths:
            if length <= len(digits):
                price = self.by_prefix.get(digits[:length])
                if price is not None:
                    return price
        return self.default

    def cost(self, e164: str, parts: int, *, high: bool) -> int:
        return (self.per_part(e164) + (self.high_surcharge if high else 0)) * parts


def to_micro(amount: str | int | float | Decimal) -> int:
    """Credits given by a person (``"0.075"``, ``10``) -> micro-credits, exactly."""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        raise ValidationFailed(
            f"{amount!r} is not an amount; write it like 10 or 0.075.", code="invalid_amount"
        ) from None
    if not value.is_finite() or abs(value) > Decimal(10**12):
        raise ValidationFailed(f"{amount!r} is out of range.", code="invalid_amount")
    micro = value * MICRO
    if micro != micro.to_integral_value():
        raise ValidationFailed(f"{amount!r} has more than 6 decimal places.", code="invalid_amount")
    return int(micro)


def credits(micro: int) -> float:
    """Micro-credits -> credits, for display."""
    return _credits(micro)


@lru_cache(maxsize=4096)  # replies of a batch show the same few prices thousands of times
def _credits(micro: int) -> float:
    return round(micro / MICRO, 6)
