"""Received SMS through a real gateway: reassembly, threading, routing, the inbound and
conversation APIs, opt-out keywords, simulated replies and the ``message.inbound`` webhook."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from smsbridge.connectors.base import InboundSms
from smsbridge.core.encoding import segment
from smsbridge.store.db import now_us
from smsbridge.testing.webhook_receiver import WebhookReceiver
from tests.conftest import Live, wait_for

FAST = {"simulator_dlr_delay_ms": 10, "poll_interval_ms": 20, "events_poll_interval_ms": 20}
ANNA = "+4917612345601"
BEN = "+4917612345602"
CARL = "+4917612345603"
DORA = "+4917612345604"

GSM_LONG = (
    "Hello, this is a long message that will not fit into one SMS. It has to be split into "
    "several parts by the handset and put together again by the gateway, in the right order, "
    "whatever order the parts arrive in. Even the € sign and {braces} [brackets] ~tilde^ "
    "take two septets each; they must survive the trip. The end."
)
UCS2_LONG = (
    "Привет! Это длинное сообщение на русском языке, которое не помещается в одну SMS: "
    "70 символов UCS-2 на часть, 67 в составной. 你好 🙂 — конец."
)


def iso_us(value: int) -> str:
    return datetime.fromtimestamp(value / 1_000_000, UTC).isoformat().replace("+00:00", "Z")


async def simulate(
    live: Live, sender: str, text: str, headers: dict[str, str] | None = None, **extra: Any
) -> str | None:
    r = await live.client.post(
        "/api/v1/simulator/inbound",
        json={"from": sender, "text": text, **extra},
        headers=headers or live.headers,
    )
    assert r.status_code == 201, r.text
    inbound_id: str | None = r.json()["inbound_id"]
    return inbound_id


async def receive(live: Live, sender: str, text: str, **fields: Any) -> int | None:
    """Hand an SMS to the gateway as a channel would."""
    channel = fields.pop("channel", "simulator")
    return await live.gateway.inbound.receive(InboundSms(channel, sender, text, **fields))


async def send(
    live: Live, to: str, text: str, headers: dict[str, str] | None = None, **extra: Any
) -> dict[str, Any]:
    r = await live.client.post(
        "/api/v1/messages", json={"to": to, "text": text, **extra}, headers=headers or live.headers
    )
    assert r.status_code == 202, r.text
    body: dict[str, Any] = r.json()
    return body


async def inbound_list(
    live: Live, headers: dict[str, str] | None = None, **params: Any
) -> dict[str, Any]:
    r = await live.client.get("/api/v1/inbound", params=params, headers=headers or live.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def texts(live: Live, headers: dict[str, str] | None = None, **params: Any) -> list[str]:
    return [m["text"] for m in (await inbound_list(live, headers, **params))["inbound"]]


async def second_account(live: Live, name: str = "second") -> dict[str, str]:
    await live.gateway.accounts.create(name)
    key = await live.gateway.keys.create(account=name)
    return {"Authorization": f"Bearer {key.key}"}


# Reassembly ------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "encoding"), [(GSM_LONG, "gsm7"), (UCS2_LONG, "ucs2")])
async def test_a_long_text_arrives_in_parts_and_is_stored_once(
    live_factory: Any, database_url: str, text: str, encoding: str
) -> None:
    live = await live_factory(database_url, **FAST)
    split = segment(text, "auto", max_parts=255)
    assert split.encoding.value == encoding
    assert len(split.parts) >= 3
    inbound_id = await simulate(live, ANNA, text)
    assert inbound_id is not None
    rows = (await inbound_list(live))["inbound"]
    assert len(rows) == 1
    row = rows[0]
    assert row["id"] == inbound_id
    assert row["text"] == text
    assert row["parts"] == len(split.parts)
    assert row["incomplete"] is False
    assert row["from"] == ANNA
    r = await live.client.get(f"/api/v1/inbound/{inbound_id}", headers=live.headers)
    assert r.status_code == 200 and r.json()["text"] == text


async def test_a_very_long_text(live_factory: Any, database_url: str) -> None:
    live = await live_factory(database_url, **FAST)
    text = "".join(f"line {n:04d}: abcdefghij\n" for n in range(200))  # 4200 characters
    inbound_id = await simulate(live, ANNA, text)
    r = await live.client.get(f"/api/v1/inbound/{inbound_id}", headers=live.headers)
    assert r.json()["text"] == text
    assert r.json()["parts"] == len(segment(text, "auto", max_parts=255).parts)


async def test_parts_out_of_order_and_duplicated(live_factory: Any, database_url: str) -> None:
    live = await live_factory(database_url, **FAST)
    pieces = {1: "The first part, ", 2: "the second part, ", 3: "and the third."}
    order = [3, 1, 3, 1, 2]  # parts 3 and 1 come twice before 2 completes the set
    results = [
        await receive(live, ANNA, pieces[seq], concat=(42, 3, seq), to="+4930123456")
        for seq in order
    ]
    assert results[:4] == [None, None, None, None]
    assert results[4] is not None
    rows = (await inbound_list(live))["inbound"]
    assert len(rows) == 1
    assert rows[0]["text"] == "The first part, the second part, and the third."
    assert rows[0]["parts"] == 3
    assert rows[0]["to"] == "+4930123456"
    assert rows[0]["incomplete"] is False
    # the conversation counts the message once
    r = await live.client.get("/api/v1/conversations", headers=live.headers)
    assert [(c["number"], c["unread"], c["inbound_count"]) for c in r.json()["conversations"]] == [
        (ANNA, 1, 1)
    ]


async def test_interleaved_sets_from_different_senders_and_references(
    live_factory: Any, database_url: str
) -> None:
    live = await live_factory(database_url, **FAST)
    arrivals = [
        (ANNA, 7, 2, "A2"),
        (BEN, 7, 1, "B1"),
        (ANNA, 8, 1, "a1"),  # another message of Anna's with another reference
        (ANNA, 7, 1, "A1"),
        (BEN, 7, 2, "B2"),
        (ANNA, 8, 2, "a2"),
    ]
    for sender, ref, seq, piece in arrivals:
        await receive(live, sender, piece, concat=(ref, 2, seq))
    assert sorted(await texts(live)) == ["A1A2", "B1B2", "a1a2"]


async def test_a_single_part_concat_header_is_a_plain_sms(
    live_factory: Any, database_url: str
) -> None:
    live = await live_factory(database_url, **FAST)
    inbound_id = await receive(live, ANNA, "just one", concat=(9, 1, 1))
    assert inbound_id is not None
    assert await texts(live) == ["just one"]


async def test_a_redelivery_with_the_same_provider_id_is_stored_once(
    live_factory: Any, database_url: str
) -> None:
    live = await live_factory(database_url, **FAST)
    first = await receive(live, ANNA, "hello", provider_id="abc-1")
    again = await receive(live, ANNA, "hello", provider_id="abc-1")
    assert first is not None and again == first
    # another id, or the same id on another channel, is another SMS
    other = await receive(live, ANNA, "hello", provider_id="abc-2")
    elsewhere = await receive(live, ANNA, "hello", provider_id="abc-1", channel="smpp:carrier1")
    assert len({first, other, elsewhere}) == 3
    assert len(await texts(live)) == 3
    r = await live.client.get("/api/v1/conversations", headers=live.headers)
    assert r.json()["conversations"][0]["inbound_count"] == 3


async def test_concurrent_redeliveries_are_stored_once(
    live_factory: Any, database_url: str
) -> None:
    # A channel with several sessions may hand the same SMS over twice at once; the second
    # must get the stored id back, not a unique-constraint error.
    live = await live_factory(database_url, **FAST)
    for n in range(3):
        sms = InboundSms("simulator", ANNA, f"twice {n}", provider_id=f"dup-{n}")
        results = await asyncio.gather(
            *(live.gateway.inbound.receive(sms) for _ in range(3)), return_exceptions=True
        )
        assert not [r for r in results if isinstance(r, BaseException)], results
        assert len(set(results)) == 1 and results[0] is not None
    assert sorted(await texts(live)) == ["twice 0", "twice 1", "twice 2"]


async def test_parts_arriving_at_the_same_time_complete_the_message(
    live_factory: Any, database_url: str
) -> None:
    # Parts of one SMS often arrive within milliseconds, on several sessions. Each part's
    # transaction must see its siblings, or no part ever completes the set and the message
    # waits for the stale timeout, to be stored as "incomplete" although nothing is missing.
    live = await live_factory(database_url, **FAST)
    for ref in range(3):
        parts = [
            InboundSms("simulator", ANNA, f"<{ref}:{seq}>", concat=(ref, 3, seq))
            for seq in (1, 2, 3)
        ]
        results = await asyncio.gather(*(live.gateway.inbound.receive(p) for p in parts))
        assert sum(r is not None for r in results) == 1, (ref, results)
    assert sorted(await texts(live)) == [f"<{ref}:1><{ref}:2><{ref}:3>" for ref in range(3)]


async def test_parts_whose_siblings_never_come_are_stored_incomplete(
    live_factory: Any, database_url: str
) -> None:
    # The timeout leaves room for a slow machine between CARL's part and the second look.
    live = await live_factory(database_url, inbound_part_timeout_seconds=1.5, **FAST)
    inbound = live.gateway.inbound
    started = now_us()
    assert await receive(live, ANNA, "one ", concat=(5, 4, 1)) is None
    assert await receive(live, ANNA, "three", concat=(5, 4, 3)) is None
    assert await receive(live, BEN, "lonely", concat=(6, 2, 2)) is None
    assert await inbound.assemble_stale() == 0  # not yet: they may still come
    assert await texts(live) == []
    await asyncio.sleep(1.6)
    assert await receive(live, CARL, "fresh", concat=(7, 2, 1)) is None  # too young to give up
    assert await inbound.assemble_stale() == 2
    assert await inbound.assemble_stale() == 0  # stored once
    rows = {r["from"]: r for r in (await inbound_list(live))["inbound"]}
    assert set(rows) == {ANNA, BEN}
    assert rows[ANNA]["text"] == "one three"
    assert rows[ANNA]["incomplete"] is True
    assert rows[ANNA]["parts"] == 2  # parts that came
    assert rows[BEN]["text"] == "lonely" and rows[BEN]["incomplete"] is True
    received = datetime.fromisoformat(rows[ANNA]["received_at"].replace("Z", "+00:00"))
    assert received.timestamp() * 1_000_000 >= started - 1000
    r = await live.client.get("/api/v1/inbound", params={"from": ANNA}, headers=live.headers)
    assert r.json()["inbound"][0]["incomplete"] is True
    # Carl's part completes normally when its sibling comes
    assert await receive(live, CARL, "here", concat=(7, 2, 2)) is not None
    r = await live.client.get("/api/v1/inbound", params={"from": CARL}, headers=live.headers)
    assert [(m["text"], m["incomplete"]) for m in r.json()["inbound"]] == [("freshhere", False)]


async def test_a_late_incomplete_message_does_not_become_the_conversations_latest(
    live_factory: Any, database_url: str
) -> None:
    # Parts that waited for the stale timeout are stored with the time their first part came.
    # Anything the number wrote meanwhile is newer and stays the conversation's last message.
    live = await live_factory(database_url, inbound_part_timeout_seconds=0.2, **FAST)
    await receive(live, ANNA, "a fragment", concat=(3, 2, 1), received_at=now_us() - 5_000_000)
    newest = await receive(live, ANNA, "Sent later, stored first")
    assert await live.gateway.inbound.assemble_stale() == 1
    r = await live.client.get("/api/v1/conversations", headers=live.headers)
    conversation = r.json()["conversations"][0]
    assert conversation["inbound_count"] == 2 and conversation["unread"] == 2
    assert conversation["last_message"]["id"] == str(newest)
    assert conversation["last_message"]["text"] == "Sent later, stored first"
    r = await live.client.get(f"/api/v1/inbound/{newest}", headers=live.headers)
    assert conversation["last_inbound_at"] == r.json()["received_at"]


# Threading and routing -------------------------------------------------------------------


async def test_reply_to_links_the_last_message_sent_to_the_number(
    live_factory: Any, database_url: str
) -> None:
    live = await live_factory(database_url, **FAST)
    first = await send(live, ANNA, "first offer")
    second = await send(live, f"{ANNA},{BEN}", "second offer")
    inbound_id = await simulate(live, ANNA, "Which one?")
    r = await live.client.get(f"/api/v1/inbound/{inbound_id}", headers=live.headers)
    assert r.json()["reply_to"] == second["id"] != first["id"]
    # written as 00-prefixed digits: the same number
    inbound_id = await simulate(live, "0049" + ANNA[3:], "me again")
    r = await live.client.get(f"/api/v1/inbound/{inbound_id}", headers=live.headers)
    assert r.json()["from"] == ANNA and r.json()["reply_to"] == second["id"]
    # a number never written to replies to nothing
    inbound_id = await simulate(live, CARL, "who are you?")
    r = await live.client.get(f"/api/v1/inbound/{inbound_id}", headers=live.headers)
    assert r.json()["reply_to"] is None
    # an alphanumeric sender is kept as it is
    inbound_id = await simulate(live, "ACME Bank", "Your code")
    r = await live.client.get(f"/api/v1/inbound/{inbound_id}", headers=live.headers)
    assert r.json()["from"] == "ACME Bank" and r.json()["reply_to"] is None


async def test_an_sms_goes_to_the_account_that_messaged_the_number_last(
    live_factory: Any, database_url: str
) -> None:
    live = await live_factory(database_url, **FAST)
    second = await second_account(live)
    await send(live, ANNA, "from the first account")
    their = await send(live, ANNA, "from the second account", headers=second)
    mine = await send(live, BEN, "only the first account wrote to Ben")
    anna_id = await receive(live, ANNA, "for whoever wrote last")
    ben_id = await receive(live, BEN, "for the first account")
    nobody_id = await receive(live, CARL, "nobody wrote to me")
    assert await texts(live, second) == ["for whoever wrote last"]
    assert (await inbound_list(live, second))["inbound"][0]["reply_to"] == their["id"]
    assert sorted(await texts(live)) == ["for the first account", "nobody wrote to me"]
    r = await live.client.get(f"/api/v1/inbound/{ben_id}", headers=live.headers)
    assert r.json()["reply_to"] == mine["id"]
    # each account sees only its own
    r = await live.client.get(f"/api/v1/inbound/{anna_id}", headers=live.headers)
    assert r.status_code == 404
    r = await live.client.get(f"/api/v1/inbound/{ben_id}", headers=second)
    assert r.status_code == 404
    r = await live.client.get(f"/api/v1/inbound/{nobody_id}", headers=second)
    assert r.status_code == 404
    r = await live.client.get("/api/v1/conversations", headers=second)
    assert [c["number"] for c in r.json()["conversations"]] == [ANNA]
    r = await live.client.get(f"/api/v1/conversations/{ANNA}", headers=live.headers)
    assert [m["direction"] for m in r.json()["messages"]] == ["outbound"]
    # the first account writes to Anna again: her next SMS is the first account's
    await send(live, ANNA, "the first account again")
    await receive(live, ANNA, "now for the first")
    assert "now for the first" in await texts(live)
    assert "now for the first" not in await texts(live, second)
    # a STOP goes to the opt-out list of the account it is routed to
    await receive(live, ANNA, "STOP")
    r = await live.client.get("/api/v1/opt-outs", headers=live.headers)
    assert [o["number"] for o in r.json()["opt_outs"]] == [ANNA]
    r = await live.client.get("/api/v1/opt-outs", headers=second)
    assert r.json()["opt_outs"] == []


async def test_a_channel_of_one_account_delivers_to_it(
    live_factory: Any, database_url: str
) -> None:
    live = await live_factory(database_url, **FAST)
    second = await second_account(live)
    await send(live, ANNA, "the first account wrote last")
    account = await live.gateway.accounts.get("second")
    await receive(
        live, ANNA, "via the second's phone", account_id=account.id, device="pixel", sim=2
    )
    rows = (await inbound_list(live, second))["inbound"]
    assert [(m["text"], m["device"], m["sim"], m["reply_to"]) for m in rows] == [
        ("via the second's phone", "pixel", 2, None)
    ]
    # the simulator writes to the caller's account
    await simulate(live, ANNA, "simulated for the second", headers=second)
    assert "simulated for the second" in await texts(live, second)


# GET /api/v1/inbound ---------------------------------------------------------------------


async def test_inbound_list_filters(live_factory: Any, database_url: str) -> None:
    live = await live_factory(database_url, **FAST)
    base = (now_us() // 1_000_000 - 3600) * 1_000_000
    await receive(live, ANNA, "a at 0", received_at=base, to="+4930111")
    await receive(live, BEN, "b at 1", received_at=base + 1_000_000)
    await receive(live, ANNA, "Stop", received_at=base + 2_000_000)
    await receive(live, ANNA, "Start", received_at=base + 3_000_000)
    await receive(live, "ACME", "alpha", received_at=base + 4_000_000, channel="android")
    assert await texts(live) == ["alpha", "Start", "Stop", "b at 1", "a at 0"]  # newest first
    assert await texts(live, **{"from": ANNA}) == ["Start", "Stop", "a at 0"]
    assert await texts(live, **{"from": "0049" + ANNA[3:]}) == ["Start", "Stop", "a at 0"]
    assert await texts(live, **{"from": "ACME"}) == ["alpha"]
    assert await texts(live, **{"from": CARL}) == []
    assert await texts(live, to="+4930111") == ["a at 0"]
    assert await texts(live, channel="android") == ["alpha"]
    assert await texts(live, keyword="stop") == ["Stop"]
    assert await texts(live, keyword="start") == ["Start"]
    assert await texts(live, since=iso_us(base + 1_000_000)) == ["alpha", "Start", "Stop", "b at 1"]
    assert await texts(live, until=iso_us(base + 2_000_000)) == ["b at 1", "a at 0"]
    assert await texts(live, since=iso_us(base + 1_000_000), until=iso_us(base + 3_000_000)) == [
        "Stop",
        "b at 1",
    ]
    offset = datetime.fromtimestamp(base / 1_000_000 + 2, UTC).astimezone().isoformat()
    assert "Stop" in await texts(live, since=offset)
    assert await texts(live, **{"from": ANNA}, keyword="stop") == ["Stop"]
    # unread until the conversation is read
    assert len(await texts(live, unread="true")) == 5
    assert await texts(live, unread="false") == []
    r = await live.client.post(f"/api/v1/conversations/{ANNA}/read", headers=live.headers)
    assert r.json() == {"marked": 3}
    assert await texts(live, unread="true") == ["alpha", "b at 1"]
    assert await texts(live, unread="false") == ["Start", "Stop", "a at 0"]
    row = (await inbound_list(live, unread="false"))["inbound"][0]
    assert row["read_at"] is not None
    # a time without a zone is refused
    r = await live.client.get(
        "/api/v1/inbound", params={"since": "2026-01-01T00:00:00"}, headers=live.headers
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_date"


async def test_inbound_list_cursor_pagination(live_factory: Any, database_url: str) -> None:
    live = await live_factory(database_url, **FAST)
    for n in range(7):
        await receive(live, ANNA if n % 2 else BEN, f"message {n}")
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        body = await inbound_list(live, **params)
        seen += [m["text"] for m in body["inbound"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert len(body["inbound"]) == 3
    assert seen == [f"message {n}" for n in reversed(range(7))]
    assert pages == 3
    body = await inbound_list(live, **{"from": ANNA, "limit": 2})
    assert [m["text"] for m in body["inbound"]] == ["message 5", "message 3"]
    body = await inbound_list(live, **{"from": ANNA, "limit": 2, "cursor": body["next_cursor"]})
    assert [m["text"] for m in body["inbound"]] == ["message 1"]
    assert body["next_cursor"] is None
    for bad in ("abc", "-1", "1.5", "99999999999999999999"):
        r = await live.client.get("/api/v1/inbound", params={"cursor": bad}, headers=live.headers)
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_cursor", bad
    for limit in (0, 501):
        r = await live.client.get("/api/v1/inbound", params={"limit": limit}, headers=live.headers)
        assert r.status_code == 422


async def test_one_inbound_message_and_404s(live_factory: Any, database_url: str) -> None:
    live = await live_factory(database_url, **FAST)
    message = await send(live, ANNA, "ping")
    at = now_us() - 2_000_000
    inbound_id = await receive(
        live, ANNA, "pong", to="+4930999", device="phone-1", sim=1, received_at=at
    )
    r = await live.client.get(f"/api/v1/inbound/{inbound_id}", headers=live.headers)
    assert r.status_code == 200
    assert r.json() == {
        "id": str(inbound_id),
        "from": ANNA,
        "to": "+4930999",
        "text": "pong",
        "parts": 1,
        "incomplete": False,
        "channel": "simulator",
        "device": "phone-1",
        "sim": 1,
        "received_at": r.json()["received_at"],
        "reply_to": message["id"],
        "keyword": None,
        "read_at": None,
    }
    received = datetime.fromisoformat(r.json()["received_at"].replace("Z", "+00:00"))
    assert abs(received.timestamp() * 1_000_000 - at) < 1000
    for missing in (str(inbound_id + 1000), "0", "abc", "1e3", "99999999999999999999"):
        r = await live.client.get(f"/api/v1/inbound/{missing}", headers=live.headers)
        assert r.status_code == 404, missing
        assert r.json()["error"]["code"] == "inbound_not_found"
    r = await live.client.get(f"/api/v1/inbound/{inbound_id}")
    assert r.status_code == 401


async def test_the_simulator_endpoint_validates(live_factory: Any, database_url: str) -> None:
    live = await live_factory(database_url, **FAST)
    for body in (
        {"from": ANNA, "text": ""},
        {"from": "", "text": "x"},
        {"text": "x"},
        {"from": ANNA},
        {"from": "1" * 33, "text": "x"},
        {"from": ANNA, "text": "x" * 5001},
        {"from": ANNA, "text": "x", "unknown": 1},
    ):
        r = await live.client.post("/api/v1/simulator/inbound", json=body, headers=live.headers)
        assert r.status_code == 422, body
    r = await live.client.post(
        "/api/v1/simulator/inbound", json={"from": ANNA, "text": "x", "to": "+4930123"}
    )
    assert r.status_code == 401
    inbound_id = await simulate(live, ANNA, "to a number", to="+4930123")
    r = await live.client.get(f"/api/v1/inbound/{inbound_id}", headers=live.headers)
    assert r.json()["to"] == "+4930123"


async def test_the_simulator_endpoint_needs_a_running_simulator(
    live_factory: Any, database_url: str
) -> None:
    live = await live_factory(database_url, dispatch=False, **FAST)
    r = await live.client.post(
        "/api/v1/simulator/inbound", json={"from": ANNA, "text": "hi"}, headers=live.headers
    )
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "no_simulator"


# Conversations ---------------------------------------------------------------------------


async def test_conversations_list(live_factory: Any, database_url: str) -> None:
    live = await live_factory(database_url, **FAST)
    await send(live, ANNA, "hi Anna")
    await send(live, DORA, "Dora never answers")
    await receive(live, ANNA, "anna 1")
    await receive(live, BEN, "ben 1")
    await receive(live, ANNA, "anna 2")
    await receive(live, CARL, "carl 1")
    reply = await send(live, CARL, "answer to Carl")
    r = await live.client.get("/api/v1/conversations", headers=live.headers)
    assert r.status_code == 200
    rows = r.json()["conversations"]
    # one row per number that wrote in, by its latest SMS
    assert [c["number"] for c in rows] == [CARL, ANNA, BEN]
    by_number = {c["number"]: c for c in rows}
    assert by_number[ANNA]["unread"] == 2 and by_number[ANNA]["inbound_count"] == 2
    assert by_number[BEN]["unread"] == 1
    # the last message in either direction
    last = by_number[ANNA]["last_message"]
    assert last["direction"] == "inbound" and last["text"] == "anna 2"
    last = by_number[CARL]["last_message"]
    assert last["direction"] == "outbound" and last["text"] == "answer to Carl"
    assert last["message_id"] == reply["id"]
    assert by_number[BEN]["last_message"]["text"] == "ben 1"
    # unread only
    await live.client.post(f"/api/v1/conversations/{BEN}/read", headers=live.headers)
    r = await live.client.get(
        "/api/v1/conversations", params={"unread": "true"}, headers=live.headers
    )
    assert [c["number"] for c in r.json()["conversations"]] == [CARL, ANNA]
    r = await live.client.get("/api/v1/conversations", headers=live.headers)
    assert {c["number"]: c["unread"] for c in r.json()["conversations"]} == {
        CARL: 1,
        ANNA: 2,
        BEN: 0,
    }


async def test_conversations_cursor_pagination(live_factory: Any, database_url: str) -> None:
    live = await live_factory(database_url, **FAST)
    base = now_us() - 60_000_000
    numbers = [f"+49176123456{n:02d}" for n in range(10, 17)]
    for n, number in enumerate(numbers):
        await receive(live, number, f"hello {n}", received_at=base + n * 1_000_000)
    # two numbers with the same time: the cursor must tell them apart
    await receive(live, "+4917612345699", "same time", received_at=base + 3_000_000)
    expected = sorted(
        [(base + n * 1_000_000, number) for n, number in enumerate(numbers)]
        + [(base + 3_000_000, "+4917612345699")],
        reverse=True,
    )
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        r = await live.client.get("/api/v1/conversations", params=params, headers=live.headers)
        assert r.status_code == 200, r.text
        seen += [c["number"] for c in r.json()["conversations"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [number for _, number in expected]
    r = await live.client.get(
        "/api/v1/conversations", params={"unread": "true", "limit": 100}, headers=live.headers
    )
    assert len(r.json()["conversations"]) == 8
    for bad in ("nope", "123", "~+49", "abc~+49"):
        r = await live.client.get(
            "/api/v1/conversations", params={"cursor": bad}, headers=live.headers
        )
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_cursor", bad


async def test_a_conversation_in_both_directions(live_factory: Any, database_url: str) -> None:
    live = await live_factory(database_url, **FAST)
    first = await send(live, ANNA, "out 1")
    await asyncio.sleep(0.002)
    in1 = await receive(live, ANNA, "in 1")
    await asyncio.sleep(0.002)
    second = await send(live, ANNA, "out 2")
    await asyncio.sleep(0.002)
    in2 = await receive(live, ANNA, "in 2")
    await asyncio.sleep(0.002)
    third = await send(live, ANNA, "out 3")
    await receive(live, BEN, "not part of it")
    await send(live, BEN, "nor this")
    r = await live.client.get(f"/api/v1/conversations/{ANNA}", headers=live.headers)
    assert r.status_code == 200
    body = r.json()
    assert body["number"] == ANNA and body["unread"] == 2
    assert [(m["direction"], m["text"]) for m in body["messages"]] == [
        ("outbound", "out 1"),
        ("inbound", "in 1"),
        ("outbound", "out 2"),
        ("inbound", "in 2"),
        ("outbound", "out 3"),
    ]
    outs = [m for m in body["messages"] if m["direction"] == "outbound"]
    assert [m["message_id"] for m in outs] == [first["id"], second["id"], third["id"]]
    ins = [m for m in body["messages"] if m["direction"] == "inbound"]
    assert [m["id"] for m in ins] == [str(in1), str(in2)]
    assert ins[0]["reply_to"] == first["id"] and ins[1]["reply_to"] == second["id"]
    assert body["next_cursor"] is None
    # the same conversation by another spelling of the number
    r = await live.client.get(f"/api/v1/conversations/0049{ANNA[3:]}", headers=live.headers)
    assert r.json()["number"] == ANNA and len(r.json()["messages"]) == 5
    # pages of two, newest first, each in order
    pages = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        r = await live.client.get(
            f"/api/v1/conversations/{ANNA}", params=params, headers=live.headers
        )
        assert r.status_code == 200, r.text
        pages.append([m["text"] for m in r.json()["messages"]])
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert [p for p in pages if p] == [["in 2", "out 3"], ["in 1", "out 2"], ["out 1"]]
    r = await live.client.get(
        f"/api/v1/conversations/{ANNA}", params={"cursor": "x"}, headers=live.headers
    )
    assert r.status_code == 422


async def test_mark_read(live_factory: Any, database_url: str) -> None:
    live = await live_factory(database_url, **FAST)
    ids = [await receive(live, ANNA, f"unread {n}") for n in range(4)]
    await receive(live, BEN, "ben's")
    assert all(ids)
    r = await live.client.post(
        f"/api/v1/conversations/{ANNA}/read", params={"up_to": str(ids[1])}, headers=live.headers
    )
    assert r.status_code == 200 and r.json() == {"marked": 2}
    r = await live.client.get(f"/api/v1/conversations/{ANNA}", headers=live.headers)
    assert r.json()["unread"] == 2
    assert [m["read_at"] is not None for m in r.json()["messages"]] == [True, True, False, False]
    r = await live.client.post(f"/api/v1/conversations/{ANNA}/read", headers=live.headers)
    assert r.json() == {"marked": 2}
    r = await live.client.post(f"/api/v1/conversations/{ANNA}/read", headers=live.headers)
    assert r.json() == {"marked": 0}
    r = await live.client.get("/api/v1/conversations", headers=live.headers)
    assert {c["number"]: c["unread"] for c in r.json()["conversations"]} == {ANNA: 0, BEN: 1}
    assert await texts(live, unread="true") == ["ben's"]
    # a new SMS is unread again
    await receive(live, ANNA, "more")
    r = await live.client.get("/api/v1/conversations", headers=live.headers)
    assert {c["number"]: c["unread"] for c in r.json()["conversations"]}[ANNA] == 1
    r = await live.client.post(
        f"/api/v1/conversations/{ANNA}/read", params={"up_to": "x"}, headers=live.headers
    )
    assert r.status_code == 422


async def test_unknown_conversations_are_404(live_factory: Any, database_url: str) -> None:
    live = await live_factory(database_url, **FAST)
    second = await second_account(live)
    await receive(live, ANNA, "hello")
    await send(live, DORA, "only sent to")
    r = await live.client.get(f"/api/v1/conversations/{CARL}", headers=live.headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "conversation_not_found"
    r = await live.client.post(f"/api/v1/conversations/{CARL}/read", headers=live.headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "conversation_not_found"
    # a number that was only sent to has a thread but nothing to read
    r = await live.client.get(f"/api/v1/conversations/{DORA}", headers=live.headers)
    assert r.status_code == 200
    assert [m["text"] for m in r.json()["messages"]] == ["only sent to"]
    assert r.json()["unread"] == 0
    r = await live.client.post(f"/api/v1/conversations/{DORA}/read", headers=live.headers)
    assert r.status_code == 404
    r = await live.client.get("/api/v1/conversations", headers=live.headers)
    assert [c["number"] for c in r.json()["conversations"]] == [ANNA]
    # another account's conversation does not exist for this one
    r = await live.client.get(f"/api/v1/conversations/{ANNA}", headers=second)
    assert r.status_code == 404
    r = await live.client.post(f"/api/v1/conversations/{ANNA}/read", headers=second)
    assert r.status_code == 404
    r = await live.client.get("/api/v1/conversations", headers=second)
    assert r.json()["conversations"] == []
    r = await live.client.get(f"/api/v1/conversations/{ANNA}", headers=live.headers)
    assert r.json()["unread"] == 1  # untouched by the other account's attempt


# Keywords --------------------------------------------------------------------------------


async def opt_outs(live: Live) -> list[tuple[str, str]]:
    r = await live.client.get("/api/v1/opt-outs", headers=live.headers)
    return [(o["number"], o["source"]) for o in r.json()["opt_outs"]]


async def test_stop_and_start_keywords(live_factory: Any, database_url: str) -> None:
    live = await live_factory(database_url, **FAST)
    await send(live, ANNA, "Big sale!")
    stop_id = await simulate(live, ANNA, " Stop. ")
    r = await live.client.get(f"/api/v1/inbound/{stop_id}", headers=live.headers)
    assert r.json()["keyword"] == "stop"
    assert await opt_outs(live) == [(ANNA, "keyword")]
    body = await send(live, ANNA, "Another sale!")
    assert body["recipients"][0]["status"] == "rejected"
    assert body["recipients"][0]["error"]["code"] == "opted_out"
    body = await send(live, ANNA, "Your code is 1234", transactional=True)
    assert body["recipients"][0]["status"] == "queued"
    # an ordinary text mentioning stop changes nothing
    other_id = await simulate(live, ANNA, "stop sending me offers")
    r = await live.client.get(f"/api/v1/inbound/{other_id}", headers=live.headers)
    assert r.json()["keyword"] is None
    start_id = await simulate(live, ANNA, "START")
    r = await live.client.get(f"/api/v1/inbound/{start_id}", headers=live.headers)
    assert r.json()["keyword"] == "start"
    assert await opt_outs(live) == []
    body = await send(live, ANNA, "Welcome back!")
    assert body["recipients"][0]["status"] == "queued"
    # a number that never wrote to the account may opt out too; accents and case are ignored
    await simulate(live, BEN, "ÁBMELDEN!")
    await simulate(live, CARL, "Annullà")
    assert sorted(await opt_outs(live)) == [(BEN, "keyword"), (CARL, "keyword")]
    assert await texts(live, keyword="stop") == ["Annullà", "ÁBMELDEN!", " Stop. "]


async def test_a_long_stop_in_parts_is_a_keyword(live_factory: Any, database_url: str) -> None:
    live = await live_factory(database_url, **FAST)
    await receive(live, ANNA, "UNSUB", concat=(1, 2, 1))
    await receive(live, ANNA, "SCRIBE", concat=(1, 2, 2))
    assert await opt_outs(live) == [(ANNA, "keyword")]


async def test_custom_keywords(live_factory: Any, database_url: str) -> None:
    live = await live_factory(
        database_url, keywords_stop=["HALT"], keywords_start=["WEITER"], **FAST
    )
    await simulate(live, ANNA, "stop")
    assert await opt_outs(live) == []
    await simulate(live, ANNA, "halt!")
    assert await opt_outs(live) == [(ANNA, "keyword")]
    await simulate(live, ANNA, "start")
    assert await opt_outs(live) == [(ANNA, "keyword")]
    await simulate(live, ANNA, "Weiter")
    assert await opt_outs(live) == []


async def test_keyword_confirmations_are_sent(live_factory: Any, database_url: str) -> None:
    live = await live_factory(
        database_url,
        keywords_stop_reply="You are unsubscribed.",
        keywords_start_reply="Welcome back.",
        **FAST,
    )
    await simulate(live, ANNA, "stop")

    async def sent_to(number: str, text: str) -> dict[str, Any] | None:
        r = await live.client.get("/api/v1/messages", params={"to": number}, headers=live.headers)
        found = [m for m in r.json()["messages"] if m["text"] == text]
        return found[0] if found else None

    confirmation = await wait_for(lambda: sent_to(ANNA, "You are unsubscribed."))
    assert confirmation["label"] == "keyword-confirmation"

    async def delivered() -> bool:
        message = await sent_to(ANNA, "You are unsubscribed.")
        return bool(message and message["status"] == "delivered")

    await wait_for(delivered)  # sent although the number is opted out now
    assert await opt_outs(live) == [(ANNA, "keyword")]
    await simulate(live, ANNA, "Start")
    await wait_for(lambda: sent_to(ANNA, "Welcome back."))
    # no confirmation for ordinary texts, nor to alphanumeric senders
    await simulate(live, BEN, "Hello")
    await simulate(live, "ACME", "STOP")
    await asyncio.sleep(0.1)
    r = await live.client.get("/api/v1/messages", params={"to": BEN}, headers=live.headers)
    assert r.json()["messages"] == []
    r = await live.client.get("/api/v1/messages", headers=live.headers)
    assert sorted(m["text"] for m in r.json()["messages"]) == [
        "Welcome back.",
        "You are unsubscribed.",
    ]


async def test_without_a_configured_reply_nothing_is_sent(
    live_factory: Any, database_url: str
) -> None:
    live = await live_factory(database_url, **FAST)
    await simulate(live, ANNA, "STOP")
    await asyncio.sleep(0.1)
    r = await live.client.get("/api/v1/messages", headers=live.headers)
    assert r.json()["messages"] == []


# Simulated replies -----------------------------------------------------------------------


async def test_the_simulated_handset_answers_a_delivered_message(
    live_factory: Any, database_url: str
) -> None:
    live = await live_factory(
        database_url,
        simulator_reply_rate=1.0,
        simulator_reply_delay_ms=10,
        simulator_reply_texts=["Thanks, got it"],
        **FAST,
    )
    message = await send(live, ANNA, "Your parcel arrives today", **{"from": "ShopCo"})

    async def replied() -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = (await inbound_list(live))["inbound"]
        return rows

    rows = await wait_for(replied)
    assert len(rows) == 1
    reply = rows[0]
    assert reply["from"] == ANNA
    assert reply["text"] == "Thanks, got it"
    assert reply["reply_to"] == message["id"]
    assert reply["to"] == "ShopCo"
    r = await live.client.get(f"/api/v1/conversations/{ANNA}", headers=live.headers)
    assert [m["direction"] for m in r.json()["messages"]] == ["outbound", "inbound"]


# Webhooks --------------------------------------------------------------------------------


async def test_message_inbound_webhook(live_factory: Any, database_url: str) -> None:
    receiver = await WebhookReceiver().start()
    try:
        live = await live_factory(
            database_url, webhooks_allow_private=True, webhooks_poll_interval_ms=20, **FAST
        )
        r = await live.client.post(
            "/api/v1/webhooks",
            json={"url": receiver.url, "events": ["message.inbound"]},
            headers=live.headers,
        )
        assert r.status_code == 201, r.text
        message = await send(live, ANNA, "Reply STOP to opt out")
        short_id = await simulate(live, ANNA, "Stop")
        long_id = await simulate(live, BEN, GSM_LONG)

        async def both() -> bool:
            return len(receiver.received) >= 2

        await wait_for(both)
        await asyncio.sleep(0.1)
        bodies = [orjson.loads(x.body) for x in receiver.received]
        assert [b["type"] for b in bodies] == ["message.inbound", "message.inbound"]
        by_id = {b["data"]["inbound_id"]: b for b in bodies}
        assert set(by_id) == {short_id, long_id}
        stop = by_id[short_id]["data"]
        assert stop["from"] == ANNA and stop["text"] == "Stop"
        assert stop["keyword"] == "stop" and stop["reply_to"] == message["id"]
        assert stop["channel"] == "simulator" and stop["incomplete"] is False
        long = by_id[long_id]["data"]
        assert long["text"] == GSM_LONG
        assert long["parts"] == len(segment(GSM_LONG, "auto", max_parts=255).parts)
        assert long["reply_to"] is None and long["keyword"] is None
        assert all(b["id"].startswith("evt_j") for b in bodies)
        for request in receiver.received:
            assert request.headers["x-smsbridge-event"] == "message.inbound"
    finally:
        await receiver.stop()
