"""Signatures on webhook deliveries.

``X-Smsbridge-Signature`` is the hex HMAC-SHA256, keyed with the subscription's secret, of the
``X-Smsbridge-Timestamp`` value (unix seconds), a dot, and the raw body. Receivers recompute it
and compare in constant time, and refuse timestamps far from their clock (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

TIMESTAMP_HEADER = "X-Smsbridge-Timestamp"
SIGNATURE_HEADER = "X-Smsbridge-Signature"


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, *, now: int,
           tolerance: int = 300) -> bool:  # fmt: skip
    if not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)
