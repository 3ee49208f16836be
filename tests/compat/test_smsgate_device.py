"""Phones running the SMSGate app (the fake device, speaking its protocol over real HTTP and
SSE) as smsbridge's ``android`` channel: registration, enqueue → SSE → pull → states, signed
webhooks, inbound SMS, failover, SIM selection and cancelling, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from smsbridge.testing.fake_device import FakeDevice
from tests.conftest import Live, wait_for

FAST = {
    "poll_interval_ms": 20,
    "events_poll_interval_ms": 20,
    "devices_poll_interval_ms": 50,
    "webhooks_allow_private": True,
}
ANNA = "+4917612345601"
BEN = "+4917612345602"


@pytest.fixture
async def phone_live(live_factory: Any, database_url: str) -> Live:
    live: Live = await live_factory(database_url, **FAST)
    return live


async def account_id(live: Live) -> int:
    caller = await live.gateway.keys.authenticate(live.key)
    return caller.account_id


async def private_token(live: Live) -> str:
    return (await live.gateway.device_accounts.ensure(await account_id(live))).private_token


@pytest.fixture
async def phone(phone_live: Live) -> AsyncIterator[FakeDevice]:
    device = FakeDevice(state_retry_delay=0.05, webhook_retry_delay=0.05)
    try:
        await device.register(
            f"{phone_live.base_url}/api/mobile/v1", await private_token(phone_live)
        )
        await device.wait_connected()
        yield device
    finally:
        await device.close()


async def send(live: Live, to: str, text: str, **extra: Any) -> dict[str, Any]:
    r = await live.client.post(
        "/api/v1/messages", json={"to": to, "text": text, "channel": "android", **extra},
        headers=live.headers,
    )  # fmt: skip
    assert r.status_code in (200, 201, 202), r.text
    body: dict[str, Any] = r.json()
    return body


async def status_of(live: Live, message_id: str) -> str:
    r = await live.client.get(f"/api/v1/messages/{message_id}", headers=live.headers)
    assert r.status_code == 200, r.text
    return str(r.json()["recipients"][0]["status"])


async def test_send_through_a_phone_reaches_delivered(phone_live: Live, phone: FakeDevice) -> None:
    message = await send(phone_live, ANNA, "Your code is 1234")
    sent = await phone.wait_for_messages(1)
    assert sent[0].phone_number == ANNA and sent[0].text == "Your code is 1234"

    async def delivered() -> bool:
        return await status_of(phone_live, message["id"]) == "delivered"

    await wait_for(delivered)
    r = await phone_live.client.get(f"/api/v1/messages/{message['id']}", headers=phone_live.headers)
    events = [e["status"] for e in r.json()["recipients"][0]["history"]]
    assert events[-2:] == ["sent", "delivered"], events
