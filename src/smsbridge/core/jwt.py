"""Compact JSON Web Tokens signed with HS256 (RFC 7519), for the SMSGate integrator API."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import orjson

_HEADER = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=")


class InvalidToken(Exception):
    pass


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _unb64(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def encode(claims: dict[str, Any], secret: str) -> str:
    signing_input = _HEADER + b"." + _b64(orjson.dumps(claims))
    signature = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + _b64(signature)).decode()


def unverified_claims(token: str) -> dict[str, Any]:
    """The claims without checking the signature (to find the key that signed them)."""
    try:
        _, payload, _ = token.split(".")
        claims = orjson.loads(_unb64(payload))
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise InvalidToken("not a JWT") from exc
    if not isinstance(claims, dict):
        raise InvalidToken("JWT claims are not an object")
    return claims


def decode(token: str, secret: str, *, now: int) -> dict[str, Any]:
    """Verified claims; ``now`` in unix seconds is checked against ``exp``."""
    try:
        header, payload, signature = token.split(".")
        if orjson.loads(_unb64(header)).get("alg") != "HS256":
            raise InvalidToken("unsupported JWT algorithm")
        expected = hmac.new(
            secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256
        ).digest()
        if not hmac.compare_digest(expected, _unb64(signature)):
            raise InvalidToken("bad JWT signature")
        claims = orjson.loads(_unb64(payload))
    except (ValueError, orjson.JSONDecodeError, AttributeError) as exc:
        raise InvalidToken("malformed JWT") from exc
    if not isinstance(claims, dict):
        raise InvalidToken("JWT claims are not an object")
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp <= now:
        raise InvalidToken("the token has expired")
    return claims
