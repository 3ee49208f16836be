"""Webhooks end to end: a real receiver on loopback, signed deliveries, in order."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import orjson

from smsbridge.testing.webhook_receiver import WebhookReceiver
from tests.conftest import wait_for

FAST = {
    "webhooks_allow_private": True,
    "webhooks_retry_base_seconds": 0.05,
    "webhooks_retry_max_seconds": 0.2,
    "webhooks_poll_interval_ms": 20,
}


async def test_events_arrive_signed_and_in_order(live_factory: Any, database_url: str) -> None:
    receiver = await WebhookReceiver().start()
    try:
        live = await live_factory(database_url, **FAST)
        r = await live.client.post(
            "/api/v1/webhooks", json={"url": receiver.url, "events": ["*"]}, headers=live.headers
        )
        assert r.status_code == 201, r.text
        secret = r.json()["secret"]
        r = await live.client.post(
            "/api/v1/messages",
            json={"to": "+4917612345678", "text": "hi", "foreign_id": "f1", "label": "otp"},
            headers=live.headers,
        )
        assert r.status_code == 202, r.text

        async def delivered() -> bool:
            return any(
                orjson.loads(x.body)["type"] == "message.delivered" for x in receiver.received
            )

        await wait_for(delivered)
        types = [orjson.loads(x.body)["type"] for x in receiver.received]
        assert types == ["message.queued", "message.sent", "message.delivered"]
        for request in receiver.received:
            ts = request.headers["x-smsbridge-timestamp"]
            expected = hmac.new(
                secret.encode(), ts.encode() + b"." + request.body, hashlib.sha256
            ).hexdigest()
            assert request.headers["x-smsbridge-signature"] == expected
            data = orjson.loads(request.body)["data"]
            assert data["foreign_id"] == "f1" and data["label"] == "otp"
    finally:
        await receiver.stop()
