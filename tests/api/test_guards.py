"""The reload lock and the daily cap per recipient number."""

from __future__ import annotations

from typing import Any

from tests.conftest import Live

DE = "+4917612345678"


async def send(live: Live, **body: Any) -> Any:
    return await live.client.post("/api/v1/messages", json=body, headers=live.headers)


async def test_same_text_to_same_number_is_refused_within_the_window(live: Live) -> None:
    assert (await send(live, to=DE, text="Your code is 1234")).status_code == 202
    r = await send(live, to=DE, text="Your code is 1234")
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "reload_lock" and DE in error["message"]
    assert "no_reload" in error["message"]
    # another text, another number, or no_reload: fine
    assert (await send(live, to=DE, text="Your code is 5678")).status_code == 202
    assert (await send(live, to="+4917612345679", text="Your code is 1234")).status_code == 202
    assert (await send(live, to=DE, text="Your code is 1234", no_reload=True)).status_code == 202
    # test messages neither trigger nor meet the lock
    assert (await send(live, to="+4917600000001", text="t", test=True)).status_code == 202
    assert (await send(live, to="+4917600000001", text="t")).status_code == 202


async def test_window_is_configurable(live: Live) -> None:
    await live.gateway.accounts.set_limits("default", {"reload_window": 0})
    for _ in range(3):
        assert (await send(live, to=DE, text="same")).status_code == 202


async def test_batch_reports_locked_items_by_index(live: Live) -> None:
    await send(live, to=DE, text="dup")
    items = [
        {"to": "+4917612345001", "text": "a"},
        {"to": DE, "text": "dup"},
        {"to": "+4917612345002", "text": "b"},
        {"to": "+4917612345002", "text": "b"},  # the same twice in one batch
        {"to": DE, "text": "dup", "no_reload": True},
    ]
    r = await live.client.post("/api/v1/messages/batch", json={"messages": items},
                               headers=live.headers)  # fmt: skip
    assert r.status_code == 202
    body = r.json()
    assert {e["index"]: e["code"] for e in body["errors"]} == {1: "reload_lock", 3: "reload_lock"}
    assert [m["recipients"][0]["to"] for m in body["messages"]] == [
        "+4917612345001",
        "+4917612345002",
        DE,
    ]
    listed = await live.client.get("/api/v1/messages", params={"limit": 50}, headers=live.headers)
    assert len(listed.json()["messages"]) == 4  # nothing refused was written


async def test_daily_cap_per_number(live: Live) -> None:
    await live.gateway.accounts.set_limits("default", {"daily_cap": 2})
    assert (await send(live, to=DE, text="one")).status_code == 202
    assert (await send(live, to=DE, text="two")).status_code == 202
    r = await send(live, to=DE, text="three")
    assert r.status_code == 429 and r.json()["error"]["code"] == "daily_cap_reached"
    assert (await send(live, to="+4917612345679", text="three")).status_code == 202
    admin = {"X-Api-Key": (await live.gateway.keys.create(scopes="admin")).key}
    r = await live.client.put("/api/v1/admin/accounts/default/limits",
                              json={"daily_cap": None}, headers=admin)  # fmt: skip
    assert r.status_code == 200 and r.json() == {"account": "default", "daily_cap": None}
    assert (await send(live, to=DE, text="three")).status_code == 202
    r = await live.client.put("/api/v1/admin/accounts/default/limits",
                              json={"reload_window": -1}, headers=admin)  # fmt: skip
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_limit"
