"""Sending to the address book over real HTTP, on SQLite and PostgreSQL: groups and contact names
in `to`, {{placeholders}} filled per recipient, the opt-out list, preview, drafts, rescheduling."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import Live, wait_for

ANNA = "+4917612345601"
BERND = "+4917612345602"
CLARA = "+4917612345603"
DORA = "+4917612345604"
ZOE = "+4917612345699"  # not a contact
INVALID = "+49171999999999"


@pytest.fixture
async def book(live: Live) -> dict[str, int]:
    """Four contacts in three groups (reload lock off: tests send alike texts); the group ids."""
    await live.gateway.accounts.set_limits("default", {"reload_window": 0})
    r = await live.client.post(
        "/api/v1/contacts",
        json=[
            {
                "phone": ANNA,
                "firstname": "Anna",
                "lastname": "Schmidt",
                "extra1": "A-1",
                "groups": ["customers"],
            },
            {
                "phone": BERND,
                "firstname": "Bernd",
                "lastname": "Müller",
                "extra1": "B-2",
                "groups": ["customers", "vip"],
            },
            {"phone": CLARA, "firstname": "Clara", "extra1": "C-3", "groups": ["vip"]},
            {"phone": DORA, "lastname": "Dorn", "groups": ["nameless"]},
        ],
        headers=live.headers,
    )
    assert r.status_code == 200 and r.json()["errors"] == [], r.text
    r = await live.client.get("/api/v1/groups", headers=live.headers)
    return {g["name"]: g["id"] for g in r.json()["groups"]}


async def send(live: Live, headers: dict[str, str] | None = None, **body: Any) -> httpx.Response:
    return await live.client.post("/api/v1/messages", json=body, headers=headers or live.headers)


async def accepted(live: Live, **body: Any) -> dict[str, Any]:
    r = await send(live, **body)
    assert r.status_code == 202, r.text
    result: dict[str, Any] = r.json()
    return result


async def detail(
    live: Live, message_id: str, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    r = await live.client.get(f"/api/v1/messages/{message_id}", headers=headers or live.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def until_status(
    live: Live, message_id: str, status: str, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        body = await detail(live, message_id, headers)
        return body if body["status"] == status else None

    result: dict[str, Any] = await wait_for(check)
    return result


async def message_count(live: Live, headers: dict[str, str] | None = None) -> int:
    r = await live.client.get(
        "/api/v1/messages", params={"limit": 500}, headers=headers or live.headers
    )
    return len(r.json()["messages"])


async def prepaid_account(live: Live, name: str, credits: str) -> dict[str, str]:
    account = await live.gateway.accounts.create(name)
    await live.gateway.billing.configure(account.id, prepaid=True, actor="test")
    await live.gateway.billing.credit(account.id, credits, note="test", actor="test")
    key = (await live.gateway.keys.create(account=name)).key
    return {"Authorization": f"Bearer {key}"}


async def balance(live: Live, headers: dict[str, str]) -> float:
    r = await live.client.get("/api/v1/balance", headers=headers)
    assert r.status_code == 200, r.text
    value: float = r.json()["balance"]
    return value


async def opt_out(live: Live, *numbers: str, headers: dict[str, str] | None = None) -> None:
    r = await live.client.post(
        "/api/v1/opt-outs", json={"numbers": list(numbers)}, headers=headers or live.headers
    )
    assert r.status_code == 201, r.text


def simulator_texts(live: Live) -> dict[str, str]:
    """What the simulator channel was handed, by number."""
    assert live.gateway.dispatcher is not None
    connector = live.gateway.dispatcher.router.connectors["simulator"]
    return {sms.to: sms.text for sms in connector.sent}  # type: ignore[attr-defined]


def later(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def texts(body: dict[str, Any]) -> dict[str, str | None]:
    return {r["to"]: r.get("text") for r in body["recipients"]}


# Addressing ---------------------------------------------------------------------------


async def test_groups_contact_names_and_numbers_each_number_once(
    live: Live, book: dict[str, int]
) -> None:
    body = await accepted(
        live,
        to=["group:customers", f"group:{book['vip']}", "vip", "Clara", ANNA, "004917612345699"],
        text="Season's greetings",
    )
    assert [r["to"] for r in body["recipients"]] == [ANNA, BERND, CLARA, ZOE]
    assert all(r["status"] == "queued" for r in body["recipients"])
    assert all("text" not in r for r in body["recipients"])  # no placeholders: one text
    assert body["price"] == 4.0
    final = await until_status(live, body["id"], "delivered")
    assert [r["to"] for r in final["recipients"]] == [ANNA, BERND, CLARA, ZOE]
    assert set(simulator_texts(live)) == {ANNA, BERND, CLARA, ZOE}


async def test_group_forms(live: Live, book: dict[str, int]) -> None:
    for to in ("group:vip", "GROUP: vip", f"group:{book['vip']}", "vip", ["vip"], f"vip, {BERND}"):
        body = await accepted(live, to=to, text=f"to {to}")
        assert [r["to"] for r in body["recipients"]] == [BERND, CLARA], to


async def test_unknown_group_is_refused_and_nothing_queued(
    live: Live, book: dict[str, int]
) -> None:
    r = await send(live, to=["group:nope", ANNA], text="x")
    assert r.status_code == 404, r.text
    assert r.json()["error"]["code"] == "group_not_found"
    r = await send(live, to="group:999999", text="x")
    assert r.status_code == 404
    assert await message_count(live) == 0


async def test_contact_names(live: Live, book: dict[str, int]) -> None:
    body = await accepted(live, to=["anna schmidt", "MÜLLER", "Clara", "Dorn"], text="names")
    assert [r["to"] for r in body["recipients"]] == [ANNA, BERND, CLARA, DORA]
    # neither group nor contact: rejected as a number, the others go ahead
    body = await accepted(live, to=["Nobody", ANNA], text="who")
    assert [(r["to"], r["status"]) for r in body["recipients"]] == [
        ("Nobody", "rejected"),
        (ANNA, "queued"),
    ]
    assert body["recipients"][0]["error"]["code"] == "invalid_number"
    # two contacts of that name: refused, nothing guessed
    await live.client.post(
        "/api/v1/contacts", json={"phone": ZOE, "firstname": "Anna"}, headers=live.headers
    )
    r = await send(live, to="Anna", text="which one")
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "ambiguous_contact"


async def test_batch_items_address_the_book_too(live: Live, book: dict[str, int]) -> None:
    r = await live.client.post(
        "/api/v1/messages/batch",
        json={
            "messages": [
                {"to": "group:vip", "text": "batch {{firstname}}"},
                {"to": ANNA, "text": "plain"},
            ]
        },
        headers=live.headers,
    )
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["errors"] == []
    first = body["messages"][0]
    assert texts(first) == {BERND: "batch Bernd", CLARA: "batch Clara"}


# Personalisation ----------------------------------------------------------------------


async def test_placeholders_from_contacts_and_request_fields(
    live: Live, book: dict[str, int]
) -> None:
    body = await accepted(
        live,
        to=[
            "group:customers",
            {"number": CLARA, "fields": {"firstname": "Clarissa"}},  # overrides the contact
            {"number": ZOE, "fields": {"firstname": "Zoe", "extra1": "Z-9"}},
            {"number": "vip"},  # Bernd and Clara again: each number once
        ],
        text="Hi {{ firstname }}, your code {{EXTRA1}}",
    )
    expected = {
        ANNA: "Hi Anna, your code A-1",
        BERND: "Hi Bernd, your code B-2",
        CLARA: "Hi Clarissa, your code C-3",  # contact's extra1 under the request's firstname
        ZOE: "Hi Zoe, your code Z-9",
    }
    assert texts(body) == expected
    assert all(r["parts"] == 1 for r in body["recipients"])
    final = await until_status(live, body["id"], "delivered")
    assert texts(final) == expected
    assert final["text"] == "Hi {{ firstname }}, your code {{EXTRA1}}"  # the template
    assert all(r["encoding"] == "gsm7" and r["parts_count"] == 1 for r in final["recipients"])
    # the channel was handed each recipient's own text
    sent = simulator_texts(live)
    assert {n: sent[n] for n in expected} == expected


async def test_a_plain_number_of_a_contact_gets_its_fields(
    live: Live, book: dict[str, int]
) -> None:
    body = await accepted(
        live,
        to=["004917612345601", {"number": BERND, "fields": {"lastname": "Meyer"}}],
        text="Dear {{firstname}} {{lastname}}",
    )
    assert texts(body) == {ANNA: "Dear Anna Schmidt", BERND: "Dear Bernd Meyer"}


async def test_request_field_names_are_case_insensitive(live: Live, book: dict[str, int]) -> None:
    # {{FirstName}} in the text and "FirstName" in the fields are the same placeholder
    r = await send(
        live, to=[{"number": ZOE, "fields": {"FirstName": "Zoe"}}], text="Hi {{FirstName}}"
    )
    assert r.status_code == 202, r.text
    assert texts(r.json()) == {ZOE: "Hi Zoe"}


async def test_missing_placeholder_refuses_the_message(live: Live, book: dict[str, int]) -> None:
    r = await send(live, to=["group:customers", "group:nameless"], text="Hi {{firstname}}")
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "missing_field"
    assert "{{firstname}}" in error["message"]
    r = await send(live, to=[ZOE], text="Hi {{firstname}}")
    assert r.status_code == 422 and r.json()["error"]["code"] == "missing_field"
    await asyncio.sleep(0.2)
    assert await message_count(live) == 0
    assert simulator_texts(live) == {}


async def test_missing_fields_empty(live: Live, book: dict[str, int]) -> None:
    body = await accepted(
        live, to=["group:nameless", ANNA], text="Hi {{firstname}}!", missing_fields="empty"
    )
    assert texts(body) == {DORA: "Hi !", ANNA: "Hi Anna!"}
    r = await send(live, to=ANNA, text="x", missing_fields="maybe")
    assert r.status_code == 422


async def test_personalised_texts_may_differ_in_parts_and_encoding(
    live: Live, book: dict[str, int]
) -> None:
    body = await accepted(
        live,
        to=[
            {"number": ANNA, "fields": {"extra2": "x" * 160}},
            {"number": BERND, "fields": {"extra2": "Привет"}},
            {"number": CLARA, "fields": {"extra2": "ok"}},
        ],
        text="{{firstname}}: {{extra2}}",
    )
    by_to = {r["to"]: r for r in body["recipients"]}
    assert by_to[ANNA]["parts"] == 2 and by_to[BERND]["parts"] == 1
    assert body["parts"] == 2  # the most any recipient needs
    assert body["price"] == 4.0  # 2 + 1 + 1 parts
    final = await until_status(live, body["id"], "delivered")
    by_to = {r["to"]: r for r in final["recipients"]}
    assert by_to[BERND]["encoding"] == "ucs2" and by_to[ANNA]["encoding"] == "gsm7"
    assert len(by_to[ANNA]["parts"]) == 2
    assert simulator_texts(live)[BERND] == "Bernd: Привет"


async def test_channel(live: Live, book: dict[str, int]) -> None:
    body = await accepted(live, to=ANNA, text="via the simulator", channel="simulator")
    await until_status(live, body["id"], "delivered")
    r = await send(live, to=ANNA, text="x", channel="pigeon")
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_channel"


# Opt-outs -----------------------------------------------------------------------------


async def test_opted_out_numbers_are_rejected_and_not_charged(live: Live) -> None:
    headers = await prepaid_account(live, "shop", "10")
    await opt_out(live, BERND, headers=headers)
    r = await send(live, headers, to=[ANNA, BERND, CLARA], text="Sale!")
    assert r.status_code == 202, r.text
    body = r.json()
    statuses = {x["to"]: (x["status"], x.get("error", {}).get("code")) for x in body["recipients"]}
    assert statuses == {
        ANNA: ("queued", None),
        BERND: ("rejected", "opted_out"),
        CLARA: ("queued", None),
    }
    assert body["price"] == 2.0 and body["balance"] == 8.0
    assert await balance(live, headers) == 8.0
    final = await detail(live, body["id"], headers)
    assert final["price"] == 2.0
    bernd = next(x for x in final["recipients"] if x["to"] == BERND)
    assert bernd["status"] == "rejected" and bernd["price"] == 0.0
    assert bernd["error"]["code"] == "opted_out"
    # a transactional message goes to them all
    r = await send(live, headers, to=[ANNA, BERND, CLARA], text="Code 1234", transactional=True)
    body = r.json()
    assert r.status_code == 202 and body["status"] == "queued"
    assert body["price"] == 3.0 and await balance(live, headers) == 5.0
    r = await live.client.get(f"/api/v1/messages/{body['id']}", headers=headers)
    assert r.json()["price"] == 3.0


async def test_opted_out_recipients_do_not_count_against_the_balance(live: Live) -> None:
    headers = await prepaid_account(live, "tight", "1")
    await opt_out(live, BERND, headers=headers)
    r = await send(live, headers, to=[ANNA, BERND], text="one credit")
    assert r.status_code == 202, r.text
    assert r.json()["price"] == 1.0 and await balance(live, headers) == 0.0


async def test_opted_out_contacts_in_a_group(live: Live, book: dict[str, int]) -> None:
    r = await live.client.post(
        "/api/v1/contacts", json={"phone": BERND, "unsubscribed": True}, headers=live.headers
    )
    assert r.status_code == 200
    body = await accepted(live, to="group:customers", text="Hi {{firstname}}")
    assert [(x["to"], x["status"]) for x in body["recipients"]] == [
        (ANNA, "queued"),
        (BERND, "rejected"),
    ]
    assert body["price"] == 1.0

    async def settled() -> dict[str, Any] | None:
        final = await detail(live, body["id"])
        return final if final["summary"] == {"delivered": 1, "rejected": 1} else None

    final = await wait_for(settled)
    assert [x["status"] for x in final["recipients"]] == ["delivered", "rejected"]
    assert simulator_texts(live) == {ANNA: "Hi Anna"}


async def test_batch_items_honour_the_opt_out_list(live: Live) -> None:
    await opt_out(live, BERND)
    r = await live.client.post(
        "/api/v1/messages/batch",
        json={
            "messages": [
                {"to": [ANNA, BERND], "text": "a"},
                {"to": BERND, "text": "b", "transactional": True},
            ]
        },
        headers=live.headers,
    )
    assert r.status_code == 202, r.text
    first, second = r.json()["messages"]
    stored = await detail(live, first["id"])  # the database has it right
    assert stored["recipients"][1]["status"] == "rejected"
    assert stored["recipients"][1]["error"]["code"] == "opted_out"
    assert stored["price"] == 1.0
    # the reply says what was stored
    assert [x["status"] for x in first["recipients"]] == ["queued", "rejected"]
    assert first["recipients"][1]["error"]["code"] == "opted_out"
    assert first["price"] == 1.0
    assert second["recipients"][0]["status"] == "queued"
    assert r.json()["balance"] == -2.0


async def test_test_message_to_an_opted_out_number_is_not_priced_below_zero(live: Live) -> None:
    await opt_out(live, BERND)
    body = await accepted(live, to=[ANNA, BERND], text="dry run", test=True)
    assert body["recipients"][1]["error"]["code"] == "opted_out"
    assert body["price"] == 1.0  # what it would cost
    stored = await detail(live, body["id"])
    assert stored["test"] is True
    assert stored["price"] == 0.0  # nothing is charged for a test message
    assert await balance(live, live.headers) == 0.0


# Preview ------------------------------------------------------------------------------


async def test_preview_renders_prices_and_rejects_without_writing(
    live: Live, book: dict[str, int]
) -> None:
    await opt_out(live, CLARA)
    r = await live.client.post(
        "/api/v1/messages/preview",
        json={
            "to": [
                "group:customers",
                "vip",
                INVALID,
                {"number": ZOE, "fields": {"firstname": "Zoe " + "o" * 160}},
            ],
            "text": "Hi {{firstname}}",
        },
        headers=live.headers,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    by_to = {x["to"]: x for x in body["recipients"]}
    assert list(by_to) == [ANNA, BERND, CLARA, INVALID, ZOE]
    assert by_to[ANNA] == {
        "to": ANNA,
        "status": "ok",
        "text": "Hi Anna",
        "encoding": "gsm7",
        "parts": 1,
        "price": 1.0,
    }
    assert by_to[CLARA]["status"] == "rejected" and by_to[CLARA]["price"] == 0.0
    assert by_to[CLARA]["error"]["code"] == "opted_out"
    assert by_to[INVALID]["status"] == "rejected"
    assert by_to[INVALID]["error"]["code"] == "invalid_number"
    assert by_to[ZOE]["parts"] == 2 and by_to[ZOE]["price"] == 2.0
    assert body["count"] == 5 and body["rejected"] == 2
    assert body["price"] == 4.0 and body["parts"] == 2
    # nothing written, nothing charged, nothing sent
    await asyncio.sleep(0.2)
    assert await message_count(live) == 0
    assert await balance(live, live.headers) == 0.0
    assert simulator_texts(live) == {}
    # the first few only; transactional ones reach opted-out numbers
    r = await live.client.post(
        "/api/v1/messages/preview",
        params={"sample": 2},
        json={"to": ["vip"], "text": "Code 9", "transactional": True},
        headers=live.headers,
    )
    body = r.json()
    assert [(x["to"], x["status"], x["text"]) for x in body["recipients"]] == [
        (BERND, "ok", "Code 9"),
        (CLARA, "ok", "Code 9"),
    ]
    r = await live.client.post(
        "/api/v1/messages/preview",
        params={"sample": 1},
        json={"to": ["vip"], "text": "x"},
        headers=live.headers,
    )
    assert r.json()["count"] == 1


async def test_preview_refuses_what_a_send_refuses(live: Live, book: dict[str, int]) -> None:
    r = await live.client.post(
        "/api/v1/messages/preview",
        json={"to": "group:nameless", "text": "Hi {{firstname}}"},
        headers=live.headers,
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "missing_field"
    r = await live.client.post(
        "/api/v1/messages/preview", json={"to": "group:nope", "text": "x"}, headers=live.headers
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "group_not_found"
    assert await message_count(live) == 0


# Drafts -------------------------------------------------------------------------------


async def test_draft_collects_recipients_then_goes_out_when_closed(
    live: Live, book: dict[str, int]
) -> None:
    body = await accepted(live, to=ANNA, text="Hello {{firstname}}", draft=True)
    mid = body["id"]
    assert body["status"] == "draft" and body["draft"] is True
    assert [(x["to"], x["status"], x["text"]) for x in body["recipients"]] == [
        (ANNA, "draft", "Hello Anna")
    ]
    stored = await detail(live, mid)
    assert stored["status"] == "draft" and stored["draft"] is True
    assert stored["price"] == 0.0
    assert stored["recipients"][0]["history"][0]["status"] == "draft"
    await asyncio.sleep(0.3)
    assert (await detail(live, mid))["status"] == "draft"
    assert live.gateway.dispatcher is not None and live.gateway.dispatcher.sent == 0
    # more recipients, in later calls; numbers already there are skipped
    r = await live.client.post(
        f"/api/v1/messages/{mid}/recipients",
        json={"to": ["group:vip", "004917612345601"]},
        headers=live.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["added"] == 2
    assert [x["to"] for x in r.json()["recipients"]] == [ANNA, BERND, CLARA]
    r = await live.client.post(
        f"/api/v1/messages/{mid}/recipients",
        json={"to": [BERND, {"number": ZOE, "fields": {"firstname": "Zoe"}}]},
        headers=live.headers,
    )
    assert r.json()["added"] == 1
    assert texts(r.json()) == {
        ANNA: "Hello Anna",
        BERND: "Hello Bernd",
        CLARA: "Hello Clara",
        ZOE: "Hello Zoe",
    }
    assert r.json()["status"] == "draft" and r.json()["price"] == 0.0
    # a send time, then none again
    r = await live.client.patch(
        f"/api/v1/messages/{mid}", json={"send_at": later(hours=1)}, headers=live.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["send_at"] is not None and r.json()["status"] == "draft"
    r = await live.client.patch(
        f"/api/v1/messages/{mid}", json={"send_at": None}, headers=live.headers
    )
    assert r.json()["send_at"] is None
    # close: priced, charged and queued
    r = await live.client.post(f"/api/v1/messages/{mid}/close", headers=live.headers)
    assert r.status_code == 200, r.text
    closed = r.json()
    assert closed["draft"] is False and closed["price"] == 4.0
    assert all(x["status"] != "draft" for x in closed["recipients"])
    assert await balance(live, live.headers) == -4.0
    final = await until_status(live, mid, "delivered")
    assert texts(final) == {
        ANNA: "Hello Anna",
        BERND: "Hello Bernd",
        CLARA: "Hello Clara",
        ZOE: "Hello Zoe",
    }
    assert simulator_texts(live) == texts(final)
    # closed for good
    r = await live.client.post(f"/api/v1/messages/{mid}/close", headers=live.headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_a_draft"
    r = await live.client.post(
        f"/api/v1/messages/{mid}/recipients", json={"to": DORA}, headers=live.headers
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_a_draft"
    assert len((await detail(live, mid))["recipients"]) == 4


async def test_draft_on_a_prepaid_account_is_charged_when_closed(live: Live) -> None:
    headers = await prepaid_account(live, "drafty", "10")
    r = await send(live, headers, to=[ANNA, BERND], text="Newsletter", draft=True)
    assert r.status_code == 202, r.text
    mid = r.json()["id"]
    assert "balance" not in r.json()
    assert await balance(live, headers) == 10.0
    r = await live.client.post(
        f"/api/v1/messages/{mid}/recipients", json={"to": [CLARA, DORA]}, headers=headers
    )
    assert r.json()["added"] == 2
    assert await balance(live, headers) == 10.0
    await opt_out(live, CLARA, headers=headers)  # between adding and closing
    r = await live.client.post(f"/api/v1/messages/{mid}/close", headers=headers)
    assert r.status_code == 200, r.text
    closed = r.json()
    assert closed["price"] == 3.0
    clara = next(x for x in closed["recipients"] if x["to"] == CLARA)
    assert clara["status"] == "rejected" and clara["error"]["code"] == "opted_out"
    assert clara["price"] == 0.0
    assert await balance(live, headers) == 7.0
    final = await until_status(live, mid, "mixed", headers)
    assert final["summary"].get("rejected") == 1


async def test_closing_a_draft_the_balance_cannot_pay_is_402(live: Live) -> None:
    headers = await prepaid_account(live, "poor", "1")
    r = await send(live, headers, to=[ANNA, BERND], text="too dear", draft=True)
    mid = r.json()["id"]
    r = await live.client.post(f"/api/v1/messages/{mid}/close", headers=headers)
    assert r.status_code == 402 and r.json()["error"]["code"] == "insufficient_credit"
    stored = await detail(live, mid, headers)
    assert stored["draft"] is True and stored["status"] == "draft"
    assert await balance(live, headers) == 1.0


async def test_scheduled_draft_closes_into_scheduled(live: Live, book: dict[str, int]) -> None:
    body = await accepted(live, to=ANNA, text="later", draft=True, send_at=later(hours=2))
    mid = body["id"]
    r = await live.client.post(f"/api/v1/messages/{mid}/close", headers=live.headers)
    assert r.json()["status"] == "scheduled" and r.json()["send_at"] is not None
    r = await live.client.patch(
        f"/api/v1/messages/{mid}", json={"send_at": None}, headers=live.headers
    )
    assert r.status_code == 200, r.text
    await until_status(live, mid, "delivered")


async def test_draft_keeps_its_missing_fields_policy(live: Live, book: dict[str, int]) -> None:
    body = await accepted(
        live, to=ANNA, text="Hi {{firstname}}", draft=True, missing_fields="empty"
    )
    mid = body["id"]
    r = await live.client.post(
        f"/api/v1/messages/{mid}/recipients", json={"to": [ZOE]}, headers=live.headers
    )
    assert r.status_code == 200, r.text
    assert texts(r.json()) == {ANNA: "Hi Anna", ZOE: "Hi "}


async def test_adding_an_empty_group_to_a_draft_adds_no_recipient(
    live: Live, book: dict[str, int]
) -> None:
    await live.client.post("/api/v1/groups", json={"name": "empty"}, headers=live.headers)
    body = await accepted(live, to=ANNA, text="x", draft=True)
    r = await live.client.post(
        f"/api/v1/messages/{body['id']}/recipients",
        json={"to": "group:empty"},
        headers=live.headers,
    )
    assert r.status_code in (200, 422), r.text
    assert [x["to"] for x in (await detail(live, body["id"]))["recipients"]] == [ANNA]


async def test_preview_of_an_empty_group_answers_as_a_send_does(
    live: Live, book: dict[str, int]
) -> None:
    await live.client.post("/api/v1/groups", json={"name": "empty"}, headers=live.headers)
    body = {"to": "group:empty", "text": "x"}
    sent = await send(live, to="group:empty", text="x")
    assert sent.status_code == 422 and sent.json()["error"]["code"] == "missing_recipient"
    r = await live.client.post("/api/v1/messages/preview", json=body, headers=live.headers)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "missing_recipient", r.text


async def test_recipients_added_to_a_draft_keep_its_encoding(
    live: Live, book: dict[str, int]
) -> None:
    body = await accepted(live, to=ANNA, text="Hi {{firstname}}", draft=True, encoding="ucs2")
    assert body["encoding"] == "ucs2"
    r = await live.client.post(
        f"/api/v1/messages/{body['id']}/recipients", json={"to": BERND}, headers=live.headers
    )
    assert r.status_code == 200, r.text
    assert {x["to"]: x["encoding"] for x in r.json()["recipients"]} == {
        ANNA: "ucs2",
        BERND: "ucs2",
    }


async def test_an_open_draft_does_not_trip_the_reload_lock(live: Live) -> None:
    # nothing has gone to ANNA yet: the draft only holds the number
    await accepted(live, to=ANNA, text="Your code is 1234", draft=True)
    r = await send(live, to=ANNA, text="Your code is 1234")
    assert r.status_code == 202, r.text


async def test_closing_a_draft_respects_the_daily_cap(live: Live) -> None:
    await live.gateway.accounts.set_limits("default", {"daily_cap": 1, "reload_window": 0})
    assert (await send(live, to=ANNA, text="first")).status_code == 202
    capped = await send(live, to=ANNA, text="second")
    assert capped.status_code == 429 and capped.json()["error"]["code"] == "daily_cap_reached"
    body = await accepted(live, to=ANNA, text="third", draft=True)
    r = await live.client.post(f"/api/v1/messages/{body['id']}/close", headers=live.headers)
    # the cap holds for a closed draft as for a send: refused (or the number rejected)
    if r.status_code == 200:
        assert r.json()["recipients"][0]["status"] == "rejected", r.text
    else:
        assert r.status_code == 429, r.text
    await asyncio.sleep(0.3)
    assert list(simulator_texts(live).values()) == ["first"]


async def test_a_cancelled_draft_takes_no_more_recipients(live: Live, book: dict[str, int]) -> None:
    body = await accepted(live, to=ANNA, text="x", draft=True)
    mid = body["id"]
    r = await live.client.delete(f"/api/v1/messages/{mid}", headers=live.headers)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    r = await live.client.post(
        f"/api/v1/messages/{mid}/recipients", json={"to": BERND}, headers=live.headers
    )
    assert r.status_code == 409, r.text
    r = await live.client.post(f"/api/v1/messages/{mid}/close", headers=live.headers)
    assert r.status_code == 409
    await asyncio.sleep(0.2)
    assert simulator_texts(live) == {}


async def test_draft_routes_refuse_unknown_messages(live: Live) -> None:
    for method, suffix, body in [
        ("POST", "/recipients", {"to": ANNA}),
        ("POST", "/close", None),
        ("PATCH", "", {"send_at": None}),
    ]:
        for mid in ("123456789", "abc"):
            r = await live.client.request(
                method, f"/api/v1/messages/{mid}{suffix}", json=body, headers=live.headers
            )
            assert r.status_code == 404, (method, suffix, r.text)
            assert r.json()["error"]["code"] == "message_not_found"


# Rescheduling -------------------------------------------------------------------------


async def test_reschedule_a_scheduled_message(live: Live) -> None:
    body = await accepted(live, to=ANNA, text="moved", send_at=later(hours=1))
    mid = body["id"]
    assert body["status"] == "scheduled"
    target = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)
    r = await live.client.patch(
        f"/api/v1/messages/{mid}", json={"send_at": target.isoformat()}, headers=live.headers
    )
    assert r.status_code == 200, r.text
    moved = r.json()
    assert moved["status"] == "scheduled"
    assert moved["send_at"] == target.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    # the expiry moves along with it
    assert moved["expires_at"] > body["expires_at"]
    # unix seconds work too; a time zone is required
    r = await live.client.patch(
        f"/api/v1/messages/{mid}",
        json={"send_at": int(target.timestamp()) + 60},
        headers=live.headers,
    )
    assert r.status_code == 200 and r.json()["send_at"] != moved["send_at"]
    r = await live.client.patch(
        f"/api/v1/messages/{mid}", json={"send_at": "2030-01-01T09:00"}, headers=live.headers
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_send_at"
    r = await live.client.patch(
        f"/api/v1/messages/{mid}", json={"send_at": later(days=1900)}, headers=live.headers
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "send_at_too_far"
    await asyncio.sleep(0.3)
    assert (await detail(live, mid))["status"] == "scheduled"
    # now: it goes out at once
    r = await live.client.patch(
        f"/api/v1/messages/{mid}", json={"send_at": None}, headers=live.headers
    )
    assert r.status_code == 200 and r.json()["send_at"] is None
    await until_status(live, mid, "delivered")
    r = await live.client.patch(
        f"/api/v1/messages/{mid}", json={"send_at": later(hours=1)}, headers=live.headers
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_sent"


async def test_reschedule_into_the_near_future(live: Live) -> None:
    body = await accepted(live, to=ANNA, text="soon", send_at=later(hours=1))
    mid = body["id"]
    r = await live.client.patch(
        f"/api/v1/messages/{mid}", json={"send_at": later(seconds=3)}, headers=live.headers
    )
    assert r.json()["status"] == "scheduled"
    await asyncio.sleep(0.5)
    assert (await detail(live, mid))["status"] == "scheduled"
    await until_status(live, mid, "delivered")
