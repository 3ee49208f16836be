"""Sender ids: what an SMS may show as its originator."""

from __future__ import annotations

import re

from smsbridge.core.errors import ValidationFailed

_NUMERIC = re.compile(r"\+?[0-9]{1,16}")
_ALPHA = re.compile(r"[A-Za-z0-9 .\-_&]{3,11}")


def validate_sender(sender: str) -> str:
    """Return the sender if valid: numeric (up to 16 digits, optional leading +) or
    alphanumeric (3-11 characters with at least one letter)."""
    value = sender.strip()
    if _NUMERIC.fullmatch(value):
        return value
    if _ALPHA.fullmatch(value) and any(c.isalpha() for c in value):
        return value
    raise ValidationFailed(
        f"Invalid sender {sender!r}: use 3-11 letters/digits (e.g. 'MyShop') or a number of "
        "up to 16 digits with an optional leading + (e.g. +4917612345678).",
        code="invalid_sender",
    )
