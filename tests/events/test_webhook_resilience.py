"""Webhooks when things go wrong: a receiver that fails, goes away and comes back, answers too
late, a gateway that restarts, two gateways on one database. Every event arrives, none is
accepted twice, one recipient's events in order, and every signature checks out with an
independent HMAC implementation (Node.js) as well as Python's."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import shutil
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import select

from smsbridge.store.db import Database, now_us
from smsbridge.store.schema import webhook_deliveries
from smsbridge.testing.webhook_receiver import Received, WebhookReceiver
from tests.conftest import Live, make_settings, start_app, wait_for

FAST = {
    "webhooks_allow_private": True,
    "webhooks_retry_base_seconds": 0.05,
    "webhooks_retry_max_seconds": 0.2,
    "webhooks_poll_interval_ms": 20,
}
MESSAGE_EVENTS = ["message.queued", "message.sent", "message.delivered"]

NODE_VERIFY = r"""
const crypto = require('crypto');
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const results = JSON.parse(input).map(({ secret, timestamp, body, signature }) => {
    const raw = Buffer.from(body, 'base64');
    const expected = crypto.createHmac('sha256', secret)
      .update(Buffer.concat([Buffer.from(timestamp + '.', 'utf8'), raw]))
      .digest();
    const given = Buffer.from(signature, 'hex');
    return given.length === expected.length && crypto.timingSafeEqual(given, expected);
  });
  process.stdout.write(JSON.stringify(results));
});
"""


async def node_verify(items: list[dict[str, str]]) -> list[bool]:
    """Check signatures with Node's crypto.createHmac: secret, timestamp, base64 of the exact
    body bytes, signature -> whether it matches."""
    node = shutil.which("node")
    assert node is not None, "node is needed to check signatures independently"
    proc = await asyncio.create_subprocess_exec(
        node,
        "-e",
        NODE_VERIFY,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(json.dumps(items).encode()), 30)
    assert proc.returncode == 0, err.decode()
    results: list[bool] = json.loads(out)
    assert len(results) == len(items)
    return results


def signature_item(secret: str, request: Received) -> dict[str, str]:
    return {
        "secret": secret,
        "timestamp": request.headers["x-smsbridge-timestamp"],
        "body": base64.b64encode(request.body).decode(),
        "signature": request.headers["x-smsbridge-signature"],
    }


def python_verify(secret: str, request: Received) -> bool:
    ts = request.headers["x-smsbridge-timestamp"]
    expected = hmac.new(secret.encode(), ts.encode() + b"." + request.body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), request.headers["x-smsbridge-signature"])


async def assert_signed(secret: str, requests: list[Received]) -> None:
    """Every request's signature verifies in Python and in Node, and a tampered body or a
    wrong secret does not (so the check is not vacuous)."""
    assert requests
    assert all(python_verify(secret, r) for r in requests)
    items = [signature_item(secret, r) for r in requests]
    tampered = dict(items[0], body=base64.b64encode(requests[0].body + b" ").decode())
    wrong_secret = dict(items[0], secret=secret + "x")
    other_time = dict(items[0], timestamp=str(int(items[0]["timestamp"]) + 1))
    results = await node_verify([*items, tampered, wrong_secret, other_time])
    assert results[: len(items)] == [True] * len(items), [
        r.headers["x-smsbridge-event-id"]
        for r, ok in zip(requests, results, strict=False)
        if not ok
    ]
    assert results[len(items) :] == [False, False, False]
    for r in requests:
        assert abs(int(r.headers["x-smsbridge-timestamp"]) - r.at) <= 5


def event_of(request: Received) -> dict[str, Any]:
    body: dict[str, Any] = orjson.loads(request.body)
    return body


def assert_once_and_in_order(receiver: WebhookReceiver, numbers: list[str]) -> None:
    """Each event accepted exactly once; per recipient queued < sent < delivered."""
    accepted = receiver.accepted()
    events = [event_of(x) for x in accepted]
    for request, event in zip(accepted, events, strict=True):
        assert request.headers["x-smsbridge-event-id"] == event["id"]
        assert request.headers["x-smsbridge-event"] == event["type"]
    twice = {i: n for i, n in Counter(e["id"] for e in events).items() if n > 1}
    assert not twice, f"events accepted more than once: {twice}"
    per_recipient: dict[str, list[str]] = {}
    for event in events:
        per_recipient.setdefault(event["data"]["to"], []).append(event["type"])
    assert sorted(per_recipient) == sorted(numbers)
    out_of_order = {n: t for n, t in per_recipient.items() if t != MESSAGE_EVENTS}
    assert not out_of_order, out_of_order


async def send_numbered(live: Live, first: int, count: int, pause: float = 0.02) -> list[str]:
    """``count`` messages, every fifth to two recipients; the numbers sent to."""
    numbers: list[str] = []
    for i in range(first, first + count):
        to = [f"+4917612{i:05d}"] + ([f"+4917613{i:05d}"] if i % 5 == 0 else [])
        r = await live.client.post(
            "/api/v1/messages", json={"to": to, "text": f"message {i}"}, headers=live.headers
        )
        assert r.status_code == 202, r.text
        numbers.extend(to)
        await asyncio.sleep(pause)
    return numbers


async def all_arrived(receiver: WebhookReceiver, numbers: list[str], timeout: float) -> None:
    expected = 3 * len(numbers)

    async def complete() -> bool:
        return len({event_of(x)["id"] for x in receiver.accepted()}) >= expected

    await wait_for(complete, timeout=timeout, interval=0.1)
    await asyncio.sleep(0.5)  # a duplicate would have come by now


async def test_failing_then_gone_then_back_receiver_gets_everything_once_in_order(
    live_factory: Any, database_url: str
) -> None:
    receiver = await WebhookReceiver().start()
    try:
        live = await live_factory(database_url, **FAST)
        r = await live.client.post(
            "/api/v1/webhooks", json={"url": receiver.url, "events": ["*"]}, headers=live.headers
        )
        assert r.status_code == 201, r.text
        hook, secret = r.json()["id"], r.json()["secret"]
        receiver.fail_next(10, 500)
        receiver.fail_next(5, 503)
        receiver.fail_next(5, 429)
        numbers = await send_numbered(live, 0, 10)  # the first attempts fail
        await asyncio.sleep(0.2)
        await receiver.stop()  # gone: connections refused, kept ones dropped
        numbers += await send_numbered(live, 10, 10)
        await asyncio.sleep(0.6)
        await receiver.start()  # back on the same port
        numbers += await send_numbered(live, 20, 10)
        await all_arrived(receiver, numbers, timeout=30)

        assert_once_and_in_order(receiver, numbers)
        failed = [x for x in receiver.received if x.status >= 300]
        assert [x.status for x in failed] == [500] * 10 + [503] * 5 + [429] * 5
        assert any(int(x.headers["x-smsbridge-attempt"]) > 1 for x in receiver.accepted())
        await assert_signed(secret, receiver.received)

        r = await live.client.get(f"/api/v1/webhooks/{hook}", headers=live.headers)
        assert r.json()["deliveries"] == {"done": 3 * len(numbers)}
        # the log explains the retries: refused connections and HTTP errors
        r = await live.client.get(
            f"/api/v1/webhooks/{hook}/deliveries", params={"limit": 500}, headers=live.headers
        )
        errors = [a["error"] for d in r.json()["deliveries"] for a in d["failed_attempts"]]
        assert sum(e.startswith("HTTP ") for e in errors) == 20
        assert any(not e.startswith("HTTP ") for e in errors)  # while it was gone
    finally:
        await receiver.stop()


async def test_a_receiver_answering_too_late_gets_the_event_again(
    live_factory: Any, database_url: str
) -> None:
    receiver = await WebhookReceiver(delay=0.6).start()
    try:
        live = await live_factory(database_url, **FAST, webhooks_timeout_seconds=0.3)
        r = await live.client.post(
            "/api/v1/webhooks",
            json={"url": receiver.url, "events": ["message.delivered"]},
            headers=live.headers,
        )
        hook, secret = r.json()["id"], r.json()["secret"]
        await send_numbered(live, 1, 1)  # one recipient

        async def tried() -> bool:
            return len(receiver.received) >= 1

        await wait_for(tried)
        receiver.delay = 0.0

        async def done() -> bool:
            r = await live.client.get(f"/api/v1/webhooks/{hook}", headers=live.headers)
            return bool(r.json()["deliveries"] == {"done": 1})

        await wait_for(done)
        r = await live.client.get(f"/api/v1/webhooks/{hook}/deliveries", headers=live.headers)
        [delivery] = r.json()["deliveries"]
        assert delivery["attempts"] >= 2
        assert "no response within 0.3 s" in delivery["failed_attempts"][0]["error"]
        # the receiver saw the same event id again (at least once): ids tell duplicates apart
        ids = {event_of(x)["id"] for x in receiver.received}
        assert ids == {delivery["event_id"]} and len(receiver.received) >= 2
        await assert_signed(secret, receiver.received)
    finally:
        await receiver.stop()


async def test_deliveries_survive_a_gateway_restart(live_factory: Any, database_url: str) -> None:
    receiver = await WebhookReceiver().start()
    try:
        # The first gateway retries slowly, so that it is idle (no claim under way) when it
        # stops: a delivery claimed at that very moment would wait out its lease (timeout +
        # 30 s) before the next gateway may try it.
        settings = make_settings(database_url, **{**FAST, "webhooks_retry_base_seconds": 2.0,
                                                  "webhooks_retry_max_seconds": 2.0})  # fmt: skip
        server, task, base_url, app = await start_app(settings)
        gateway = app.state.gateway
        key = (await gateway.keys.create(name="first")).key
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            first = Live(base_url, gateway, client, key, app)
            r = await client.post(
                "/api/v1/webhooks",
                json={"url": receiver.url, "events": ["*"]},
                headers=first.headers,
            )
            assert r.status_code == 201, r.text
            hook, secret = r.json()["id"], r.json()["secret"]
            numbers = await send_numbered(first, 1, 3)

            async def some_accepted() -> bool:
                return len(receiver.accepted()) >= 2

            await wait_for(some_accepted)
            await receiver.stop()
            numbers += await send_numbered(first, 4, 4)

            async def queued_and_waiting() -> bool:
                r = await client.get(f"/api/v1/webhooks/{hook}", headers=first.headers)
                counts = r.json()["deliveries"]
                if sum(counts.values()) != 3 * len(numbers) or counts.get("done", 0) < 2:
                    return False
                r = await client.get(
                    f"/api/v1/webhooks/{hook}/deliveries",
                    params={"state": "ready", "limit": 500},
                    headers=first.headers,
                )
                soon = datetime.now(UTC) + timedelta(seconds=0.4)
                return all(
                    d["attempts"] >= 1 and datetime.fromisoformat(d["next_attempt_at"]) > soon
                    for d in r.json()["deliveries"]
                )

            await wait_for(queued_and_waiting)
        server.should_exit = True
        await task

        second = await live_factory(database_url, **FAST)
        await receiver.start()
        await all_arrived(receiver, numbers, timeout=20)
        assert_once_and_in_order(receiver, numbers)
        await assert_signed(secret, receiver.received)
        r = await second.client.get(f"/api/v1/webhooks/{hook}", headers=second.headers)
        assert r.json()["deliveries"] == {"done": 3 * len(numbers)}
    finally:
        await receiver.stop()


async def test_two_gateways_on_one_database_deliver_each_event_once_in_order(
    live_factory: Any, database_url: str
) -> None:
    receiver = await WebhookReceiver().start()
    try:
        one = await live_factory(database_url, **FAST)
        two = await live_factory(database_url, **FAST)
        r = await one.client.post(
            "/api/v1/webhooks", json={"url": receiver.url, "events": ["*"]}, headers=one.headers
        )
        assert r.status_code == 201, r.text
        secret = r.json()["secret"]
        receiver.fail_next(10)
        sent = await asyncio.gather(
            send_numbered(one, 0, 15, pause=0.01), send_numbered(two, 15, 15, pause=0.01)
        )
        numbers = [n for batch in sent for n in batch]
        await all_arrived(receiver, numbers, timeout=30)
        assert_once_and_in_order(receiver, numbers)
        await assert_signed(secret, receiver.received)
        # both gateways sent some
        assert one.gateway.webhook_sender is not None and two.gateway.webhook_sender is not None
        assert one.gateway.webhook_sender.delivered + two.gateway.webhook_sender.delivered == len(
            receiver.accepted()
        )
    finally:
        await receiver.stop()


async def test_a_stopping_gateway_leaves_no_delivery_claimed(database_url: str) -> None:
    """A gateway stopped while claimed deliveries were not attempted yet hands them back;
    otherwise they would wait out their lease (timeout + 30 s) after a restart."""
    receiver = await WebhookReceiver().start()
    server = task = None
    try:
        settings = make_settings(database_url, **{**FAST, "webhooks_timeout_seconds": 1.0})
        server, task, base_url, app = await start_app(settings)
        gateway = app.state.gateway
        key = (await gateway.keys.create(name="first")).key
        sender = gateway.webhook_sender
        claimed_now = asyncio.Event()

        async def stuck(item: Any, target: Any) -> None:
            # the claim is committed; the attempt never gets going before the stop
            claimed_now.set()
            await asyncio.Event().wait()

        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            headers = {"Authorization": f"Bearer {key}"}
            r = await client.post(
                "/api/v1/webhooks",
                json={"url": receiver.url, "events": ["message.queued"]},
                headers=headers,
            )
            assert r.status_code == 201, r.text
            hook = r.json()["id"]
            sender._attempt = stuck  # type: ignore[method-assign]
            r = await client.post(
                "/api/v1/messages", json={"to": "+4917612345678", "text": "x"}, headers=headers
            )
            assert r.status_code == 202, r.text
            await asyncio.wait_for(claimed_now.wait(), 10)
        server.should_exit = True
        await task
        server = None

        db = Database.unpooled(database_url)
        try:
            async with db.read() as conn:
                rows = (
                    await conn.execute(
                        select(
                            webhook_deliveries.c.state,
                            webhook_deliveries.c.due_at,
                            webhook_deliveries.c.attempts,
                        ).where(webhook_deliveries.c.webhook_id == int(hook))
                    )
                ).all()
        finally:
            await db.dispose()
        assert [(state, attempts) for state, _, attempts in rows] == [("ready", 0)]
        leased_for = (rows[0][1] - now_us()) / 1e6
        assert leased_for < 1, f"the delivery stays claimed for another {leased_for:.0f} s"
        assert receiver.received == []
    finally:
        if server is not None and task is not None:
            server.should_exit = True
            await task
        await receiver.stop()
