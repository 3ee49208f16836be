"""Signed requests (seven.io's scheme), for keys that require them.

``X-Signature`` = hex HMAC-SHA256(secret, X-Timestamp + "\\n" + X-Nonce + "\\n" + METHOD +
"\\n" + full URL with query + "\\n" + md5_hex(body)). The timestamp (unix seconds) must be within
30 s of now, and a nonce is never accepted twice for the same key.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError

from smsbridge.core.errors import Unauthorized
from smsbridge.store.db import Database, now_us
from smsbridge.store.schema import nonces

WINDOW_SECONDS = 30
NONCE_TTL_US = 10 * 60 * 1_000_000


def string_to_sign(timestamp: str, nonce: str, method: str, url: str, body: bytes) -> str:
    return "\n".join([timestamp, nonce, method.upper(), url, hashlib.md5(body).hexdigest()])


def sign(secret: str, timestamp: str, nonce: str, method: str, url: str, body: bytes) -> str:
    message = string_to_sign(timestamp, nonce, method, url, body)
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


async def verify(
    db: Database,
    *,
    key_id: int,
    secret: str,
    headers: Mapping[str, str],
    method: str,
    url: str,
    body: bytes,
) -> None:
    signature = headers.get("x-signature")
    timestamp = headers.get("x-timestamp")
    nonce = headers.get("x-nonce")
    if not signature or not timestamp or not nonce:
        raise Unauthorized(
            "This key requires signed requests: send X-Timestamp, X-Nonce and X-Signature "
            "(hex HMAC-SHA256 of timestamp, nonce, method, URL and md5 of the body).",
            code="signature_required",
        )
    try:
        age = abs(time.time() - float(timestamp))
    except ValueError:
        age = float("inf")
    if age > WINDOW_SECONDS:
        raise Unauthorized(
            f"X-Timestamp is more than {WINDOW_SECONDS} s away from the server's clock; send the "
            "current unix time in seconds.",
            code="signature_expired",
        )
    expected = sign(secret, timestamp, nonce, method, url, body)
    if not hmac.compare_digest(expected, signature.lower()):
        raise Unauthorized(
            "The request signature does not match; sign exactly the timestamp, nonce, method, "
            "full URL (with query) and md5 of the body you send.",
            code="invalid_signature",
        )
    now = now_us()
    try:
        async with db.write() as conn:
            await conn.execute(delete(nonces).where(nonces.c.seen_at < now - NONCE_TTL_US))
            await conn.execute(insert(nonces).values(key_id=key_id, nonce=nonce[:128], seen_at=now))
    except IntegrityError:
        raise Unauthorized(
            "This nonce was used before; send a new random X-Nonce with every request.",
            code="nonce_reused",
        ) from None
