"""Phones running the SMSGate app (the fake device, speaking its protocol over real HTTP and
SSE) as smsbridge's ``android`` channel: registration, enqueue → SSE → pull → states, signed
webhooks, inbound SMS, failover, SIM selection and cancelling, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from smsbridge.testing.fake_device import FakeDevice, Outcome, SimCard
from smsbridge.testing.webhook_receiver import WebhookReceiver
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
    # The phone can report before the hand-over is recorded: "sent" may fold into "delivered".
    assert events[:2] == ["queued", "sending"] and events[-1] == "delivered", events


async def test_registration_answers_credentials_and_unknown_tokens_get_401(
    phone_live: Live,
) -> None:
    token = await private_token(phone_live)
    async with FakeDevice() as first, FakeDevice() as second:
        one = await first.register(f"{phone_live.base_url}/api/mobile/v1", token)
        two = await second.register(f"{phone_live.base_url}/api/mobile/v1", token)
        assert one.login == two.login and one.password and two.password is None
        assert one.id != two.id and one.token != two.token
    base = f"{phone_live.base_url}/api/mobile/v1"
    r = await phone_live.client.post(
        f"{base}/device", json={"name": "x"}, headers={"Authorization": "Bearer wrong"}
    )
    assert r.status_code == 401 and r.json()["code"] == 401
    r = await phone_live.client.patch(
        f"{base}/device", json={"pushToken": "t"}, headers={"Authorization": "Bearer nope"}
    )
    assert r.status_code == 401
    r = await phone_live.client.get(f"{base}/message", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    r = await phone_live.client.post(
        f"{base}/device", content=b"{nope", headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 400 and "JSON" in r.json()["message"]


async def test_settings_and_webhooks_handed_to_the_phone(
    phone_live: Live, phone: FakeDevice
) -> None:
    assert phone.settings["webhooks"]["signing_key"]
    assert phone.settings["ping"]["interval_seconds"] == 60
    events = {w["event"]: w for w in phone.webhooks}
    for event in ("sms:received", "sms:sent", "sms:delivered", "sms:failed"):
        assert events[event]["url"].endswith(f"/api/mobile/v1/hooks/{phone.device_id}")
    again = await phone.sync_webhooks()
    assert [w["id"] for w in again] == [w["id"] for w in phone.webhooks]  # stable ids


async def test_inbound_sms_is_stored_with_device_and_sim(
    phone_live: Live, phone: FakeDevice
) -> None:
    await phone.receive_sms(BEN, "Is the shop open on Sunday?", sim=1)

    async def stored() -> list[dict[str, Any]]:
        r = await phone_live.client.get("/api/v1/inbound", headers=phone_live.headers)
        items: list[dict[str, Any]] = r.json()["inbound"]
        return items

    items = await wait_for(stored)
    assert items[0]["from"] == BEN and items[0]["text"] == "Is the shop open on Sunday?"
    assert items[0]["channel"] == "android" and items[0]["device"] == phone.device_id
    assert items[0]["sim"] == 1


async def test_forged_webhooks_are_refused(phone_live: Live, phone: FakeDevice) -> None:
    url = f"{phone_live.base_url}/api/mobile/v1/hooks/{phone.device_id}"
    body = b'{"event":"sms:received","payload":{"sender":"+4917612345699","message":"hi"}}'
    r = await phone_live.client.post(
        url, content=body, headers={"X-Signature": "00" * 32, "X-Timestamp": "1"}
    )
    assert r.status_code == 401
    r = await phone_live.client.post(url, content=body)
    assert r.status_code == 401 and "X-Signature" in r.json()["message"]


async def test_failed_send_reports_the_reason(phone_live: Live, phone: FakeDevice) -> None:
    phone.set_outcome(ANNA, Outcome(result="failed"))
    message = await send(phone_live, ANNA, "will fail")

    async def failed() -> dict[str, Any] | None:
        r = await phone_live.client.get(
            f"/api/v1/messages/{message['id']}", headers=phone_live.headers
        )
        rec: dict[str, Any] = r.json()["recipients"][0]
        return rec if rec["status"] == "failed" else None

    rec = await wait_for(failed)
    assert rec["error"]["code"] == "RESULT_ERROR_GENERIC_FAILURE"
    assert rec["error"]["reason"] == "undeliverable"


async def _phones(live: Live, n: int, **kwargs: Any) -> list[FakeDevice]:
    token = await private_token(live)
    phones = []
    for _ in range(n):
        device = FakeDevice(state_retry_delay=0.05, webhook_retry_delay=0.05, **kwargs)
        phones.append(device)
        await device.register(f"{live.base_url}/api/mobile/v1", token)
        await device.wait_connected()
    return phones


async def _close(phones: list[FakeDevice]) -> None:
    for device in phones:
        await device.close()


async def _wait_status(live: Live, message_id: str, status: str, timeout: float = 15.0) -> None:
    async def reached() -> bool:
        return await status_of(live, message_id) == status

    await wait_for(reached, timeout=timeout)


async def test_a_phone_going_offline_hands_its_waiting_work_to_another(
    live_factory: Any, database_url: str
) -> None:
    live: Live = await live_factory(
        database_url, devices_offline_after_seconds=1.0, devices_sse_keepalive_seconds=0.1,
        devices_routing="round_robin", **FAST,
    )  # fmt: skip
    gone, staying = await _phones(live, 2)
    try:
        received = await _events(live)
        await gone.go_offline()
        ids = [(await send(live, f"+49176123456{i:02d}", f"hello {i}"))["id"] for i in range(4)]
        for message_id in ids:
            await _wait_status(live, message_id, "delivered")
        assert len(staying.sent) == 4 and not gone.sent
        offline = [e["data"] for e in await received() if e["type"] == "device.offline"]
        assert offline and offline[0]["device_id"] == gone.device_id
        await gone.come_online()
        await gone.wait_connected()
        assert await gone.pull() == []  # its rows moved: nothing is sent twice
        r = await live.client.get(f"/api/v1/devices/{gone.device_id}", headers=live.headers)
        assert r.status_code == 200 and r.json()["online"] is True  # back (device.online)
        online = [e["data"] for e in await received() if e["type"] == "device.online"]
        assert any(d["device_id"] == gone.device_id for d in online)
    finally:
        await _close([gone, staying])


async def _events(live: Live) -> Any:
    """A function returning the account's events so far (from the live event stream's feed)."""
    start = await live.gateway.events.head()

    async def read() -> list[dict[str, Any]]:
        events, _, _ = await live.gateway.events.read(start, limit=1000)
        return [{"type": e.type, "data": e.data} for e in events]

    return read


async def test_sim_and_device_selection(phone_live: Live) -> None:
    sims = (SimCard(0, None, "Carrier A"), SimCard(1, None, "Carrier B"))
    first, second = await _phones(phone_live, 2, sims=sims)
    try:
        message = await send(phone_live, ANNA, "from SIM 2", device_id=second.device_id, sim=2)
        await _wait_status(phone_live, message["id"], "delivered")
        assert not first.sent and second.sent[0].sim_number == 2
        assert second.sent[0].slot_index == 1
        r = await phone_live.client.post(
            "/api/v1/messages", json={"to": ANNA, "text": "x", "device_id": "nope"},
            headers=phone_live.headers,
        )  # fmt: skip
        assert r.status_code == 422 and r.json()["error"]["code"] == "device_not_found"
        r = await phone_live.client.post(
            "/api/v1/messages",
            json={"to": ANNA, "text": "x", "device_id": first.device_id, "sim": 3},
            headers=phone_live.headers,
        )
        assert r.status_code == 422 and r.json()["error"]["code"] == "sim_not_found"
        r = await phone_live.client.post(
            "/api/v1/messages",
            json={"to": ANNA, "text": "x", "device_id": first.device_id, "channel": "simulator"},
            headers=phone_live.headers,
        )
        assert r.status_code == 422 and r.json()["error"]["code"] == "device_needs_android"
    finally:
        await _close([first, second])


async def test_sim_round_robin_routing(live_factory: Any, database_url: str) -> None:
    live: Live = await live_factory(database_url, devices_routing="sim_round_robin", **FAST)
    sims = (SimCard(0, None, "Carrier A"), SimCard(1, None, "Carrier B"))
    (device,) = await _phones(live, 1, sims=sims)
    try:
        for i in range(4):
            message = await send(live, f"+49176123457{i:02d}", f"rotate {i}")
            await _wait_status(live, message["id"], "delivered")
        assert sorted(s.sim_number or 0 for s in device.sent) == [1, 1, 2, 2]
    finally:
        await device.close()


async def test_cancel_before_the_phone_pulls(phone_live: Live, phone: FakeDevice) -> None:
    await phone.go_offline()
    message = await send(phone_live, ANNA, "never mind")
    await _wait_status(phone_live, message["id"], "sending")
    r = await phone_live.client.delete(
        f"/api/v1/messages/{message['id']}", headers=phone_live.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["recipients"][0]["status"] == "cancelled"
    await phone.come_online()
    await phone.wait_connected()
    assert await phone.pull() == []
    assert not phone.sent


async def test_devices_api_lists_edits_and_removes(phone_live: Live, phone: FakeDevice) -> None:
    r = await phone_live.client.get("/api/v1/devices", headers=phone_live.headers)
    assert r.status_code == 200
    (device,) = r.json()["devices"]
    assert device["id"] == phone.device_id and device["online"] is True
    # The app sends carrier, number and ICCID redacted to their last four characters.
    assert device["sims"][0]["sim"] == 1 and device["sims"][0]["carrier"].endswith("rier")
    throttle = {"messages": {"send_interval_min": 1, "send_interval_max": 2}}
    r = await phone_live.client.patch(
        f"/api/v1/devices/{phone.device_id}", json={"name": "Desk", "settings": throttle},
        headers=phone_live.headers,
    )  # fmt: skip
    assert r.status_code == 200 and r.json()["name"] == "Desk"

    async def applied() -> bool:
        return phone.settings.get("messages", {}).get("send_interval_min") == 1

    await wait_for(applied)  # SettingsUpdated reached the phone, which downloaded them
    r = await phone_live.client.patch(
        f"/api/v1/devices/{phone.device_id}", json={"settings": {"messages": {"bogus": 1}}},
        headers=phone_live.headers,
    )  # fmt: skip
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_settings"
    for bad in ({"messages": {"limit_value": 10**30}}, {"messages": {"limit_value": -1}}):
        r = await phone_live.client.patch(
            f"/api/v1/devices/{phone.device_id}", json={"settings": bad}, headers=phone_live.headers
        )
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_settings", r.text
    r = await phone_live.client.delete(
        f"/api/v1/devices/{phone.device_id}", headers=phone_live.headers
    )
    assert r.status_code == 204
    r = await phone_live.client.get(
        f"/api/v1/devices/{phone.device_id}", headers=phone_live.headers
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "device_not_found"


async def test_a_message_for_one_phone_waits_for_it(live_factory: Any, database_url: str) -> None:
    live: Live = await live_factory(
        database_url, devices_offline_after_seconds=0.5, devices_sse_keepalive_seconds=0.1,
        **FAST,
    )  # fmt: skip
    away, other = await _phones(live, 2)
    try:
        await away.go_offline()
        message = await send(live, ANNA, "only from this phone", device_id=away.device_id)

        async def offline() -> bool:
            r = await live.client.get(f"/api/v1/devices/{away.device_id}", headers=live.headers)
            return r.json()["online"] is False

        await wait_for(offline)
        await asyncio.sleep(1.5)  # several upkeep rounds: it is not moved, nor queued again
        r = await live.client.get(f"/api/v1/messages/{message['id']}", headers=live.headers)
        history = [e["status"] for e in r.json()["recipients"][0]["history"]]
        assert history == ["queued", "sending"], history
        await away.come_online()
        await _wait_status(live, message["id"], "delivered")
        assert len(away.sent) == 1 and not other.sent
    finally:
        await _close([away, other])


async def test_phone_outcomes_reach_the_accounts_webhooks(
    phone_live: Live, phone: FakeDevice
) -> None:
    receiver = await WebhookReceiver().start()
    try:
        r = await phone_live.client.post(
            "/api/v1/webhooks", json={"url": receiver.url, "events": ["*"]},
            headers=phone_live.headers,
        )  # fmt: skip
        assert r.status_code == 201, r.text
        phone.set_outcome(BEN, Outcome(result="failed"))
        delivered = await send(phone_live, ANNA, "to Anna")
        failed = await send(phone_live, BEN, "to Ben")
        await phone.receive_sms(ANNA, "Thanks!")

        def events() -> list[dict[str, Any]]:
            return [orjson.loads(x.body) for x in receiver.received]

        async def all_in() -> bool:
            types = {(e["type"], e["data"].get("message_id")) for e in events()}
            return {("message.delivered", delivered["id"]), ("message.failed", failed["id"])} <= (
                types
            ) and any(e["type"] == "message.inbound" for e in events())

        await wait_for(all_in)
        by_type = {e["type"]: e["data"] for e in events()}
        assert by_type["message.delivered"]["channel"] == "android"
        assert by_type["message.failed"]["error"]["reason"] == "undeliverable"
        assert by_type["message.inbound"]["device"] == phone.device_id
        assert by_type["message.inbound"]["reply_to"] == delivered["id"]
    finally:
        await receiver.stop()
