"""Prices by destination prefix: the longest matching prefix wins."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from smsbridge.core.pricing import PriceList

_digits = st.text(alphabet="0123456789", min_size=1, max_size=17)


def _naive(prices: PriceList, e164: str) -> int:
    digits = e164.lstrip("+")
    for length in range(min(len(digits), 15), 0, -1):
        price = prices.by_prefix.get(digits[:length])
        if price is not None:
            return price
    return prices.default


def test_longest_prefix_wins_and_default_otherwise() -> None:
    prices = PriceList(default=7, by_prefix={"49": 5, "49176": 3, "1": 9})
    assert prices.per_part("+4917612345678") == 3
    assert prices.per_part("+4915112345678") == 5
    assert prices.per_part("+15555550100") == 9
    assert prices.per_part("+33612345678") == 7
    assert PriceList().per_part("+4917612345678") == PriceList().default
    assert prices.cost("+4917612345678", 2, high=False) == 6


@given(st.dictionaries(_digits, st.integers(0, 10**6), max_size=8), _digits)
def test_same_as_trying_every_prefix_length(by_prefix: dict[str, int], number: str) -> None:
    prices = PriceList(default=1, by_prefix=by_prefix)
    assert prices.per_part("+" + number) == _naive(prices, "+" + number)
