"""Rate limits per key, signed requests with nonces, password login with lockout."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
import uuid
from typing import Any

from tests.conftest import Live

DE = "+4917612345678"


async def test_rate_limit_per_key(live: Live) -> None:
    await live.gateway.accounts.create("limited")
    await live.gateway.accounts.set_rate_limit("limited", 5)
    headers = {"X-Api-Key": (await live.gateway.keys.create(account="limited")).key}
    statuses = [(await live.client.get("/api/v1/messages", headers=headers)) for _ in range(8)]
    codes = [r.status_code for r in statuses]
    assert codes.count(200) == 5 and codes.count(429) == 3, codes
    refused = statuses[-1]
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["retry-after"]) >= 1
    # the default account's key is not limited
    for _ in range(8):
        assert (await live.client.get("/api/v1/messages", headers=live.headers)).is_success
    await asyncio.sleep(0.5)  # tokens come back
    assert (await live.client.get("/api/v1/messages", headers=headers)).status_code == 200


def signed(
    key: str, secret: str, method: str, url: str, body: bytes, **over: str
) -> dict[str, str]:
    """Signs the way seven.io's SDKs do, written from the scheme (independent of the server)."""
    timestamp = over.get("timestamp", str(int(time.time())))
    nonce = over.get("nonce", uuid.uuid4().hex)
    message = f"{timestamp}\n{nonce}\n{method}\n{url}\n{hashlib.md5(body).hexdigest()}"
    signature = hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
    return {"X-Api-Key": key, "X-Timestamp": timestamp, "X-Nonce": nonce,
            "X-Signature": signature, "Content-Type": "application/json"}  # fmt: skip


async def test_signed_requests(live: Live) -> None:
    created = await live.gateway.keys.create(require_signature=True)
    assert created.signing_secret is not None
    url = live.base_url + "/api/v1/messages"
    body = b'{"to": "+4917612345678", "text": "signed"}'
    headers = signed(created.key, created.signing_secret, "POST", url, body)
    r = await live.client.post(url, content=body, headers=headers)
    assert r.status_code == 202, r.text
    # the same nonce again: refused
    r = await live.client.post(url, content=body, headers=headers)
    assert r.status_code == 401 and r.json()["error"]["code"] == "nonce_reused"
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "signature_required"),
        (signed(created.key, "wrong", "POST", url, body), "invalid_signature"),
        (signed(created.key, created.signing_secret, "POST", url, b"other body"),
         "invalid_signature"),
        (signed(created.key, created.signing_secret, "POST", url + "?x=1", body),
         "invalid_signature"),
        (signed(created.key, created.signing_secret, "POST", url, body,
                timestamp=str(int(time.time()) - 60)), "signature_expired"),
    ]  # fmt: skip
    for extra, code in cases:
        headers = extra or {"X-Api-Key": created.key, "Content-Type": "application/json"}
        r = await live.client.post(url, content=body, headers=headers)
        assert r.status_code == 401 and r.json()["error"]["code"] == code, (code, r.text)
    # a GET with a query string is signed over the full URL
    list_url = live.base_url + "/api/v1/messages?limit=5"
    r = await live.client.get(
        list_url, headers=signed(created.key, created.signing_secret, "GET", list_url, b"")
    )
    assert r.status_code == 200, r.text


async def login(live: Live, email: str, password: str) -> Any:
    return await live.client.post("/api/v1/auth/login",
                                  json={"email": email, "password": password})  # fmt: skip


async def test_login_token_and_lockout(live: Live) -> None:
    await live.gateway.accounts.create("shop", email="ops@shop.example", password="right-password")
    r = await login(live, "ops@shop.example", "right-password")
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    assert r.json()["token_type"] == "Bearer" and r.json()["expires_at"]
    r = await live.client.get("/api/v1/balance", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    for attempt in range(5):
        r = await login(live, "ops@shop.example", "nope-nope")
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_login", attempt
    r = await login(live, "ops@shop.example", "right-password")
    assert r.status_code == 429 and r.json()["error"]["code"] == "login_locked"
    assert int(r.headers["retry-after"]) > 800
    r = await login(live, "nobody@shop.example", "whatever")
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_login"
    admin = {"X-Api-Key": (await live.gateway.keys.create(scopes="admin")).key}
    entries = (await live.client.get("/api/v1/admin/audit", params={"account": "shop"},
                                     headers=admin)).json()["entries"]  # fmt: skip
    actions = [e["action"] for e in entries]
    assert actions[:3] == ["login.refused_locked", "login.locked", "login.failed"]
    assert "login.succeeded" in actions
