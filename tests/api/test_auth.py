"""Accounts and API keys: scopes, expiry, revocation, IP allowlists, suspension, admin API,
audit log, and one account never seeing another's messages."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.conftest import Live

DE = "+4917612345678"


async def key_for(live: Live, account: str = "default", **options: Any) -> str:
    created = await live.gateway.keys.create(account=account, **options)
    return created.key


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_scopes_are_enforced(live: Live) -> None:
    reader = await key_for(live, scopes="messages:read")
    r = await live.client.post("/api/v1/messages", json={"to": DE, "text": "x"},
                               headers=bearer(reader))  # fmt: skip
    assert r.status_code == 403
    error = r.json()["error"]
    assert error["code"] == "missing_scope" and "messages:send" in error["message"]
    r = await live.client.post("/api/v1/messages/batch", json={"messages": []},
                               headers=bearer(reader))  # fmt: skip
    assert r.status_code == 403
    assert (await live.client.get("/api/v1/messages", headers=bearer(reader))).status_code == 200
    r = await live.client.delete("/api/v1/messages/1", headers=bearer(reader))
    assert r.status_code == 403 and "messages:cancel" in r.json()["error"]["message"]
    r = await live.client.get("/api/v1/admin/accounts", headers=live.headers)
    assert r.status_code == 403 and "admin" in r.json()["error"]["message"]


async def test_expired_key(live: Live) -> None:
    key = await key_for(live, expires="1s")
    assert (await live.client.get("/api/v1/messages", headers=bearer(key))).status_code == 200
    await asyncio.sleep(1.1)
    r = await live.client.get("/api/v1/messages", headers=bearer(key))
    assert r.status_code == 401 and r.json()["error"]["code"] == "expired_api_key"


async def test_revocation_takes_effect_on_the_next_request(live: Live) -> None:
    admin = await key_for(live, scopes="admin")
    created = await live.gateway.keys.create(name="victim")
    assert (await live.client.get("/api/v1/messages", headers=bearer(created.key))).is_success
    r = await live.client.delete(f"/api/v1/admin/keys/{created.id}", headers=bearer(admin))
    assert r.status_code == 200
    r = await live.client.get("/api/v1/messages", headers=bearer(created.key))
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"


async def test_ip_allowlist(live: Live) -> None:
    outside = await key_for(live, ip_allow="10.0.0.0/8, 2001:db8::/32")
    r = await live.client.get("/api/v1/messages", headers=bearer(outside))
    assert r.status_code == 403 and r.json()["error"]["code"] == "ip_not_allowed"
    inside = await key_for(live, ip_allow="127.0.0.0/8")
    assert (await live.client.get("/api/v1/messages", headers=bearer(inside))).is_success


async def test_suspended_account_keys_stop_at_once(live: Live) -> None:
    await live.gateway.accounts.create("acme")
    key = await key_for(live, account="acme")
    admin = await key_for(live, scopes="admin")
    assert (await live.client.get("/api/v1/messages", headers=bearer(key))).is_success
    r = await live.client.post("/api/v1/admin/accounts/acme/suspend", headers=bearer(admin))
    assert r.status_code == 200 and r.json()["status"] == "suspended"
    r = await live.client.get("/api/v1/messages", headers=bearer(key))
    assert r.status_code == 403 and r.json()["error"]["code"] == "account_suspended"
    await live.client.post("/api/v1/admin/accounts/acme/resume", headers=bearer(admin))
    assert (await live.client.get("/api/v1/messages", headers=bearer(key))).is_success


async def test_admin_api_and_audit_log(live: Live) -> None:
    admin = bearer(await key_for(live, scopes="admin"))
    r = await live.client.post(
        "/api/v1/admin/accounts",
        json={"name": "shop", "email": "ops@shop.example", "region": "at",
              "timezone": "Europe/Vienna"},
        headers=admin,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["region"] == "AT" and r.json()["status"] == "active"
    r = await live.client.post("/api/v1/admin/accounts", json={"name": "shop"}, headers=admin)
    assert r.status_code == 409 and r.json()["error"]["code"] == "account_exists"
    r = await live.client.post("/api/v1/admin/accounts", json={"name": "x y"}, headers=admin)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_account_name"
    r = await live.client.post(
        "/api/v1/admin/accounts/shop/keys",
        json={"name": "web", "scopes": "messages:send,messages:read", "require_signature": True},
        headers=admin,
    )
    assert r.status_code == 201
    created = r.json()
    assert created["key"].startswith("sb_") and len(created["signing_secret"]) == 64
    r = await live.client.post("/api/v1/admin/accounts/shop/keys", json={"scopes": "root"},
                               headers=admin)  # fmt: skip
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_scope"
    r = await live.client.post("/api/v1/admin/accounts/nobody/keys", json={}, headers=admin)
    assert r.status_code == 404 and r.json()["error"]["code"] == "account_not_found"
    keys = (await live.client.get("/api/v1/admin/accounts/shop/keys", headers=admin)).json()
    assert [k["scopes"] for k in keys["keys"]] == [["messages:send", "messages:read"]]
    assert "key" not in keys["keys"][0]
    r = await live.client.delete(f"/api/v1/admin/keys/{created['id']}", headers=admin)
    assert r.status_code == 200
    r = await live.client.delete(f"/api/v1/admin/keys/{created['id']}", headers=admin)
    assert r.status_code == 404
    entries = (await live.client.get("/api/v1/admin/audit", params={"account": "shop"},
                                     headers=admin)).json()["entries"]  # fmt: skip
    actions = [e["action"] for e in entries]
    assert actions == ["key.revoked", "key.created", "account.created"]
    assert all(e["actor"].startswith("key:") for e in entries)


async def test_accounts_never_see_each_other(live: Live) -> None:
    await live.gateway.accounts.create("other")
    other = bearer(await key_for(live, account="other"))
    r = await live.client.post("/api/v1/messages", json={"to": DE, "text": "mine"},
                               headers=live.headers)  # fmt: skip
    mine = r.json()["id"]
    r = await live.client.get(f"/api/v1/messages/{mine}", headers=other)
    assert r.status_code == 404
    r = await live.client.delete(f"/api/v1/messages/{mine}", headers=other)
    assert r.status_code == 404
    r = await live.client.get("/api/v1/messages", headers=other)
    assert r.json()["messages"] == []


async def test_revocation_by_another_process(live_factory: Any, database_url: str) -> None:
    """Keys are cached, but a revocation or suspension by another process (here the CLI)
    reaches the server within its change poll."""
    import os
    import subprocess
    import sys

    live = await live_factory(database_url, auth_cache_seconds=3600, change_poll_ms=50)
    created = await live.gateway.keys.create(name="cached")
    headers = bearer(created.key)
    assert (await live.client.get("/api/v1/messages", headers=headers)).is_success
    env = {**os.environ, "SMSBRIDGE_DATABASE_URL": database_url}
    await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "smsbridge", "keys", "revoke", str(created.id)],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    await asyncio.sleep(0.3)
    r = await live.client.get("/api/v1/messages", headers=headers)
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"


async def test_account_defaults_can_change(live: Live) -> None:
    admin = bearer(await key_for(live, scopes="admin"))
    await live.gateway.accounts.create("moving")
    key = bearer(await key_for(live, account="moving"))
    r = await live.client.post("/api/v1/messages", json={"to": "0664 1234567", "text": "x"},
                               headers=key)  # fmt: skip
    assert r.status_code == 422 and r.json()["error"]["code"] == "region_required"
    r = await live.client.patch(
        "/api/v1/admin/accounts/moving",
        json={"region": "at", "from": "Shop", "timezone": "Europe/Vienna"},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["region"], r.json()["from"], r.json()["timezone"]) == (
        "AT",
        "Shop",
        "Europe/Vienna",
    )
    r = await live.client.post("/api/v1/messages", json={"to": "0664 1234567", "text": "x"},
                               headers=key)  # fmt: skip
    assert r.status_code == 202, r.text
    assert r.json()["recipients"][0]["to"] == "+436641234567" and r.json()["from"] == "Shop"
    for body, code in [({"region": "XX"}, "invalid_region"), ({"timezone": "Mars/Base"},
                       "invalid_timezone"), ({"languages": "klingon"}, "invalid_languages"),
                       ({"from": "!"}, "invalid_sender")]:  # fmt: skip
        r = await live.client.patch("/api/v1/admin/accounts/moving", json=body, headers=admin)
        assert r.status_code == 422 and r.json()["error"]["code"] == code
