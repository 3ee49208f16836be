"""The messaggisms API (openapi.it "Gateway SMS" v1) under ``/messaggisms``, on SQLite and
PostgreSQL: the OpenApi-PHP client's recorded requests replayed, every route end to end through
the simulator, and every error in messaggisms' envelope.

No client of theirs installs here (OpenApi-PHP needs PHP; there is no PyPI or npm client), so the
requests are sent with httpx exactly as the capture shows them: a JSON body labelled
``application/x-www-form-urlencoded``, ``Accept: */*``, ``Authorization: Bearer``.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select, update

from smsbridge.store.schema import api_keys, messages, recipients
from smsbridge.testing.webhook_receiver import WebhookReceiver
from tests.conftest import Live, wait_for

P = "/messaggisms"
CAPTURE = (
    Path(__file__).parent / "fixtures" / "messaggisms" / "php_openapi-it-OpenApi-PHP_sms.jsonl"
)
HEX24 = re.compile(r"[0-9a-f]{24}")
MARIO = "+39-3471234567"
LUIGI = "+39-3479999999"
PEACH = "+39-3470000000"
UNKNOWN_ID = "00000000000000000000ffff"


def php_headers(key: str) -> dict[str, str]:
    """What OpenApi-PHP's curl sends with a body."""
    return {
        "Authorization": f"Bearer {key}",
        "Accept": "*/*",
        "Content-Type": "application/x-www-form-urlencoded",
    }


async def call(
    live: Live, method: str, path: str, body: Any = None, *, key: str | None = None
) -> Any:
    """A request as the PHP client sends it; the reply's JSON."""
    headers = php_headers(key or live.key)
    content = orjson.dumps(body) if body is not None else None
    if content is None:
        headers.pop("Content-Type")
    r = await live.client.request(method, P + path, content=content, headers=headers)
    return r


async def ok(live: Live, method: str, path: str, body: Any = None, **kw: Any) -> Any:
    r = await call(live, method, path, body, **kw)
    assert r.status_code == 200, r.text
    reply = r.json()
    assert set(reply) == {"data", "success", "message", "credit", "error"}, reply
    assert reply["success"] is True and reply["error"] is None, reply
    return reply


def failure(r: Any, status: int) -> str:
    assert r.status_code == status, r.text
    reply = r.json()
    assert set(reply) == {"data", "success", "message", "error"}, reply
    assert reply["data"] is None and reply["success"] is False and reply["error"] == status
    assert isinstance(reply["message"], str) and reply["message"]
    message: str = reply["message"]
    return message


async def account_id(live: Live) -> int:
    return (await live.gateway.accounts.get("default")).id


async def balance(live: Live) -> float:
    micro, _ = await live.gateway.billing.balance(await account_id(live))
    return micro / 1_000_000


def later_ms(seconds: float) -> str:
    return str(int((time.time() + seconds) * 1000))


async def delivered(live: Live, mid: str, count: int) -> Any:
    async def check() -> Any:
        reply = await ok(live, "GET", f"/messages/{mid}")
        stats = reply["data"][0]["statistics"]
        return reply if stats["delivered"] == count else None

    return await wait_for(check)


def simulator_sent(live: Live) -> list[Any]:
    assert live.gateway.dispatcher is not None
    connector = live.gateway.dispatcher.router.connectors["simulator"]
    return list(connector.sent)  # type: ignore[attr-defined]


# The OpenApi-PHP capture, replayed ----------------------------------------------------------


def capture() -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in CAPTURE.read_text().splitlines() if line.strip()]


# What OpenApi-PHP does with each reply: sendOne/sendMore read `data`, and sendMore with
# transaction=true keeps data[0].id for addRecipeints; getMessage and getRecipients return it.
EXPECT = [
    ("POST", "sendOne (test mode)"),
    ("POST", "sendMore (transaction, priority 1.01)"),
    ("PUT", "addRecipeints (closes the transaction)"),
    ("GET", "getMessage"),
    ("GET", "getRecipients by number"),
]


async def test_capture_is_what_we_replay() -> None:
    requests = capture()
    assert [(r["method"]) for r in requests] == [m for m, _ in EXPECT]
    assert all(r["headers"]["Authorization"] == "Bearer <redacted>" for r in requests)


async def test_openapi_php_capture_replayed(live: Live) -> None:
    requests = capture()
    transaction_id: str | None = None
    captured_id = "5d3f05c29f2725610c2b4e60"
    replies = []
    for request, (method, what) in zip(requests, EXPECT, strict=True):
        path = request["path"]
        if transaction_id is not None:
            path = path.replace(captured_id, transaction_id)
        headers = {
            k: v
            for k, v in request["headers"].items()
            if k not in ("Host", "Content-Length", "Authorization")
        }
        headers["Authorization"] = f"Bearer {live.key}"
        r = await live.client.request(
            method, P + path, content=request["body_raw"].encode(), headers=headers
        )
        assert r.status_code == 200, (what, r.text)
        reply = r.json()
        # OpenApi-PHP: json_decode must succeed and success must be true, else it throws.
        assert reply["success"] is True, (what, reply)
        assert set(reply) == {"data", "success", "message", "credit", "error"}
        replies.append(reply)
        if method == "POST":
            assert HEX24.fullmatch(reply["data"][0]["id"]), reply
            if request["body_parsed"]["transaction"]:
                transaction_id = reply["data"][0]["id"]  # $this->messageId = data[0]->id
    test_send, opened, closed, message, recipient = replies
    assert test_send["data"][0]["test"] is True
    assert test_send["data"][0]["recipients"]["valid"]["count"] == 1
    assert opened["data"][0]["transaction"] is True and opened["data"][0]["state"] == 0
    assert opened["data"][0]["priority"] == 1.01
    assert opened["data"][0]["recipients"]["valid"]["count"] == 2
    assert closed["message"] == "Updated" and isinstance(closed["data"], dict)
    assert closed["data"]["id"] == transaction_id and closed["data"]["transaction"] is False
    assert closed["data"]["recipients"]["valid"]["count"] == 3
    assert message["data"][0]["id"] == transaction_id
    assert message["data"][0]["priority"] == 1.01  # as asked (it jumped the queue)
    assert recipient["data"][0]["number"] == MARIO
    assert recipient["data"][0]["body"] == "Ciao Mario"
    assert recipient["data"][0]["message_id"] == transaction_id
    assert isinstance(recipient["credit"], float)


# Sending and reading the status the messaggisms way -----------------------------------------


async def test_send_delivered_through_the_simulator(live: Live) -> None:
    sent = await ok(
        live, "POST", "/messages/",
        {"sender": "alberto", "body": "test invio", "recipients": MARIO},
    )  # fmt: skip
    assert sent["message"] == "Message Queued"
    assert isinstance(sent["credit"], str) and float(sent["credit"]) == -1.0  # a tab
    msg = sent["data"][0]
    mid = msg["id"]
    assert HEX24.fullmatch(mid) and int(mid, 16) > 0
    assert msg["sender"] == "alberto" and msg["body"] == "test invio" and msg["test"] is False
    assert msg["recipients"] == {"valid": {"count": 1}, "invalid": {"total": 0, "list": []}}
    assert msg["priority"] == 1.0 and msg["price"] == 1.0 and msg["base_price"] == 1.0
    assert msg["state"] == 1
    assert re.fullmatch(r"\d{13}", msg["timestamp"])

    reply = await delivered(live, mid, 1)
    assert reply["message"] == "1 Result"
    got = reply["data"][0]
    assert got["statistics"] == {"error": 0, "sent": 1, "delivered": 1, "total": 1,
                                 "sms_total": 1}  # fmt: skip
    assert got["state"] == 2 and got["transaction"] is False
    assert int(got["last_update"]) >= int(got["timestamp"])

    one = await ok(live, "GET", f"/messages/{mid}/recipients/{MARIO}")
    assert one["message"] == "1 Result"
    rec = one["data"][0]
    assert rec["number"] == MARIO and rec["prefix"] == "+39"
    assert rec["state"] == "DELIVERED" and rec["state_description"] == "DELIVERED_TO_HANDSET"
    assert rec["state_detail"] == "Message delivered to handset"
    assert rec["send_id"] == f"{mid}_0" and rec["i"] == 0 and rec["message_id"] == mid
    assert rec["sms"] == 1 and rec["remaining_chr"] == 160 - len("test invio")
    assert rec["price"] == 1.0 and rec["real_cost"] == 1.0
    assert re.fullmatch(r"\d{13}", rec["timestamp_sent"]["$date"]["$numberLong"])
    assert re.fullmatch(r"\d{13}", rec["timestamp_delivery"]["$date"]["$numberLong"])
    report = rec["report"]
    assert report["status"]["groupName"] == "DELIVERED"
    assert report["status"]["name"] == "DELIVERED_TO_HANDSET"
    assert report["error"]["name"] == "NO_ERROR" and report["to"] == "393471234567"
    assert report["smsCount"] == 1 and report["messageId"] == f"{mid}_0"
    assert HEX24.fullmatch(rec["id"])

    # The number also found as E.164 and URL-encoded; the list of all recipients.
    alt = await ok(live, "GET", f"/messages/{mid}/recipients/%2B393471234567")
    assert alt["data"][0]["number"] == MARIO
    everyone = await ok(live, "GET", f"/messages/{mid}/recipients/")
    assert [r["number"] for r in everyone["data"]] == [MARIO]
    assert everyone["data"][0]["state"] == "DELIVERED"
    assert [s.to for s in simulator_sent(live)] == ["+393471234567"]


async def test_recipient_forms_and_invalid_numbers(live: Live) -> None:
    sent = await ok(
        live, "POST", "/messages",
        {"sender": "393471234567", "body": "forms", "recipients": [
            MARIO, {"number": LUIGI}, "3470000000", "+39-12", {"number": None}]},
    )  # fmt: skip
    msg = sent["data"][0]
    assert msg["recipients"]["valid"]["count"] == 2
    assert msg["recipients"]["invalid"]["total"] == 3
    assert set(msg["recipients"]["invalid"]["list"]) == {"3470000000", "+39-12", ""}
    await delivered(live, msg["id"], 2)
    # Comma-separated in one string; one object.
    sent = await ok(
        live,
        "POST",
        "/messages",
        {"sender": "Shop", "body": "csv", "recipients": f"{MARIO},{LUIGI}"},
    )
    assert sent["data"][0]["recipients"]["valid"]["count"] == 2
    sent = await ok(
        live, "POST", "/messages",
        {"sender": "Shop", "body": "obj", "recipients": {"number": PEACH, "fields": []}},
    )  # fmt: skip
    assert sent["data"][0]["recipients"]["valid"]["count"] == 1
    # A form-encoded body (PHP's http_build_query) works too.
    r = await live.client.post(
        P + "/messages/",
        content=b"sender=Shop&body=form&recipients[0]=%2B39-3471234567&test=1",
        headers=php_headers(live.key),
    )
    assert r.status_code == 200 and r.json()["data"][0]["test"] is True, r.text


async def test_placeholders_with_fields(live: Live) -> None:
    sent = await ok(
        live, "POST", "/messages/",
        {"sender": "Tester", "body": "Ciao {{name}} {{surname}}!", "recipients": [
            {"number": MARIO, "fields": {"name": "Mario", "surname": "Rossi"}},
            {"number": LUIGI, "fields": {"name": "Luigi", "surname": 3}},
            PEACH]},
    )  # fmt: skip
    mid = sent["data"][0]["id"]
    await delivered(live, mid, 3)
    rows = (await ok(live, "GET", f"/messages/{mid}/recipients"))["data"]
    assert {r["number"]: r["body"] for r in rows} == {
        MARIO: "Ciao Mario Rossi!",
        LUIGI: "Ciao Luigi 3!",
        PEACH: "Ciao  !",  # no fields: placeholders are left empty
    }
    assert {r["number"]: r["fields"] for r in rows} == {
        MARIO: {"name": "Mario", "surname": "Rossi"},
        LUIGI: {"name": "Luigi", "surname": "3"},
        PEACH: [],
    }
    assert sorted(s.text for s in simulator_sent(live)) == sorted(
        ["Ciao Mario Rossi!", "Ciao Luigi 3!", "Ciao  !"]
    )


async def test_priority_jumps_the_queue_and_costs_more(live: Live) -> None:
    await live.gateway.billing.configure(
        await account_id(live), default="0.03", high_surcharge="0.006", actor="test"
    )
    normal = (await ok(live, "POST", "/messages/",
                       {"sender": "Shop", "body": "slow", "recipients": MARIO,
                        "priority": 1}))["data"][0]  # fmt: skip
    assert normal["price"] == 0.03 and normal["base_price"] == 0.03 and normal["priority"] == 1
    high = (await ok(live, "POST", "/messages/",
                     {"sender": "Shop", "body": "fast", "recipients": MARIO,
                      "priority": "1.2"}))["data"][0]  # fmt: skip
    assert high["price"] == 0.036 and high["base_price"] == 0.03 and high["priority"] == 1.2
    async with live.gateway.db.read() as conn:
        prio = dict(
            (await conn.execute(select(recipients.c.message_id, recipients.c.priority))).all()
        )
    assert prio[int(high["id"], 16)] == 1 and prio[int(normal["id"], 16)] == 0
    assert await balance(live) == pytest.approx(-0.066)
    got = (await delivered(live, high["id"], 1))["data"][0]
    assert got["priority"] == 1.2 and got["price"] == 0.036


async def test_test_mode_never_sends(live: Live) -> None:
    before = await balance(live)
    sent = await ok(
        live, "POST", "/messages/",
        {"test": True, "sender": "Tester", "body": "dry run", "recipients": [MARIO, LUIGI]},
    )  # fmt: skip
    msg = sent["data"][0]
    assert msg["test"] is True and msg["recipients"]["valid"]["count"] == 2
    assert msg["price"] == 2.0  # what it would cost
    await asyncio.sleep(0.5)
    got = (await ok(live, "GET", f"/messages/{msg['id']}"))["data"][0]
    assert got["statistics"]["sent"] == 0 and got["statistics"]["delivered"] == 0
    rows = (await ok(live, "GET", f"/messages/{msg['id']}/recipients/"))["data"]
    assert {r["state"] for r in rows} == {"PENDING"} and all(r["report"] is None for r in rows)
    assert simulator_sent(live) == []
    assert await balance(live) == before


# Transactions -------------------------------------------------------------------------------


async def test_transaction_open_add_close(live: Live) -> None:
    opened = await ok(
        live, "POST", "/messages/",
        {"sender": "Tester", "body": "Hi {{name}}", "recipients": [
            {"number": MARIO, "fields": {"name": "Mario"}}],
         "options": {"transaction": True}},
    )  # fmt: skip
    assert opened["message"] == "Transaction Opened"
    msg = opened["data"][0]
    mid = msg["id"]
    assert msg["transaction"] is True and msg["state"] == 0 and msg["options"]["transaction"]
    assert await balance(live) == 0  # nothing charged while the transaction is open
    rows = (await ok(live, "GET", f"/messages/{mid}/recipients"))["data"]
    assert rows[0]["state_description"] == "PENDING_TRANSACTION"

    # Add recipients (a string, then objects with fields); the transaction stays open.
    added = await ok(live, "PUT", f"/messages/{mid}", {"recipients": LUIGI})
    assert added["data"]["transaction"] is True
    assert added["data"]["recipients"]["valid"]["count"] == 2
    added = await ok(
        live, "PUT", f"/messages/{mid}/",
        {"recipients": [{"number": PEACH, "fields": {"name": "Peach"}}, MARIO],
         "transaction": True},
    )  # fmt: skip
    assert added["data"]["recipients"]["valid"]["count"] == 3  # MARIO only once
    await asyncio.sleep(0.3)
    assert simulator_sent(live) == []

    closed = await ok(live, "PUT", f"/messages/{mid}", {"transaction": False})
    assert closed["data"]["transaction"] is False and closed["data"]["state"] in (1, 2)
    assert await balance(live) == -3.0
    await delivered(live, mid, 3)
    assert sorted(s.text for s in simulator_sent(live)) == ["Hi ", "Hi Mario", "Hi Peach"]
    rows = (await ok(live, "GET", f"/messages/{mid}/recipients"))["data"]
    assert {r["number"]: r["fields"] for r in rows}[PEACH] == {"name": "Peach"}

    # Closed: no more recipients; closing again changes nothing.
    r = await call(live, "PUT", f"/messages/{mid}", {"recipients": [PEACH]})
    assert "transaction" in failure(r, 409)
    again = await ok(live, "PUT", f"/messages/{mid}", {"transaction": False})
    assert again["data"]["statistics"]["delivered"] == 3


async def test_transaction_cancelled_before_closing(live: Live) -> None:
    opened = await ok(
        live, "POST", "/messages/",
        {"sender": "Tester", "body": "never", "recipients": MARIO, "transaction": True},
    )  # fmt: skip
    mid = opened["data"][0]["id"]
    deleted = await ok(live, "DELETE", f"/messages/{mid}")
    assert deleted["message"] == f"{mid} Deleted" and deleted["data"] == []
    got = (await ok(live, "GET", f"/messages/{mid}"))["data"][0]
    assert got["state"] == 3 and got["transaction"] is False
    r = await call(live, "PUT", f"/messages/{mid}", {"recipients": [LUIGI]})
    failure(r, 409)


# Scheduling, changing timestamp_send, cancelling --------------------------------------------


async def test_schedule_change_and_delete_without_refund(live: Live) -> None:
    at = later_ms(3600)
    sent = await ok(
        live, "POST", "/messages/",
        {"sender": "Shop", "body": "later", "recipients": [MARIO, LUIGI],
         "options": {"timestamp_send": at, "flash": True,
                     "callback_url": "https://example.com/messaggisms-callback"}},
    )  # fmt: skip
    msg = sent["data"][0]
    mid = msg["id"]
    assert msg["options"]["timestamp_send"] == at and msg["options"]["flash"] is True
    assert msg["options"]["callback_url"] == "https://example.com/messaggisms-callback"
    assert msg["state"] == 1
    assert await balance(live) == -2.0
    rows = (await ok(live, "GET", f"/messages/{mid}/recipients"))["data"]
    assert {r["state_description"] for r in rows} == {"PENDING_SCHEDULED"}
    async with live.gateway.db.read() as conn:
        row = (
            await conn.execute(
                select(messages.c.callback_url, messages.c.callback_format, messages.c.flash)
                .where(messages.c.id == int(mid, 16))
            )
        ).one()  # fmt: skip
    assert tuple(row) == ("https://example.com/messaggisms-callback", "messaggisms", True)

    moved = later_ms(7200)
    updated = await ok(live, "PUT", f"/messages/{mid}", {"options": {"timestamp_send": moved}})
    assert updated["message"] == "Updated"
    assert updated["data"]["options"]["timestamp_send"] == moved
    # Seconds are understood too.
    secs = int(time.time()) + 5400
    updated = await ok(live, "PUT", f"/messages/{mid}", {"timestamp_send": secs})
    assert updated["data"]["options"]["timestamp_send"] == str(secs * 1000)

    deleted = await ok(live, "DELETE", f"/messages/{mid}/")
    assert deleted["message"] == f"{mid} Deleted" and deleted["data"] == []
    got = (await ok(live, "GET", f"/messages/{mid}"))["data"][0]
    assert got["state"] == 3
    rows = (await ok(live, "GET", f"/messages/{mid}/recipients/"))["data"]
    assert {r["state"] for r in rows} == {"CANCELLED"}
    assert await balance(live) == -2.0  # no refund
    assert simulator_sent(live) == []

    # Too late for both now.
    failure(await call(live, "DELETE", f"/messages/{mid}"), 409)
    failure(await call(live, "PUT", f"/messages/{mid}", {"timestamp_send": later_ms(60)}), 409)


async def test_timestamp_send_now_or_past_sends_at_once(live: Live) -> None:
    sent = await ok(
        live, "POST", "/messages/",
        {"sender": "Shop", "body": "past", "recipients": MARIO,
         "options": {"timestamp_send": later_ms(-60)}},
    )  # fmt: skip
    await delivered(live, sent["data"][0]["id"], 1)
    failure(await call(live, "DELETE", f"/messages/{sent['data'][0]['id']}"), 409)


async def test_callback_url_gets_messaggisms_payloads(live_factory: Any, database_url: str) -> None:
    live = await live_factory(
        database_url, webhooks_allow_private=True, webhooks_poll_interval_ms=20
    )
    receiver = await WebhookReceiver().start()
    try:
        sent = await ok(
            live, "POST", "/messages/",
            {"sender": "Shop", "body": "call me", "recipients": MARIO,
             "options": {"callback_url": receiver.url + "/cb"}},
        )  # fmt: skip
        mid = sent["data"][0]["id"]

        def states() -> list[str]:
            return [orjson.loads(x.body)["state_description"] for x in receiver.accepted()]

        async def both() -> bool:
            return "DELIVERED_TO_HANDSET" in states()

        await wait_for(both)
        assert states() == ["PENDING_WAITING_DELIVERY", "DELIVERED_TO_HANDSET"]
        last = receiver.accepted()[-1]
        assert last.path == "/hooks/cb"
        payload = orjson.loads(last.body)
        assert payload["message_id"] == mid and payload["number"] == MARIO
        assert payload["state"] == "DELIVERED"
        assert re.fullmatch(r"\d{13}", payload["timestamp_delivery"]["$date"]["$numberLong"])
        assert "application/json" in last.headers.get("content-type", "")
    finally:
        await receiver.stop()


# Listing, trailing slashes ------------------------------------------------------------------


async def test_list_messages(live: Live) -> None:
    empty = await ok(live, "GET", "/messages/")
    assert empty["data"] == [] and empty["message"] == "0 Results"
    ids = []
    for i in range(3):
        sent = await ok(live, "POST", "/messages/",
                        {"sender": "alberto", "body": f"n{i}", "recipients": MARIO})  # fmt: skip
        ids.append(sent["data"][0]["id"])
    listed = await ok(live, "GET", "/messages")
    assert listed["message"] == "3 Results"
    assert [m["id"] for m in listed["data"]] == ids[::-1]
    first = listed["data"][0]
    assert first["sender"] == "alberto" and re.fullmatch(r"\d{13}", first["timestamp"])
    assert first["body"] == "n2"
    page = await ok(live, "GET", "/messages/?limit=2")
    assert [m["id"] for m in page["data"]] == ids[:0:-1]
    rest = await ok(live, "GET", f"/messages/?limit=2&before={ids[1]}")
    assert [m["id"] for m in rest["data"]] == ids[:1]


async def test_every_path_with_and_without_trailing_slash(live: Live) -> None:
    sent = await ok(live, "POST", "/messages",
                    {"sender": "Shop", "body": "slash", "recipients": MARIO})  # fmt: skip
    mid = sent["data"][0]["id"]
    await delivered(live, mid, 1)
    for path in ("/messages", f"/messages/{mid}", f"/messages/{mid}/recipients",
                 f"/messages/{mid}/recipients/{MARIO}"):  # fmt: skip
        for variant in (path, path + "/"):
            reply = await ok(live, "GET", variant)
            assert reply["data"], variant


# Auth: tokens are API keys, with their scopes and expiry -------------------------------------


async def test_tokens_scopes_and_expiry(live: Live) -> None:
    r = await live.client.get(P + "/messages/")
    failure(r, 401)
    r = await live.client.get(P + "/messages/", headers={"Authorization": "Bearer nope"})
    failure(r, 401)
    r = await live.client.get(P + "/messages/", headers={"Authorization": "Basic abc"})
    failure(r, 401)

    reader = (await live.gateway.keys.create(name="reader", scopes="messages:read")).key
    assert (await ok(live, "GET", "/messages/", key=reader))["data"] == []
    body = {"sender": "Shop", "body": "x", "recipients": MARIO}
    assert "messages:send" in failure(await call(live, "POST", "/messages/", body, key=reader),
                                      403)  # fmt: skip
    sender = (await live.gateway.keys.create(name="sender", scopes="messages:send")).key
    mid = (await ok(live, "POST", "/messages/", body, key=sender))["data"][0]["id"]
    failure(await call(live, "GET", f"/messages/{mid}", key=sender), 403)
    failure(await call(live, "DELETE", f"/messages/{mid}", key=sender), 403)

    expiring = await live.gateway.keys.create(name="short", expires="1h")
    assert (await ok(live, "GET", "/messages/", key=expiring.key))["success"]
    async with live.gateway.db.write() as conn:
        await conn.execute(
            update(api_keys).where(api_keys.c.id == expiring.id).values(expires_at=1)
        )
    live.gateway.keys.forget()
    assert "expired" in failure(await call(live, "GET", "/messages/", key=expiring.key), 401)


async def test_accounts_are_isolated(live: Live) -> None:
    body = {"sender": "Shop", "body": "mine", "recipients": MARIO}
    mid = (await ok(live, "POST", "/messages/", body))["data"][0]["id"]
    await live.gateway.accounts.create("other")
    other = (await live.gateway.keys.create(account="other")).key
    assert (await ok(live, "GET", "/messages/", key=other))["data"] == []
    for method, path in (("GET", f"/messages/{mid}"), ("GET", f"/messages/{mid}/recipients"),
                         ("DELETE", f"/messages/{mid}")):  # fmt: skip
        failure(await call(live, method, path, key=other), 404)
    failure(await call(live, "PUT", f"/messages/{mid}", {"transaction": False}, key=other), 404)


async def test_not_enough_credit(live: Live) -> None:
    await live.gateway.accounts.create("poor")
    acc = await live.gateway.accounts.get("poor")
    await live.gateway.billing.configure(acc.id, prepaid=True, actor="test")
    key = (await live.gateway.keys.create(account="poor")).key
    r = await call(live, "POST", "/messages/",
                   {"sender": "Shop", "body": "x", "recipients": MARIO}, key=key)  # fmt: skip
    failure(r, 402)


# Every error in messaggisms' envelope -------------------------------------------------------

GOOD: dict[str, Any] = {"sender": "Shop", "body": "hello", "recipients": MARIO}
BAD_POSTS: list[tuple[str, dict[str, Any], str]] = [
    ("no sender", {"body": "x", "recipients": MARIO}, "sender"),
    ("sender too short", {**GOOD, "sender": "AB"}, "sender"),
    ("alphanumeric sender too long", {**GOOD, "sender": "ABCDEFGHIJKL"}, "sender"),
    ("numeric sender too long", {**GOOD, "sender": "123456789012345"}, "sender"),
    ("no body", {"sender": "Shop", "recipients": MARIO}, "body"),
    ("empty body", {**GOOD, "body": "  "}, "body"),
    ("no recipients", {"sender": "Shop", "body": "x"}, "recipients"),
    ("empty recipients", {**GOOD, "recipients": []}, "recipients"),
    ("only badly written numbers", {**GOOD, "recipients": ["3471234567", "39-347"]}, "3471234567"),
    ("no valid number", {**GOOD, "recipients": ["+39-12"]}, "+39-12"),
    ("priority below 1", {**GOOD, "priority": 0.5}, "priority"),
    ("priority not a number", {**GOOD, "priority": "fast"}, "priority"),
    ("priority boolean", {**GOOD, "priority": True}, "priority"),
    ("options not an object", {**GOOD, "options": [1, 2]}, "options"),
    (
        "timestamp_send not a time",
        {**GOOD, "options": {"timestamp_send": "tomorrow"}},
        "timestamp_send",
    ),
    (
        "timestamp_send too far",
        {**GOOD, "options": {"timestamp_send": later_ms(20 * 366 * 86400)}},
        "ahead",
    ),
    ("fields not an object", {**GOOD, "recipients": [{"number": MARIO, "fields": "x"}]}, "fields"),
    ("callback_url not a URL", {**GOOD, "options": {"callback_url": "not a url"}}, ""),
    ("callback_url not a string", {**GOOD, "options": {"callback_url": 5}}, "callback_url"),
    ("test not a boolean", {**GOOD, "test": "maybe"}, "test"),
    ("transaction not a boolean", {**GOOD, "transaction": "perhaps"}, "transaction"),
    ("text too long", {**GOOD, "body": "x" * 2000}, ""),
]


@pytest.mark.parametrize(("what", "body", "mentions"), BAD_POSTS, ids=[c[0] for c in BAD_POSTS])
async def test_bad_posts(live: Live, what: str, body: dict[str, Any], mentions: str) -> None:
    message = failure(await call(live, "POST", "/messages/", body), 400)
    assert mentions in message, (what, message)


async def test_malformed_json_and_unknown_routes(live: Live) -> None:
    r = await live.client.post(
        P + "/messages/",
        content=b'{"sender": "Shop", ',
        headers={"Authorization": f"Bearer {live.key}", "Content-Type": "application/json"},
    )
    failure(r, 400)
    failure(await live.client.get(P + "/nothing/here", headers=php_headers(live.key)), 404)
    failure(await live.client.get(P + "/", headers=php_headers(live.key)), 404)
    r = await live.client.patch(P + f"/messages/{UNKNOWN_ID}", headers=php_headers(live.key))
    failure(r, 405)
    r = await live.client.post(P + f"/messages/{UNKNOWN_ID}", headers=php_headers(live.key))
    failure(r, 405)


async def test_unknown_ids_and_numbers_are_404(live: Live) -> None:
    # OpenApi-PHP returns null on a 404 (and only then): the envelope says success false.
    for method, path in (
        ("GET", f"/messages/{UNKNOWN_ID}"),
        ("GET", "/messages/not-an-id"),
        ("GET", "/messages/5d3f05c29f2725610c2b4e6"),  # 23 digits
        ("GET", f"/messages/{UNKNOWN_ID}/recipients/"),
        ("GET", f"/messages/{UNKNOWN_ID}/recipients/{MARIO}"),
        ("DELETE", f"/messages/{UNKNOWN_ID}"),
    ):
        failure(await call(live, method, path), 404)
    failure(await call(live, "PUT", f"/messages/{UNKNOWN_ID}", {"transaction": False}), 404)
    mid = (await ok(live, "POST", "/messages/", GOOD))["data"][0]["id"]
    failure(await call(live, "GET", f"/messages/{mid}/recipients/{LUIGI}"), 404)
    failure(await call(live, "GET", f"/messages/{mid}/recipients/garbage"), 404)
    r = await call(live, "GET", "/messages/?before=xyz")
    failure(r, 404)
    failure(await call(live, "GET", "/messages/?limit=0"), 400)


async def test_bad_puts(live: Live) -> None:
    mid = (await ok(live, "POST", "/messages/", {**GOOD, "transaction": True}))["data"][0]["id"]
    cases: list[tuple[dict[str, Any], int]] = [
        ({}, 400),
        ({"recipients": ["3471234567"]}, 400),
        ({"recipients": [{"number": MARIO, "fields": 7}]}, 400),
        ({"options": {"timestamp_send": "soon"}}, 400),
        ({"options": "x"}, 400),
        ({"transaction": "later"}, 400),
    ]
    for body, status in cases:
        failure(await call(live, "PUT", f"/messages/{mid}", body), status)
    # The transaction is still open and intact.
    got = (await ok(live, "GET", f"/messages/{mid}"))["data"][0]
    assert got["transaction"] is True and got["recipients"]["valid"]["count"] == 1
