"""Tests for smsbridge.core.sender.validate_sender."""

from __future__ import annotations

import pytest

from smsbridge.core.errors import ValidationFailed
from smsbridge.core.sender import validate_sender


@pytest.mark.parametrize(
    "sender",
    [
        "MyShop",
        "ABC",
        "Shop 24",
        "A12",
        "12A",
        "ABCDEFGHIJK",  # 11 characters: the maximum
        "Shop&Co",
        "shop.de",
        "My-Shop",
        "My_Shop",
        "A..",
        # numeric: up to 16 digits, optional +, no minimum length
        "+4917612345678",
        "12345",
        "1234567890123456",
        "+1234567890123456",
        "1",
        "12",
        "+1",
    ],
)
def test_valid(sender: str) -> None:
    assert validate_sender(sender) == sender


@pytest.mark.parametrize(
    ("raw", "expected"), [(" MyShop ", "MyShop"), ("Shop\n", "Shop"), ("\t+49176 ", "+49176")]
)
def test_surrounding_whitespace_is_stripped(raw: str, expected: str) -> None:
    assert validate_sender(raw) == expected


@pytest.mark.parametrize(
    "sender",
    [
        "",
        "   ",
        "AB",  # 2 characters
        "A1",
        "ABCDEFGHIJKL",  # 12 characters
        "12345678901A",  # 12 characters with a letter
        "12345678901234567",  # 17 digits
        "+12345678901234567",
        "ÜberShop",  # non-ASCII letter
        "Straße",
        "Shop\U0001f600",  # emoji
        "\U0001f600\U0001f600\U0001f600",
        "+",
        "++49176",
        "+49 176",  # a number with a space is not numeric and has no letter
        "123 45",
        "...",
        "My@Shop",
        "My\tShop",
        "Shop/24",
    ],
)
def test_invalid(sender: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        validate_sender(sender)
    assert info.value.code == "invalid_sender"
    assert info.value.status_code == 422
    assert repr(sender) in info.value.message
    assert "MyShop" in info.value.message


@pytest.mark.parametrize("sender", ["\u0661\u0662\u0663", "\uff11\uff12\uff13", "+\u0664\u0669"])
def test_non_ascii_digits_are_not_numeric(sender: str) -> None:
    with pytest.raises(ValidationFailed):
        validate_sender(sender)
