"""Every route, called with another account's key, refuses: 404 for someone else's ids, 403
where the route needs a scope the key lacks. A new route fails this test until it is listed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.routing import APIRoute
from starlette.routing import Route

from tests.conftest import Live

PUBLIC = {("GET", "/health"), ("GET", "/openapi.json"), ("GET", "/docs"),
          ("GET", "/docs/oauth2-redirect"), ("GET", "/redoc")}  # fmt: skip

# (method, route path) -> (concrete path, json body, expected status codes for the intruder)
CASES: dict[tuple[str, str], tuple[str, Any, set[int]]] = {
    ("POST", "/api/v1/messages"): ("/api/v1/messages", {"to": "+4917612345678", "text": "x"},
                                   {202}),  # sending is allowed: it creates the intruder's own
    ("POST", "/api/v1/messages/batch"): ("/api/v1/messages/batch", {"messages": [
        {"to": "+4917612345678", "text": "x"}]}, {202}),
    ("GET", "/api/v1/messages"): ("/api/v1/messages", None, {200}),  # lists only its own
    ("GET", "/api/v1/messages/{message_id}"): ("/api/v1/messages/{victim_message}", None, {404}),
    ("DELETE", "/api/v1/messages/{message_id}"): ("/api/v1/messages/{victim_message}", None,
                                                  {404}),
    ("GET", "/api/v1/balance"): ("/api/v1/balance", None, {200}),  # its own balance
    ("GET", "/api/v1/admin/accounts"): ("/api/v1/admin/accounts", None, {403}),
    ("POST", "/api/v1/admin/accounts"): ("/api/v1/admin/accounts", {"name": "x"}, {403}),
    ("GET", "/api/v1/admin/accounts/{name}"): ("/api/v1/admin/accounts/victim", None, {403}),
    ("PATCH", "/api/v1/admin/accounts/{name}"): ("/api/v1/admin/accounts/victim",
                                                 {"region": "AT"}, {403}),
    ("POST", "/api/v1/admin/accounts/{name}/suspend"): ("/api/v1/admin/accounts/victim/suspend",
                                                         None, {403}),
    ("POST", "/api/v1/admin/accounts/{name}/resume"): ("/api/v1/admin/accounts/victim/resume",
                                                        None, {403}),
    ("POST", "/api/v1/admin/accounts/{name}/credit"): ("/api/v1/admin/accounts/victim/credit",
                                                        {"amount": 5}, {403}),
    ("PUT", "/api/v1/admin/accounts/{name}/prices"): ("/api/v1/admin/accounts/victim/prices",
                                                       {"default": 0}, {403}),
    ("GET", "/api/v1/admin/accounts/{name}/ledger"): ("/api/v1/admin/accounts/victim/ledger",
                                                       None, {403}),
    ("GET", "/api/v1/admin/accounts/{name}/keys"): ("/api/v1/admin/accounts/victim/keys", None,
                                                     {403}),
    ("POST", "/api/v1/admin/accounts/{name}/keys"): ("/api/v1/admin/accounts/victim/keys", {},
                                                      {403}),
    ("DELETE", "/api/v1/admin/keys/{key_id}"): ("/api/v1/admin/keys/{victim_key}", None, {403}),
    ("GET", "/api/v1/admin/audit"): ("/api/v1/admin/audit", None, {403}),
    ("PUT", "/api/v1/admin/accounts/{name}/limits"): ("/api/v1/admin/accounts/victim/limits",
                                                       {"rate_limit": 1}, {403}),
    # Logging in needs the victim's password, which the intruder does not have.
    ("POST", "/api/v1/auth/login"): ("/api/v1/auth/login",
                                     {"email": "v@victim.example", "password": "guess-guess"},
                                     {401}),
}  # fmt: skip


def all_routes(live: Live) -> set[tuple[str, str]]:
    app = live.gateway_app
    found: set[tuple[str, str]] = set()
    for route in app.routes:
        if isinstance(route, APIRoute | Route):
            for method in route.methods or ():
                if method != "HEAD":
                    found.add((method, route.path))
    return found - PUBLIC


async def test_every_route_is_covered(live: Live) -> None:
    missing = all_routes(live) - set(CASES)
    assert not missing, f"routes without an isolation case: {sorted(missing)}"


async def test_another_accounts_key_gets_nothing(live: Live) -> None:
    gw = live.gateway
    await gw.accounts.create("victim", email="v@victim.example", password="correct-horse")
    victim_key = await gw.keys.create(account="victim")
    victim = {"Authorization": f"Bearer {victim_key.key}"}
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    r = await live.client.post(
        "/api/v1/messages",
        headers=victim,
        json={"to": "+4917612345678", "text": "secret", "send_at": later},
    )
    victim_message = r.json()["id"]
    await gw.accounts.create("intruder")
    intruder = {"Authorization": f"Bearer {(await gw.keys.create(account='intruder')).key}"}
    values = {"victim_message": victim_message, "victim_key": str(victim_key.id)}
    for (method, _), (path, body, expected) in CASES.items():
        r = await live.client.request(method, path.format(**values), json=body, headers=intruder)
        assert r.status_code in expected, (method, path, r.status_code, r.text)
        if r.status_code == 200 and method == "GET" and path == "/api/v1/messages":
            assert all(m["id"] != victim_message for m in r.json()["messages"])
    # the victim's message is untouched
    r = await live.client.get(f"/api/v1/messages/{victim_message}", headers=victim)
    assert r.json()["status"] == "scheduled" and r.json()["text"] == "secret"
    assert (await live.client.get("/api/v1/messages", headers=victim)).is_success
