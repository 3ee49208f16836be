"""Smstools' credentials: ``X-Client-Id`` and ``X-Client-Secret`` headers.

The secret is a smsbridge API key and the client id that key's id (as ``smsbridge keys list``
shows it). A secret presented with another key's id is refused, as a wrong pair is at
Smstools. The key's scopes, expiry, IP allowlist, signing and rate limit apply as everywhere.
"""

from __future__ import annotations

from fastapi import Request

from smsbridge.api.deps import authenticate_key
from smsbridge.core.errors import Unauthorized
from smsbridge.services.caller import Caller

_HINT = (
    "Send X-Client-Id (the key's id from `smsbridge keys list`) and X-Client-Secret (the API "
    "key itself); create a key with `smsbridge keys create`."
)


async def caller(request: Request, scope: str) -> Caller:
    client_id = (request.headers.get("x-client-id") or "").strip()
    secret = (request.headers.get("x-client-secret") or "").strip()
    if not client_id or not secret:
        raise Unauthorized(f"Missing client credentials. {_HINT}", code="missing_api_key")
    found = await authenticate_key(request, secret, scope)
    if found.key_id is None or client_id != str(found.key_id):
        raise Unauthorized(
            f"The client id does not belong to this client secret. {_HINT}",
            code="invalid_api_key",
        )
    return found
