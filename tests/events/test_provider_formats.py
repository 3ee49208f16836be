"""Webhook subscriptions in a provider's payload format (``format`` on /api/v1/webhooks): a
send through the simulator arrives at a real receiver as that provider's delivery report."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

import pytest

from smsbridge.services import webhook_formats
from smsbridge.testing.webhook_receiver import WebhookReceiver
from tests.conftest import Live, wait_for

FAST = {"webhooks_allow_private": True, "events_poll_interval_ms": 20}
NUMBER = "+4917612345678"


@pytest.fixture
async def gate(live_factory: Any, database_url: str) -> Live:
    live: Live = await live_factory(database_url, **FAST)
    return live


async def _subscribe(live: Live, url: str, fmt: str, method: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"url": url, "events": ["*"], "format": fmt}
    if method:
        body["method"] = method
    r = await live.client.post("/api/v1/webhooks", json=body, headers=live.headers)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    assert created["format"] == fmt
    return created


async def _send(live: Live, text: str) -> dict[str, Any]:
    r = await live.client.post(
        "/api/v1/messages", json={"to": NUMBER, "text": text}, headers=live.headers
    )
    assert r.status_code == 202, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_smsgateway24_delivery_reports(gate: Live) -> None:
    receiver = await WebhookReceiver().start()
    try:
        await _subscribe(gate, receiver.url, "smsgateway24", "JSON")
        sent = await _send(gate, "for an SmsGateway24 receiver")
        sms_id = int(sent["recipients"][0]["id"])

        async def delivered() -> bool:
            return any(json.loads(x.body).get("status_id") == 7 for x in receiver.received)

        await wait_for(delivered)
        reports = [json.loads(x.body) for x in receiver.received]
        assert all(r["sms_id"] == sms_id and r["sendto"] == NUMBER for r in reports)
        assert {r["status_id"] for r in reports} >= {6, 7}  # sent, delivered
    finally:
        await receiver.stop()


async def test_smstools_delivery_reports_as_form(gate: Live) -> None:
    receiver = await WebhookReceiver().start()
    try:
        await _subscribe(gate, receiver.url, "smstools", "POST")
        await _send(gate, "for a Smstools receiver")

        async def delivered() -> bool:
            return any(
                "DELIVERED" in x.body.decode() or "delivery_report" in x.body.decode()
                for x in receiver.received
            )

        await wait_for(delivered)
        got = receiver.received[0]
        assert got.headers["content-type"] == "application/x-www-form-urlencoded"
        assert parse_qs(got.body.decode())  # a form, not JSON
    finally:
        await receiver.stop()


async def test_unknown_format_and_method_are_refused(gate: Live) -> None:
    for body, code in (
        ({"format": "kannel"}, "invalid_format"),
        ({"format": "smsbridge", "method": "GET"}, "invalid_method"),
        ({"format": "seven", "method": "PUT"}, "invalid_method"),
    ):
        r = await gate.client.post(
            "/api/v1/webhooks",
            json={"url": "http://127.0.0.1:9/x", "events": ["*"], **body},
            headers=gate.headers,
        )
        assert r.status_code == 422 and r.json()["error"]["code"] == code, r.text


def test_wire_encodings() -> None:
    payload = json.dumps({"a": 1, "data": {"b": "x y", "c": None, "d": True}})
    as_json = webhook_formats.wire("seven", "JSON", payload)
    assert (as_json.method, as_json.content_type) == ("POST", "application/json")
    form = webhook_formats.wire("seven", "POST", payload)
    assert parse_qs(form.body.decode(), keep_blank_values=True) == {
        "a": ["1"], "data[b]": ["x y"], "data[c]": [""], "data[d]": ["1"],
    }  # fmt: skip
    query = webhook_formats.wire("seven", "GET", payload)
    assert query.method == "GET" and query.body == b"" and "data%5Bb%5D=x+y" in query.query
    native = webhook_formats.wire(None, None, payload)
    assert native.body == payload.encode()


async def test_seven_get_hooks_carry_the_payload_in_the_query(gate: Live) -> None:
    receiver = await WebhookReceiver().start()
    try:
        await _subscribe(gate, receiver.url, "seven", "GET")
        await _send(gate, "for a GET receiver")

        async def delivered() -> bool:
            return any("DELIVERED" in x.path for x in receiver.received)

        await wait_for(delivered)
        got = receiver.received[0]
        assert got.body == b"" and "webhook_event=dlr" in got.path
        assert "x-signature" in got.headers and "x-nonce" in got.headers
    finally:
        await receiver.stop()
