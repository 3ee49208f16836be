"""Who calls the seven.io API: an smsbridge API key, carried as seven's clients carry theirs.

``X-Api-Key: KEY``, ``Authorization: Bearer KEY``, ``Authorization: basic KEY`` (seven sends
the key as is, not base64; base64 of ``user:KEY`` is accepted too) or the ``p`` parameter.
Keys that require signed requests are checked with seven's scheme (X-Signature, X-Nonce,
X-Timestamp), which smsbridge shares.
"""

from __future__ import annotations

import base64
import binascii

from starlette.requests import Request

from smsbridge.api.deps import authenticate_key
from smsbridge.compat.params import Params
from smsbridge.services.caller import Caller


def key_of(request: Request, params: Params) -> str | None:
    header = request.headers.get("x-api-key")
    if header:
        return header.strip()
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value
    if scheme.lower() == "basic" and value:
        return _basic(value)
    return params.text("p")


def _basic(value: str) -> str:
    if value.startswith("sb_"):
        return value  # the key as is, as seven documents it
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return value
    return decoded.partition(":")[2] or decoded


async def caller(request: Request, params: Params, scope: str) -> Caller:
    return await authenticate_key(request, key_of(request, params), scope)
