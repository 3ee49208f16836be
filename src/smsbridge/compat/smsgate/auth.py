"""The ``Authorization`` header as both SMSGate APIs read it."""

from __future__ import annotations

import base64
import binascii

from smsbridge.core.errors import Unauthorized


def authorization(header: str | None) -> tuple[str, str]:
    """(scheme in lower case, credential); Basic credentials come decoded as
    ``login:password``. ("", "") when there is none."""
    scheme, _, value = (header or "").strip().partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if scheme == "basic" and value:
        try:
            value = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthorized("Malformed Basic credentials.", code="invalid_credentials") from None
    return (scheme, value) if value else ("", "")


def bearer(header: str | None) -> str | None:
    scheme, value = authorization(header)
    return value if scheme == "bearer" else None
