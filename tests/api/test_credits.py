"""Credits and prices: charged when accepted, refused when short, refunded when cancelled."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import Live

DE = "+4917612345678"


async def prepaid_account(live: Live, name: str, credits: str, **prices: Any) -> dict[str, str]:
    account = await live.gateway.accounts.create(name)
    await live.gateway.billing.configure(account.id, prepaid=True, actor="test", **prices)
    await live.gateway.billing.credit(account.id, credits, note="test", actor="test")
    key = (await live.gateway.keys.create(account=name)).key
    return {"Authorization": f"Bearer {key}"}


async def balance(live: Live, headers: dict[str, str]) -> float:
    r = await live.client.get("/api/v1/balance", headers=headers)
    assert r.status_code == 200, r.text
    value: float = r.json()["balance"]
    return value


async def test_default_account_runs_a_tab_at_one_credit_per_part(live: Live) -> None:
    r = await live.client.post("/api/v1/messages", json={"to": DE, "text": "x" * 200},
                               headers=live.headers)  # fmt: skip
    body = r.json()
    assert r.status_code == 202 and body["parts"] == 2
    assert body["price"] == 2.0 and body["balance"] == -2.0
    assert await balance(live, live.headers) == -2.0
    r = await live.client.get("/api/v1/balance", headers=live.headers)
    assert r.json() == {"balance": -2.0, "currency": "credits", "prepaid": False}


async def test_parallel_sends_never_overdraw(live: Live) -> None:
    headers = await prepaid_account(live, "exact", "50")

    async def one(i: int) -> int:
        r = await live.client.post(
            "/api/v1/messages", json={"to": f"+4917612345{i:03d}", "text": f"code {i}"},
            headers=headers,
        )  # fmt: skip
        if r.status_code == 402:
            assert r.json()["error"]["code"] == "insufficient_credit"
        return r.status_code

    statuses = await asyncio.gather(*(one(i) for i in range(100)))
    assert statuses.count(202) == 50 and statuses.count(402) == 50
    assert await balance(live, headers) == 0.0
    r = await live.client.get("/api/v1/messages", params={"limit": 500}, headers=headers)
    assert len(r.json()["messages"]) == 50


async def test_prices_by_prefix_and_priority(live: Live) -> None:
    headers = await prepaid_account(
        live, "priced", "10", default="0.1", high_surcharge="0.05",
        prefixes={"49": "0.075", "4917": "0.07"},
    )  # fmt: skip
    cases = [(DE, "normal", 0.07), ("+493012345678", "normal", 0.075),
             ("+436501234567", "normal", 0.1), (DE, "high", 0.12)]  # fmt: skip
    expected_balance = 10.0
    for to, priority, price in cases:
        r = await live.client.post(
            "/api/v1/messages",
            json={"to": to, "text": "hi", "priority": priority, "no_reload": True},
            headers=headers,
        )
        assert r.status_code == 202 and r.json()["price"] == price, (to, r.json())
        expected_balance = round(expected_balance - price, 6)
        assert r.json()["balance"] == expected_balance


async def test_test_mode_and_rejected_recipients_are_not_charged(live: Live) -> None:
    headers = await prepaid_account(live, "careful", "5")
    r = await live.client.post("/api/v1/messages", json={"to": DE, "text": "t", "test": True},
                               headers=headers)  # fmt: skip
    assert r.json()["price"] == 1.0 and await balance(live, headers) == 5.0
    r = await live.client.post("/api/v1/messages",
                               json={"to": [DE, "+49171999999999"], "text": "t"},
                               headers=headers)  # fmt: skip
    assert r.json()["price"] == 1.0 and await balance(live, headers) == 4.0


async def test_insufficient_credit_queues_nothing(live: Live) -> None:
    headers = await prepaid_account(live, "poor", "2")
    r = await live.client.post("/api/v1/messages", json={"to": DE, "text": "x" * 400},
                               headers=headers)  # fmt: skip
    assert r.status_code == 402
    error = r.json()["error"]
    assert error["code"] == "insufficient_credit" and "3.0 credits" in error["message"]
    batch = [{"to": DE, "text": "a"}, {"to": DE, "text": "b"}, {"to": DE, "text": "c"}]
    r = await live.client.post("/api/v1/messages/batch", json={"messages": batch},
                               headers=headers)  # fmt: skip
    assert r.status_code == 402
    r = await live.client.get("/api/v1/messages", headers=headers)
    assert r.json()["messages"] == []
    assert await balance(live, headers) == 2.0


async def test_cancel_refunds_unsent_recipients(live: Live) -> None:
    headers = await prepaid_account(live, "refunds", "10")
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    r = await live.client.post(
        "/api/v1/messages", json={"to": [DE, "+4917612345679"], "text": "x", "send_at": later},
        headers=headers,
    )  # fmt: skip
    assert await balance(live, headers) == 8.0
    r = await live.client.delete(f"/api/v1/messages/{r.json()['id']}", headers=headers)
    assert r.status_code == 200
    assert await balance(live, headers) == 10.0
    admin = {"Authorization": f"Bearer {(await live.gateway.keys.create(scopes='admin')).key}"}
    ledger = (await live.client.get("/api/v1/admin/accounts/refunds/ledger",
                                    headers=admin)).json()["entries"]  # fmt: skip
    assert [(e["reason"], e["delta"]) for e in ledger] == [
        ("refund", 2.0),
        ("charge", -2.0),
        ("credit", 10.0),
    ]


async def test_no_refund_policy(live: Live) -> None:
    headers = await prepaid_account(live, "strict", "10", refund_policy="none")
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    r = await live.client.post("/api/v1/messages", json={"to": DE, "text": "x", "send_at": later},
                               headers=headers)  # fmt: skip
    await live.client.delete(f"/api/v1/messages/{r.json()['id']}", headers=headers)
    assert await balance(live, headers) == 9.0


async def test_admin_credit_and_prices(live: Live) -> None:
    admin = {"Authorization": f"Bearer {(await live.gateway.keys.create(scopes='admin')).key}"}
    await live.gateway.accounts.create("shop")
    r = await live.client.post(
        "/api/v1/admin/accounts/shop/credit",
        json={"amount": "12.5", "note": "invoice 7"},
        headers=admin,
    )
    assert r.json() == {"account": "shop", "balance": 12.5}
    r = await live.client.post("/api/v1/admin/accounts/shop/credit", json={"amount": "1e-9"},
                               headers=admin)  # fmt: skip
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_amount"
    r = await live.client.put(
        "/api/v1/admin/accounts/shop/prices",
        json={"default": "0.09", "prefixes": {"+43": "0.11"}, "prepaid": True},
        headers=admin,
    )
    assert r.json() == {"default": 0.09, "high_surcharge": 0.0, "prefixes": {"43": 0.11},
                        "prepaid": True, "refund_policy": "unsent"}  # fmt: skip
    r = await live.client.put("/api/v1/admin/accounts/shop/prices",
                              json={"prefixes": {"abc": 1}}, headers=admin)  # fmt: skip
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_prefix"
    r = await live.client.get("/api/v1/balance", headers=admin)  # admin scope only
    assert r.status_code == 403
