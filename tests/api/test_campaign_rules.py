"""Campaign rules on a live server (SQLite and PostgreSQL): quiet hours, credit checks before and
during expansion, contact and number targets, what may change in which state, listing,
transactional and test campaigns, priority."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from smsbridge.services.campaign_runner import CampaignRunner
from smsbridge.store.schema import recipients
from tests.api.test_campaigns import add_contacts, campaign, get, until_state
from tests.conftest import Live, wait_for

ZOE = "+4917612999999"  # not a contact


def phone(i: int) -> str:
    """The number add_contacts gives contact ``i``."""
    return f"+4917612{i:06d}"


def us(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


def simulator_sent(live: Live) -> list[str]:
    """The numbers the simulator channel was handed, in order."""
    assert live.gateway.dispatcher is not None
    connector = live.gateway.dispatcher.router.connectors["simulator"]
    return [sms.to for sms in connector.sent]  # type: ignore[attr-defined]


async def post(live: Live, path: str, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
    return await live.client.post(path, headers=headers or live.headers, **kwargs)


async def action(
    live: Live, campaign_id: int, name: str, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    r = await post(live, f"/api/v1/campaigns/{campaign_id}/{name}", headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def until_expanded(
    live: Live, campaign_id: int, count: int, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        r = await live.client.get(
            f"/api/v1/campaigns/{campaign_id}", headers=headers or live.headers
        )
        body: dict[str, Any] = r.json()
        # On SQLite the row and the progress are two autocommit reads: wait until both show
        # the written chunk (the progress may run ahead of the row's message_id).
        done = body["progress"]["expanded"] >= count and body["message_id"] is not None
        return body if done else None

    result: dict[str, Any] = await wait_for(check, timeout=20)
    assert result["progress"]["expanded"] == count, result["progress"]
    return result


async def recipient_rows(live: Live, message_id: str | int) -> list[dict[str, Any]]:
    async with live.gateway.db.read() as conn:
        result = await conn.execute(
            select(
                recipients.c.to_number, recipients.c.status, recipients.c.due_at,
                recipients.c.expires_at, recipients.c.priority, recipients.c.price,
            )
            .where(recipients.c.message_id == int(message_id))
            .order_by(recipients.c.position)
        )  # fmt: skip
        return [dict(r) for r in result.mappings()]


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


async def add_contacts_as(live: Live, headers: dict[str, str], count: int) -> None:
    items = [{"phone": phone(i), "firstname": f"Name{i}", "groups": ["customers"]}
             for i in range(count)]  # fmt: skip
    r = await live.client.post("/api/v1/contacts", json=items, headers=headers)
    assert r.status_code == 200 and not r.json()["errors"], r.text


def quiet_window(zone: ZoneInfo) -> tuple[str, str, datetime]:
    """A quiet window around the current local time (an hour back, two ahead, wrapping past
    midnight when it must) and the moment it ends."""
    now = datetime.now(zone).replace(second=0, microsecond=0)
    start, end = now - timedelta(hours=1), now + timedelta(hours=2)
    return start.strftime("%H:%M"), end.strftime("%H:%M"), end


# Quiet hours ------------------------------------------------------------------------------


async def test_quiet_hours_hold_every_recipient_until_the_window_ends(live: Live) -> None:
    await live.gateway.accounts.update("default", timezone="UTC")
    await add_contacts(live, 5)
    start, end, wake = quiet_window(ZoneInfo("UTC"))
    body = await campaign(
        live,
        {"name": "night", "text": "Hello {{firstname}}", "missing_fields": "empty",
         "targets": {"groups": ["customers"], "numbers": [ZOE]},
         "quiet_hours": {"start": start, "end": end}, "start": True},
    )  # fmt: skip
    assert body["state"] == "running"
    assert body["quiet_hours"] == {"start": start, "end": end}
    view = await until_expanded(live, body["id"], 6)
    rows = await recipient_rows(live, view["message_id"])
    assert len(rows) == 6
    assert {r["status"] for r in rows} == {"queued"}
    assert {r["due_at"] for r in rows} == {us(wake)}, [r["due_at"] for r in rows]
    assert all(r["expires_at"] > r["due_at"] for r in rows)
    await asyncio.sleep(1.0)  # the dispatcher polls every 20 ms: it had its chances
    view = await get(live, body["id"])
    assert view["state"] == "running"
    p = view["progress"]
    assert (p["queued"], p["sending"], p["sent"], p["delivered"]) == (6, 0, 0, 0)
    assert simulator_sent(live) == []
    # A pause takes them off the queue; a resume during the window puts them at its end again.
    paused = await action(live, body["id"], "pause")
    assert paused["state"] == "paused"
    assert {r["due_at"] for r in await recipient_rows(live, view["message_id"])} == {None}
    resumed = await action(live, body["id"], "resume")
    assert resumed["state"] == "running"
    assert {r["due_at"] for r in await recipient_rows(live, view["message_id"])} == {us(wake)}
    await asyncio.sleep(0.3)
    assert simulator_sent(live) == []


async def test_quiet_hours_are_in_the_accounts_time_zone(live: Live) -> None:
    zone = ZoneInfo("Asia/Kathmandu")  # UTC+05:45: no whole-hour coincidence with UTC
    await live.gateway.accounts.create("nepal", timezone="Asia/Kathmandu")
    headers = {"Authorization": f"Bearer {(await live.gateway.keys.create(account='nepal')).key}"}
    start, end, wake = quiet_window(zone)
    numbers = [phone(1), phone(2), phone(3)]
    r = await post(
        live, "/api/v1/campaigns", headers,
        json={"name": "local", "text": "Namaste", "targets": {"numbers": numbers},
              "quiet_hours": {"start": start, "end": end}, "throttle": 60, "start": True},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    view = await until_expanded(live, r.json()["id"], 3, headers)
    dues = [row["due_at"] for row in await recipient_rows(live, view["message_id"])]
    assert dues == [us(wake), us(wake) + 1_000_000, us(wake) + 2_000_000]
    assert simulator_sent(live) == []


# Credit ------------------------------------------------------------------------------------


async def test_prepaid_account_without_enough_credit_cannot_start(live: Live) -> None:
    headers = await prepaid_account(live, "poor", "2")
    await add_contacts_as(live, headers, 3)
    r = await post(
        live, "/api/v1/campaigns", headers,
        json={"name": "too big", "text": "Hi", "targets": {"groups": ["customers"]}},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    r = await post(live, f"/api/v1/campaigns/{cid}/start", headers)
    assert r.status_code == 402, r.text
    error = r.json()["error"]
    assert error["code"] == "insufficient_credit"
    assert error["details"] == {"cost": 3.0, "balance": 2.0}
    r = await live.client.get(f"/api/v1/campaigns/{cid}", headers=headers)
    assert r.json()["state"] == "draft"
    assert r.json()["progress"]["expanded"] == 0
    assert await balance(live, headers) == 2.0
    # `start: true` on create is refused the same way, leaving a draft behind.
    r = await post(
        live, "/api/v1/campaigns", headers,
        json={"name": "again", "text": "Hi", "targets": {"groups": ["customers"]}, "start": True},
    )  # fmt: skip
    assert r.status_code == 402
    # Smaller: fits.
    r = await post(
        live, "/api/v1/campaigns", headers,
        json={"name": "small", "text": "Hi", "targets": {"numbers": [phone(0), phone(1)]},
              "start": True},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    await wait_for(lambda: _state_is(live, r.json()["id"], "completed", headers))
    assert await balance(live, headers) == 0.0


async def _state_is(live: Live, campaign_id: int, state: str, headers: dict[str, str]) -> bool:
    r = await live.client.get(f"/api/v1/campaigns/{campaign_id}", headers=headers)
    return bool(r.json()["state"] == state)


async def test_credit_gone_before_expansion_pauses_the_campaign(
    live_factory: Any, database_url: str
) -> None:
    """Started with enough credit, then debited below the price before the runner expands it:
    the runner pauses it (nothing queued, nothing charged). The runner is stepped by hand here
    (the server runs no dispatcher), so the order of events is certain."""
    live: Live = await live_factory(database_url, dispatch=False)
    headers = await prepaid_account(live, "tight", "3")
    account = await live.gateway.accounts.get("tight")
    await add_contacts_as(live, headers, 3)
    r = await post(
        live, "/api/v1/campaigns", headers,
        json={"name": "tight", "text": "Hi", "targets": {"groups": ["customers"]}, "start": True},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    assert r.json()["state"] == "running"
    await live.gateway.billing.credit(account.id, "-2", note="debit", actor="test")
    assert await balance(live, headers) == 1.0
    runner = CampaignRunner(live.gateway.db, live.gateway.send, live.gateway.billing, lambda: None)

    async def step_until(state: str) -> dict[str, Any]:
        for _ in range(20):
            await runner.tick()
            r = await live.client.get(f"/api/v1/campaigns/{cid}", headers=headers)
            if r.json()["state"] == state:
                body: dict[str, Any] = r.json()
                return body
        raise AssertionError(f"campaign never became {state}: {r.json()}")

    paused = await step_until("paused")
    assert paused["state_reason"].startswith("insufficient_credit"), paused["state_reason"]
    assert paused["progress"]["expanded"] == 0
    assert paused["cost"] == 0.0
    assert await balance(live, headers) == 1.0
    # Topped up and resumed, it expands and pays.
    await live.gateway.billing.credit(account.id, "5", note="top-up", actor="test")
    resumed = await action(live, cid, "resume", headers)
    assert resumed["state"] == "running" and resumed["state_reason"] is None
    for _ in range(20):
        await runner.tick()
        body = await live.client.get(f"/api/v1/campaigns/{cid}", headers=headers)
        if body.json()["progress"]["expanded"] == 3:
            break
    assert body.json()["progress"]["expanded"] == 3
    assert body.json()["cost"] == 3.0
    assert await balance(live, headers) == 3.0


# Targets -----------------------------------------------------------------------------------


async def test_contacts_and_numbers_without_groups_each_number_once(live: Live) -> None:
    await add_contacts(live, 6, group="unused")
    r = await live.client.get("/api/v1/contacts", headers=live.headers)
    ids = {c["phone"]: c["id"] for c in r.json()["contacts"]}
    chosen = [ids[phone(0)], ids[phone(1)], ids[phone(2)], ids[phone(1)]]
    numbers = [
        phone(0),  # a listed contact's number
        "0049" + phone(1)[3:],  # the same as contact 1, written differently
        ZOE, ZOE,  # twice
        phone(4),  # a contact that is not listed: sent as a number (with its fields)
        "+49171999999999",  # invalid
    ]  # fmt: skip
    body = await campaign(
        live,
        {"name": "picked", "text": "Hi {{firstname}}!", "missing_fields": "empty",
         "targets": {"contacts": chosen, "numbers": numbers}},
    )  # fmt: skip
    assert body["targets"]["contacts"] == [ids[phone(0)], ids[phone(1)], ids[phone(2)]]
    r = await live.client.get(f"/api/v1/campaigns/{body['id']}/estimate", headers=live.headers)
    assert r.json()["estimate"]["recipients"] == 5
    assert r.json()["estimate"]["invalid"] == 1
    started = await action(live, body["id"], "start")
    assert started["progress"]["total"] == 6
    done = await until_state(live, body["id"], "completed")
    p = done["progress"]
    assert p["expanded"] == 6, p
    assert p["delivered"] + p["sent"] == 5 and p["skipped"] == 1
    assert done["cost"] == 5.0
    sent = Counter(simulator_sent(live))
    assert sent == Counter({phone(0): 1, phone(1): 1, phone(2): 1, ZOE: 1, phone(4): 1})
    r = await live.client.get(f"/api/v1/messages/{done['message_id']}", headers=live.headers)
    message = r.json()
    assert [rc["to"] for rc in message["recipients"]] == [
        phone(0), phone(1), phone(2), ZOE, phone(4), "+49171999999999",
    ]  # fmt: skip
    texts = {rc["to"]: rc.get("text") for rc in message["recipients"]}
    assert texts[phone(2)] == "Hi Name2!"
    assert texts[phone(4)] == "Hi Name4!"
    assert texts[ZOE] == "Hi !"


async def test_unknown_contact_id_is_refused(live: Live) -> None:
    r = await post(
        live, "/api/v1/campaigns",
        json={"name": "x", "text": "y", "targets": {"contacts": [424242]}},
    )  # fmt: skip
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "contact_not_found"


# What may change when --------------------------------------------------------------------


async def queued_dues(live: Live, message_id: str) -> list[int]:
    return [
        r["due_at"]
        for r in await recipient_rows(live, message_id)
        if r["status"] == "queued" and r["due_at"] is not None
    ]


async def test_edit_and_delete_follow_the_state(live: Live) -> None:
    await add_contacts(live, 6)
    body = await campaign(
        live,
        {"name": "slow", "text": "Hello", "targets": {"groups": ["customers"]}, "throttle": 1,
         "start": True},
    )  # fmt: skip
    cid = body["id"]
    view = await until_expanded(live, cid, 6)
    assert view["state"] == "running"
    for change in ({"throttle": 120}, {"name": "renamed"}, {"text": "Other"}):
        r = await live.client.patch(f"/api/v1/campaigns/{cid}", json=change,
                                    headers=live.headers)  # fmt: skip
        assert r.status_code == 409, r.text
        assert r.json()["error"]["code"] == "campaign_not_editable"
    r = await live.client.delete(f"/api/v1/campaigns/{cid}", headers=live.headers)
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "campaign_started"
    paused = await action(live, cid, "pause")
    assert paused["state"] == "paused"
    r = await live.client.patch(f"/api/v1/campaigns/{cid}", json={"throttle": 30, "name": "faster"},
                                headers=live.headers)  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["throttle"] == 30 and r.json()["name"] == "faster"
    assert r.json()["state"] == "paused"
    assert (await get(live, cid))["throttle"] == 30
    # The text of a campaign that has started sending is fixed, even when paused.
    r = await live.client.patch(f"/api/v1/campaigns/{cid}", json={"text": "Other"},
                                headers=live.headers)  # fmt: skip
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "campaign_not_editable"
    r = await live.client.delete(f"/api/v1/campaigns/{cid}", headers=live.headers)
    assert r.status_code == 409
    # Resumed, the held recipients follow the new throttle (30 per minute: 2 s apart).
    resumed = await action(live, cid, "resume")
    assert resumed["state"] == "running"
    dues = await queued_dues(live, view["message_id"])
    gaps = [b - a for a, b in itertools.pairwise(dues)]
    assert len(gaps) >= 2 and all(g == 2_000_000 for g in gaps), gaps
    cancelled = await action(live, cid, "cancel")
    assert cancelled["state"] == "cancelled"
    r = await live.client.patch(f"/api/v1/campaigns/{cid}", json={"name": "late"},
                                headers=live.headers)  # fmt: skip
    assert r.status_code == 409
    r = await live.client.delete(f"/api/v1/campaigns/{cid}", headers=live.headers)
    assert r.status_code == 409
    # A draft changes freely and can be deleted.
    draft = await campaign(live, {"name": "draft", "text": "x"})
    r = await live.client.patch(
        f"/api/v1/campaigns/{draft['id']}",
        json={"text": "y", "throttle": 10, "quiet_hours": {"start": "22:00", "end": "07:30"},
              "targets": {"numbers": [ZOE]}},
        headers=live.headers,
    )  # fmt: skip
    assert r.status_code == 200, r.text
    changed = r.json()
    assert changed["text"] == "y" and changed["throttle"] == 10
    assert changed["quiet_hours"] == {"start": "22:00", "end": "07:30"}
    assert changed["targets"]["numbers"] == [ZOE]
    r = await live.client.patch(f"/api/v1/campaigns/{draft['id']}", json={"throttle": 0},
                                headers=live.headers)  # fmt: skip
    assert r.json()["throttle"] is None
    r = await live.client.delete(f"/api/v1/campaigns/{draft['id']}", headers=live.headers)
    assert r.status_code == 204
    r = await live.client.get(f"/api/v1/campaigns/{draft['id']}", headers=live.headers)
    assert r.status_code == 404


async def test_list_by_state_with_cursor(live: Live) -> None:
    drafts = [(await campaign(live, {"name": f"d{i}", "text": "x"}))["id"] for i in range(5)]
    running = await campaign(
        live, {"name": "r", "text": "x", "targets": {"numbers": [ZOE]}, "throttle": 1}
    )
    await action(live, running["id"], "start")
    gone = await campaign(live, {"name": "c", "text": "x", "targets": {"numbers": [ZOE]}})
    await action(live, gone["id"], "cancel")

    async def page(**params: Any) -> dict[str, Any]:
        r = await live.client.get("/api/v1/campaigns", params=params, headers=live.headers)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"state": "draft", "limit": 2}
        if cursor is not None:
            params["cursor"] = cursor
        body = await page(**params)
        assert all(c["state"] == "draft" for c in body["campaigns"])
        seen += [c["id"] for c in body["campaigns"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert pages < 10
    assert seen == sorted(drafts, reverse=True)
    assert pages == 3
    assert [c["id"] for c in (await page(state="cancelled"))["campaigns"]] == [gone["id"]]
    states = {c["id"]: c["state"] for c in (await page())["campaigns"]}
    assert states[running["id"]] in ("running", "completed")
    assert len(states) == 7
    everything = await page(limit=7)
    assert len(everything["campaigns"]) == 7 and everything["next_cursor"] is not None
    assert (await page(limit=7, cursor=everything["next_cursor"]))["campaigns"] == []
    r = await live.client.get("/api/v1/campaigns", params={"state": "sleeping"},
                              headers=live.headers)  # fmt: skip
    assert r.status_code == 422
    r = await live.client.get("/api/v1/campaigns", params={"cursor": "abc"}, headers=live.headers)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_cursor"


# Transactional and test campaigns ----------------------------------------------------------


async def test_transactional_campaign_reaches_opted_out_numbers(live: Live) -> None:
    await add_contacts(live, 3)
    r = await post(live, "/api/v1/opt-outs", json={"numbers": [phone(1), ZOE]})
    assert r.status_code == 201, r.text
    body = await campaign(
        live,
        {"name": "outage", "text": "Service notice", "transactional": True,
         "targets": {"groups": ["customers"], "numbers": [ZOE]}},
    )  # fmt: skip
    assert body["transactional"] is True
    r = await live.client.get(f"/api/v1/campaigns/{body['id']}/estimate", headers=live.headers)
    estimate = r.json()["estimate"]
    assert estimate["recipients"] == 4 and estimate["opted_out"] == 0
    await action(live, body["id"], "start")
    done = await until_state(live, body["id"], "completed")
    p = done["progress"]
    assert p["expanded"] == 4 and p["skipped"] == 0
    assert p["delivered"] + p["sent"] == 4
    assert sorted(simulator_sent(live)) == sorted([phone(0), phone(1), phone(2), ZOE])
    # The same as a newsletter skips them.
    news = await campaign(
        live,
        {"name": "news", "text": "Newsletter", "targets": {"groups": ["customers"],
                                                           "numbers": [ZOE]}, "start": True},
    )  # fmt: skip
    done = await until_state(live, news["id"], "completed")
    assert done["progress"]["skipped"] == 2 and done["progress"]["expanded"] == 4


async def test_test_campaign_never_dispatches_and_costs_nothing(live: Live) -> None:
    await add_contacts(live, 4)
    body = await campaign(
        live,
        {"name": "dry run", "text": "Hi {{firstname}}", "test": True,
         "targets": {"groups": ["customers"], "numbers": [ZOE]}, "missing_fields": "empty",
         "start": True},
    )  # fmt: skip
    assert body["test"] is True
    view = await until_expanded(live, body["id"], 5)
    await asyncio.sleep(1.0)
    view = await get(live, body["id"])
    assert view["cost"] == 0.0
    p = view["progress"]
    assert p["sent"] == p["delivered"] == p["sending"] == 0
    assert simulator_sent(live) == []
    assert await balance(live, live.headers) == 0.0
    rows = await recipient_rows(live, view["message_id"])
    assert len(rows) == 5 and all(r["due_at"] is None for r in rows)
    r = await live.client.get(f"/api/v1/messages/{view['message_id']}", headers=live.headers)
    assert r.json()["test"] is True
    # Nothing is left to do: the campaign is over once every recipient is written.
    await until_state(live, body["id"], "completed", timeout=5)


async def test_test_campaign_stays_unsent_after_pause_and_resume(
    live_factory: Any, database_url: str
) -> None:
    """Resuming gives held recipients due times; a test campaign's recipients were never due
    and must not become so. The runner is stepped by hand so that the campaign can be paused
    between its expansion and its completion."""
    live: Live = await live_factory(database_url, dispatch=False)
    runner = CampaignRunner(live.gateway.db, live.gateway.send, live.gateway.billing, lambda: None)
    await add_contacts(live, 3)
    body = await campaign(
        live,
        {"name": "dry run", "text": "Hello", "test": True, "targets": {"groups": ["customers"]},
         "start": True},
    )  # fmt: skip
    for _ in range(10):
        view = await get(live, body["id"])
        if view["progress"]["expanded"] == 3:
            break
        await runner.tick()
    assert view["progress"]["expanded"] == 3 and view["state"] == "running"
    assert (await action(live, body["id"], "pause"))["state"] == "paused"
    await action(live, body["id"], "resume")
    rows = await recipient_rows(live, view["message_id"])
    assert [r["due_at"] for r in rows] == [None, None, None]
    for _ in range(5):  # the (empty) numbers phase, then completion
        await runner.tick()
    done = await get(live, body["id"])
    assert done["state"] == "completed"
    p = done["progress"]
    assert p["sent"] == p["delivered"] == p["sending"] == 0


async def test_test_campaign_needs_no_credit(live: Live) -> None:
    headers = await prepaid_account(live, "broke", "0.5")
    await add_contacts_as(live, headers, 3)
    r = await post(
        live, "/api/v1/campaigns", headers,
        json={"name": "dry", "text": "Hi", "test": True, "targets": {"groups": ["customers"]},
              "start": True},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    await until_expanded(live, r.json()["id"], 3, headers)
    assert await balance(live, headers) == 0.5
    assert simulator_sent(live) == []


async def test_cancel_refunds_what_was_charged(live: Live) -> None:
    """A prepaid campaign held by quiet hours: cancelling it refunds every queued recipient."""
    headers = await prepaid_account(live, "refunded", "10")
    start, end, _ = quiet_window(ZoneInfo("UTC"))
    await add_contacts_as(live, headers, 4)
    r = await post(
        live, "/api/v1/campaigns", headers,
        json={"name": "held", "text": "Hi", "targets": {"groups": ["customers"]},
              "quiet_hours": {"start": start, "end": end}, "start": True},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    await until_expanded(live, cid, 4, headers)
    assert await balance(live, headers) == 6.0
    cancelled = await action(live, cid, "cancel", headers)
    assert cancelled["state"] == "cancelled"
    assert cancelled["progress"]["cancelled"] == 4
    assert await balance(live, headers) == 10.0
    assert simulator_sent(live) == []


async def test_cancelling_a_test_campaign_refunds_nothing(
    live_factory: Any, database_url: str
) -> None:
    """A test campaign is never charged, so cancelling it must not credit the account."""
    live: Live = await live_factory(database_url, dispatch=False)
    runner = CampaignRunner(live.gateway.db, live.gateway.send, live.gateway.billing, lambda: None)
    headers = await prepaid_account(live, "tester", "0.5")
    await add_contacts_as(live, headers, 3)
    r = await post(
        live, "/api/v1/campaigns", headers,
        json={"name": "dry", "text": "Hi", "test": True, "targets": {"groups": ["customers"]},
              "start": True},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    for _ in range(10):
        r = await live.client.get(f"/api/v1/campaigns/{cid}", headers=headers)
        if r.json()["progress"]["expanded"] == 3:
            break
        await runner.tick()
    assert r.json()["state"] == "running"
    assert await balance(live, headers) == 0.5
    cancelled = await action(live, cid, "cancel", headers)
    assert cancelled["state"] == "cancelled"
    assert cancelled["cost"] == 0.0
    assert await balance(live, headers) == 0.5  # not 3.5


# Priority ----------------------------------------------------------------------------------


async def test_high_priority_is_stored_reported_and_priced(live: Live) -> None:
    account = await live.gateway.accounts.get("default")
    await live.gateway.billing.configure(account.id, high_surcharge="0.5", actor="test")
    await add_contacts(live, 3)
    body = await campaign(
        live,
        {"name": "urgent", "text": "Now", "priority": "high",
         "targets": {"groups": ["customers"]}},
    )  # fmt: skip
    assert body["priority"] == "high"
    assert (await get(live, body["id"]))["priority"] == "high"
    r = await live.client.get("/api/v1/campaigns", headers=live.headers)
    assert r.json()["campaigns"][0]["priority"] == "high"
    r = await live.client.get(f"/api/v1/campaigns/{body['id']}/estimate", headers=live.headers)
    assert r.json()["estimate"]["price"] == 4.5
    await action(live, body["id"], "start")
    done = await until_state(live, body["id"], "completed")
    assert done["priority"] == "high"
    assert done["cost"] == 4.5
    rows = await recipient_rows(live, done["message_id"])
    assert [r["priority"] for r in rows] == [1, 1, 1]
    r = await live.client.get(f"/api/v1/messages/{done['message_id']}", headers=live.headers)
    assert r.json()["priority"] == "high"
    # Back to normal on a draft; a bad value is refused.
    other = await campaign(live, {"name": "o", "text": "x", "priority": "high"})
    r = await live.client.patch(f"/api/v1/campaigns/{other['id']}", json={"priority": "normal"},
                                headers=live.headers)  # fmt: skip
    assert r.json()["priority"] == "normal"
    r = await post(live, "/api/v1/campaigns", json={"name": "b", "text": "x", "priority": "max"})
    assert r.status_code == 422
    plain = await campaign(live, {"name": "p", "text": "x"})
    assert plain["priority"] == "normal"
