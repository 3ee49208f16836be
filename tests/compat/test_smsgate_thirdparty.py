"""Contract tests of the SMSGate integrator API (``/api/3rdparty/v1``) with the real PyPI
client ``android-sms-gateway`` (sync ``APIClient`` on its default backend, ``AsyncAPIClient`` on
httpx)
against a live server and a fake SMSGate phone, on SQLite and PostgreSQL.

The sync client blocks, and the server runs in the test's event loop, so every sync call goes
through ``asyncio.to_thread``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import pytest
from android_sms_gateway import (
    APIClient,
    AsyncAPIClient,
    DataMessage,
    DeviceSettings,
    Encryptor,
    HealthStatus,
    LimitPeriod,
    Message,
    MessagePriority,
    MessagesProcessingOrder,
    MessagesQueryFilter,
    MessageState,
    ProcessState,
    QueryPagination,
    SettingsLogs,
    SettingsMessages,
    SettingsWebhooks,
    TextMessage,
    TokenRequest,
    Webhook,
    WebhookEvent,
)
from android_sms_gateway.ahttp import HttpxAsyncHttpClient
from android_sms_gateway.errors import (
    APIError,
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    UnauthorizedError,
)
from argon2 import PasswordHasher
from sqlalchemy import select

from smsbridge import __version__
from smsbridge.services.device_accounts import Credentials
from smsbridge.store.schema import messages, recipients
from smsbridge.testing.fake_device import FakeDevice, SimCard
from tests.conftest import Live, wait_for

FAST = {
    "poll_interval_ms": 20,
    "events_poll_interval_ms": 20,
    "devices_poll_interval_ms": 50,
    "webhooks_allow_private": True,
}
PREFIX = "/api/3rdparty/v1"
ANNA = "+4917612345601"
BEN = "+4917612345602"
CARL = "+4917612345603"
SIMS = (
    SimCard(0, "+15555550100", "Carrier One", "8901260000000000019"),
    SimCard(1, "+15555550101", "Carrier Two", "8901260000000000027"),
)
T = TypeVar("T")


@dataclass
class Gate:
    """A live server, its integrator credentials and (maybe) a registered phone."""

    live: Live
    login: str
    password: str
    phone: FakeDevice | None = None

    @property
    def url(self) -> str:
        return self.live.base_url + PREFIX

    @property
    def auth(self) -> httpx.BasicAuth:
        return httpx.BasicAuth(self.login, self.password)

    @property
    def device(self) -> FakeDevice:
        assert self.phone is not None
        return self.phone

    @property
    def device_id(self) -> str:
        assert self.device.device_id is not None
        return self.device.device_id

    async def call(
        self,
        fn: Callable[[APIClient], T],
        *,
        login: str | None = "",
        password: str | None = None,
        encryptor: Any = None,
    ) -> T:
        """Run ``fn`` with a fresh sync client (Basic auth by default) on a thread."""
        user = self.login if login == "" else login
        secret = self.password if password is None else password

        def run() -> T:
            with APIClient(user, secret, base_url=self.url, encryptor=encryptor) as client:
                return fn(client)

        return await asyncio.to_thread(run)

    async def raw(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("auth", self.auth)
        return await self.live.client.request(method, PREFIX + path, **kwargs)

    async def state_until(
        self, message_id: str, state: ProcessState, encryptor: Any = None
    ) -> MessageState:
        async def reached() -> MessageState | None:
            current = await self.call(lambda c: c.get_state(message_id), encryptor=encryptor)
            return current if current.state == state else None

        result: MessageState = await wait_for(reached)
        return result


async def _credentials(live: Live) -> Credentials:
    """The account's integrator credentials; passwords hashed with cheap argon2 parameters
    (the parameters travel in the hash, so verifying works the same, only faster)."""
    live.gateway.device_accounts.hasher = PasswordHasher(
        time_cost=1, memory_cost=1024, parallelism=1
    )
    account_id = (await live.gateway.keys.authenticate(live.key)).account_id
    return await live.gateway.device_accounts.ensure(account_id)


@pytest.fixture
async def gate(live_factory: Any, database_url: str) -> AsyncIterator[Gate]:
    """A server with one registered phone (two SIMs); Basic credentials from its registration."""
    live: Live = await live_factory(database_url, **FAST)
    creds = await _credentials(live)
    device = FakeDevice(sims=SIMS, state_retry_delay=0.05, webhook_retry_delay=0.05)
    try:
        registration = await device.register(f"{live.base_url}/api/mobile/v1", creds.private_token)
        await device.wait_connected()
        assert registration.password is not None  # the first phone shows the password
        yield Gate(live, registration.login, registration.password, device)
    finally:
        await device.close()


@pytest.fixture
async def bare(live_factory: Any, database_url: str) -> Gate:
    """A server whose account has integrator credentials but no phone at all."""
    live: Live = await live_factory(database_url, **FAST)
    creds = await _credentials(live)
    # No phone will show the password: set one, as `smsbridge devices password` does.
    password = (await live.gateway.device_accounts.reset_password(creds.account_id)).password
    assert password is not None
    return Gate(live, creds.login, password)


def text(to: list[str], body: str, **extra: Any) -> Message:
    return Message(phone_numbers=to, text_message=TextMessage(body), **extra)


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def error_body(response: httpx.Response, status: int) -> dict[str, Any]:
    """SMSGate's error shape: ``{"code": <status>, "message": str, "data": ...}``."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "message", "data"}, body
    assert body["code"] == status
    assert isinstance(body["message"], str) and body["message"]
    return body


# --------------------------------------------------------------------------- sending


async def test_send_with_every_option_reaches_delivered(gate: Gate) -> None:
    before = datetime.now(UTC)
    message = text(
        [ANNA],
        "Your code is 1234",
        id="order-1",
        sim_number=2,
        device_id=gate.device_id,
        priority=MessagePriority.BYPASS_THRESHOLD,
        ttl=3600,
    )
    accepted = await gate.call(lambda c: c.send(message))
    assert accepted.id == "order-1"
    assert accepted.device_id == gate.device_id
    assert accepted.state in (ProcessState.Pending, ProcessState.Processed)
    assert [r.phone_number for r in accepted.recipients] == [ANNA]
    assert accepted.is_encrypted is False and accepted.is_hashed is False
    assert accepted.created_at is not None

    done = await gate.state_until("order-1", ProcessState.Delivered)
    assert done.device_id == gate.device_id
    assert [(r.phone_number, r.state, r.error) for r in done.recipients] == [
        (ANNA, ProcessState.Delivered, None)
    ]
    assert done.states is not None
    assert {"Pending", "Processed", "Sent", "Delivered"} <= set(done.states)
    moments = [parse(done.states[s]) for s in ("Pending", "Processed", "Sent", "Delivered")]
    assert moments == sorted(moments), done.states

    # What the phone got: SIM 2, the priority and a validity of about an hour.
    (pulled,) = gate.device.messages.values()
    assert pulled.text == "Your code is 1234" and pulled.phone_numbers == [ANNA]
    assert pulled.sim_number == 2 and pulled.priority == 100
    assert pulled.valid_until is not None
    assert 3500 < (pulled.valid_until - before).total_seconds() < 3700
    (radio,) = gate.device.sent
    assert radio.slot_index == 1 and radio.phone_number == ANNA


async def test_send_answers_202_with_location_and_generated_id(gate: Gate) -> None:
    r = await gate.raw(
        "POST", "/messages", json={"phoneNumbers": [BEN], "textMessage": {"text": "Hi Ben"}}
    )
    assert r.status_code == 202, r.text
    body = r.json()
    assert isinstance(body["id"], str) and len(body["id"]) == 21
    assert r.headers["location"] == f"{PREFIX}/messages/{body['id']}"
    assert body["recipients"][0]["phoneNumber"] == BEN
    assert "textMessage" not in body  # the content is not echoed on send
    await gate.state_until(body["id"], ProcessState.Delivered)
    r = await gate.raw("GET", f"/messages/{body['id']}")
    assert r.status_code == 200
    assert r.json()["textMessage"] == {"text": "Hi Ben"}
    assert r.json()["deviceId"] == gate.device_id


async def test_list_messages_paginates_counts_filters_and_cancels(gate: Gate) -> None:
    await gate.call(lambda c: c.send(text([ANNA], "m0", id="m0", device_id=gate.device_id)))
    await gate.call(lambda c: c.send(text([BEN], "m1", id="m1")))
    for n in range(2):
        await gate.state_until(f"m{n}", ProcessState.Delivered)
    await gate.device.go_offline()  # the phone loses its connection: m2 waits for it
    pending = await gate.call(lambda c: c.send(text([CARL], "m2", id="m2")))
    assert pending.state == ProcessState.Pending
    m2 = await gate.call(lambda c: c.get_state("m2"))
    assert m2.state == ProcessState.Pending and m2.created_at is not None

    first = await gate.call(lambda c: c.get_messages(pagination=QueryPagination(limit=2)))
    assert [m.id for m in first] == ["m2", "m1"]  # newest first
    rest = await gate.call(lambda c: c.get_messages(pagination=QueryPagination(limit=2, offset=2)))
    assert [m.id for m in rest] == ["m0"]
    oldest = await gate.call(lambda c: c.get_messages(sort="created_at"))
    assert [m.id for m in oldest] == ["m0", "m1", "m2"]
    delivered = await gate.call(
        lambda c: c.get_messages(query=MessagesQueryFilter(state="Delivered"))
    )
    assert sorted(m.id for m in delivered) == ["m0", "m1"]
    assert all(m.recipients[0].state == ProcessState.Delivered for m in delivered)
    waiting = await gate.call(lambda c: c.get_messages(query=MessagesQueryFilter(state="Pending")))
    assert [m.id for m in waiting] == ["m2"]
    created = m2.created_at
    since = await gate.call(lambda c: c.get_messages(query=MessagesQueryFilter(from_=created)))
    assert [m.id for m in since] == ["m2"]
    until = await gate.call(lambda c: c.get_messages(query=MessagesQueryFilter(to=created)))
    assert [m.id for m in until] == ["m1", "m0"]
    pinned = await gate.call(
        lambda c: c.get_messages(query=MessagesQueryFilter(device_id=gate.device_id))
    )
    # m0 asked for the phone, m1 and m2 were routed to it: all are its messages.
    assert sorted(m.id for m in pinned) == ["m0", "m1", "m2"]
    processed = await gate.call(
        lambda c: c.get_messages(query=MessagesQueryFilter(state="Processed"))
    )
    assert processed == []  # m2 waits on the phone, untaken: Pending, never Processed
    elsewhere = await gate.call(
        lambda c: c.get_messages(query=MessagesQueryFilter(device_id="no-such-phone"))
    )
    assert elsewhere == []

    r = await gate.raw("GET", "/messages", params={"limit": 1})
    assert r.status_code == 200 and len(r.json()) == 1
    assert r.headers["x-total-count"] == "3"
    r = await gate.raw("GET", "/messages", params={"state": "Delivered", "limit": 1})
    assert r.headers["x-total-count"] == "2"
    r = await gate.raw("GET", "/messages", params={"includeContent": "true", "limit": 1})
    assert r.json()[0]["textMessage"] == {"text": "m2"}
    r = await gate.raw("GET", "/messages", params={"limit": 1})
    assert "textMessage" not in r.json()[0]
    error_body(await gate.raw("GET", "/messages", params={"state": "Lost"}), 400)
    error_body(await gate.raw("GET", "/messages", params={"limit": 101}), 400)

    # The message queued on the offline phone is still pending: it can be cancelled.
    assert await gate.call(lambda c: c.cancel_message("m2")) is None
    cancelled = await gate.call(lambda c: c.get_state("m2"))
    assert cancelled.state == ProcessState.Cancelled
    assert cancelled.recipients[0].state == ProcessState.Cancelled
    assert cancelled.states is not None and "Cancelled" in cancelled.states
    r = await gate.raw("GET", "/messages", params={"state": "Cancelled"})
    assert [m["id"] for m in r.json()] == ["m2"] and r.headers["x-total-count"] == "1"


async def test_a_phone_registering_again_never_changes_the_password(gate: Gate) -> None:
    """The app registers again on a 401 (e.g. once removed): a new phone, same credentials."""
    await gate.call(lambda c: c.remove_device(gate.device_id))
    await gate.device.close()
    async with FakeDevice(sims=SIMS) as again:
        token = (await _credentials(gate.live)).private_token
        registration = await again.register(f"{gate.live.base_url}/api/mobile/v1", token)
        assert registration.login == gate.login and registration.password is None
    assert [d.id for d in await gate.call(lambda c: c.list_devices())] == [registration.id]


async def test_cancel_pending_message_without_any_phone(bare: Gate) -> None:
    accepted = await bare.call(lambda c: c.send(text([ANNA], "nobody to send me", id="lonely")))
    assert accepted.state == ProcessState.Pending and accepted.device_id is None
    await asyncio.sleep(0.2)  # the dispatcher finds no phone: it stays pending
    assert (await bare.call(lambda c: c.get_state("lonely"))).state == ProcessState.Pending

    r = await bare.raw("DELETE", "/messages/lonely")
    assert r.status_code == 200, r.text
    assert r.json()["id"] == "lonely" and r.json()["state"] == "Cancelled"
    state = await bare.call(lambda c: c.get_state("lonely"))
    assert state.state == ProcessState.Cancelled
    assert state.states is not None and {"Pending", "Cancelled"} <= set(state.states)

    with pytest.raises(APIError) as again:
        await bare.call(lambda c: c.cancel_message("lonely"))
    assert again.value.status_code == 409
    with pytest.raises(NotFoundError) as missing:
        await bare.call(lambda c: c.cancel_message("no-such-message"))
    assert missing.value.status_code == 404
    with pytest.raises(NotFoundError):
        await bare.call(lambda c: c.get_state("no-such-message"))


async def test_cancelling_a_delivered_message_conflicts(gate: Gate) -> None:
    await gate.call(lambda c: c.send(text([ANNA], "already out", id="gone")))
    await gate.state_until("gone", ProcessState.Delivered)

    with pytest.raises(APIError) as raised:
        await gate.call(lambda c: c.cancel_message("gone"))
    # 409 has no class of its own in the client: it raises the APIError base class.
    assert type(raised.value) is APIError
    assert raised.value.status_code == 409
    assert raised.value.response is not None and raised.value.response["code"] == 409

    body = error_body(await gate.raw("DELETE", "/messages/gone"), 409)
    assert body["data"] == {"code": "not_pending"}
    assert (await gate.call(lambda c: c.get_state("gone"))).state == ProcessState.Delivered


async def test_duplicate_id_conflicts(bare: Gate) -> None:
    await bare.call(lambda c: c.send(text([ANNA], "first", id="dup-1")))
    with pytest.raises(APIError) as raised:
        await bare.call(lambda c: c.send(text([BEN], "second", id="dup-1")))
    assert raised.value.status_code == 409
    body = error_body(
        await bare.raw(
            "POST",
            "/messages",
            json={"id": "dup-1", "phoneNumbers": [BEN], "textMessage": {"text": "third"}},
        ),
        409,
    )
    assert body["data"] == {"code": "duplicate_id"}
    listed = await bare.call(lambda c: c.get_messages())
    assert [(m.id, m.recipients[0].phone_number) for m in listed] == [("dup-1", ANNA)]


async def test_phone_number_validation_and_skipping_it(bare: Gate) -> None:
    with pytest.raises(BadRequestError) as raised:
        await bare.call(lambda c: c.send(text(["not-a-phone"], "hello")))
    assert raised.value.status_code == 400
    assert raised.value.response is not None and raised.value.response["code"] == 400

    body = error_body(
        await bare.raw(
            "POST", "/messages", json={"phoneNumbers": ["12"], "textMessage": {"text": "x"}}
        ),
        400,
    )
    assert body["data"]["code"] == "invalid_number"

    accepted = await bare.call(
        lambda c: c.send(text(["not-a-phone"], "hello"), skip_phone_validation=True)
    )
    assert [r.phone_number for r in accepted.recipients] == ["not-a-phone"]
    r = await bare.raw(
        "POST",
        "/messages",
        params={"skipPhoneValidation": "true"},
        json={"phoneNumbers": ["12"], "textMessage": {"text": "x"}},
    )
    assert r.status_code == 202, r.text
    assert r.json()["recipients"][0]["phoneNumber"] == "12"

    # Other refusals come in the same shape.
    bad_bodies: list[dict[str, Any]] = [
        {"phoneNumbers": [], "textMessage": {"text": "x"}},
        {"phoneNumbers": [ANNA, ANNA], "textMessage": {"text": "x"}},
        {"phoneNumbers": [ANNA]},
        {"phoneNumbers": [ANNA], "textMessage": {"text": "x"}, "simNumber": 4},
        {"phoneNumbers": [ANNA], "textMessage": {"text": "x"}, "ttl": 2},
        {"phoneNumbers": [ANNA], "textMessage": {"text": "x"}, "priority": 128},
        {"phoneNumbers": [ANNA], "textMessage": {"text": "x"}, "deviceId": "nope"},
    ]
    for bad in bad_bodies:
        error_body(await bare.raw("POST", "/messages", json=bad), 400)
    error_body(await bare.raw("POST", "/messages", content=b"{not json"), 400)
    # No phone was active in the last hour.
    with pytest.raises(BadRequestError):
        await bare.call(lambda c: c.send(text([ANNA], "x"), device_active_within=1))


# --------------------------------------------------------------------------- devices


async def test_list_and_remove_devices(gate: Gate) -> None:
    devices = await gate.call(lambda c: c.list_devices())
    assert [(d.id, d.name) for d in devices] == [(gate.device_id, "Google/sdk_gphone64_x86_64")]
    (device,) = devices
    assert device.created_at is not None and device.last_seen is not None
    assert device.deleted_at is None

    r = await gate.raw("GET", "/devices")
    assert r.status_code == 200
    sims = r.json()[0]["simCards"]
    assert [(s["slotIndex"], s["simNumber"]) for s in sims] == [(0, 1), (1, 2)]
    assert sims[0]["phoneNumber"] == "********0100"  # the app redacts what it sends
    assert sims[1]["carrierName"] == "*" * 7 + " Two"

    # A phone active within the last hour can be asked for.
    accepted = await gate.call(lambda c: c.send(text([ANNA], "active?"), device_active_within=1))
    assert accepted.device_id == gate.device_id

    # Switched off first: a removed phone that is still running registers again (as the app
    # does on a 401), which would be a new phone.
    await gate.device.close()
    assert await gate.call(lambda c: c.remove_device(gate.device_id)) is None
    assert await gate.call(lambda c: c.list_devices()) == []
    with pytest.raises(NotFoundError):
        await gate.call(lambda c: c.remove_device(gate.device_id))
    with pytest.raises(BadRequestError):
        await gate.call(lambda c: c.send(text([ANNA], "x", device_id=gate.device_id)))


# --------------------------------------------------------------------------- webhooks


async def test_webhooks_create_list_upsert_delete(gate: Gate) -> None:
    assert await gate.call(lambda c: c.get_webhooks()) == []
    created = await gate.call(
        lambda c: c.create_webhook(
            Webhook(id=None, url="https://example.com/in", event=WebhookEvent.SMS_RECEIVED)
        )
    )
    assert created.id and created.url == "https://example.com/in"
    assert created.event == WebhookEvent.SMS_RECEIVED and created.device_id is None
    assert await gate.call(lambda c: c.get_webhooks()) == [created]

    # The phone is told and downloads it next to smsbridge's own receivers.
    await gate.device.wait_until(
        lambda: any(w.get("id") == created.id for w in gate.device.webhooks), what="webhook sync"
    )

    # Same id: replaced, not added.
    replaced = await gate.call(
        lambda c: c.create_webhook(
            Webhook(
                id=created.id,
                url="https://example.com/delivered",
                event=WebhookEvent.SMS_DELIVERED,
                device_id=gate.device_id,
            )
        )
    )
    assert replaced == Webhook(
        created.id, "https://example.com/delivered", WebhookEvent.SMS_DELIVERED, gate.device_id
    )
    assert await gate.call(lambda c: c.get_webhooks()) == [replaced]
    named = await gate.call(
        lambda c: c.create_webhook(
            Webhook(id="mine", url="https://example.com/sent", event=WebhookEvent.SMS_SENT)
        )
    )
    assert named.id == "mine"
    listed = await gate.call(lambda c: c.get_webhooks())
    assert sorted(w.id or "" for w in listed) == sorted([created.id, "mine"])

    r = await gate.raw(
        "POST", "/webhooks", json={"id": None, "url": "https://example.com/x", "event": "sms:bad"}
    )
    assert error_body(r, 400)["data"]["code"] == "invalid_event"
    r = await gate.raw("POST", "/webhooks", json={"url": "ftp://example.com", "event": "sms:sent"})
    error_body(r, 400)
    r = await gate.raw(
        "POST",
        "/webhooks",
        json={"url": "https://example.com/x", "event": "sms:sent", "deviceId": "nope"},
    )
    error_body(r, 400)

    assert await gate.call(lambda c: c.delete_webhook(created.id or "")) is None
    assert [w.id for w in await gate.call(lambda c: c.get_webhooks())] == ["mine"]
    with pytest.raises(NotFoundError):
        await gate.call(lambda c: c.delete_webhook(created.id or ""))
    await gate.device.wait_until(
        lambda: not any(w.get("id") == created.id for w in gate.device.webhooks),
        what="webhook removal sync",
    )


# --------------------------------------------------------------------------- settings


async def test_settings_round_trip(gate: Gate) -> None:
    settings = await gate.call(lambda c: c.get_settings())
    assert settings.messages is not None
    assert settings.messages.limit_period == LimitPeriod.DISABLED
    assert settings.messages.processing_order == MessagesProcessingOrder.LIFO
    assert settings.gateway is not None and settings.gateway.notification_channel == "SSE_ONLY"
    assert settings.webhooks is not None and settings.webhooks.signing_key is None

    replaced = await gate.call(
        lambda c: c.update_settings(
            DeviceSettings(
                messages=SettingsMessages(
                    limit_period=LimitPeriod.PER_HOUR,
                    limit_value=50,
                    send_interval_min=1,
                    send_interval_max=5,
                ),
                webhooks=SettingsWebhooks(retry_count=3, signing_key="ignored-by-server"),
            )
        )
    )
    assert replaced["messages"]["limit_period"] == "PerHour"
    assert replaced["messages"]["limit_value"] == 50
    assert replaced["webhooks"]["retry_count"] == 3
    assert "signing_key" not in replaced["webhooks"]  # the server owns it
    now = await gate.call(lambda c: c.get_settings())
    assert now.messages is not None and now.messages.limit_value == 50
    assert now.messages.send_interval_max == 5

    patched = await gate.call(
        lambda c: c.patch_settings(
            DeviceSettings(messages=SettingsMessages(processing_order=MessagesProcessingOrder.FIFO))
        )
    )
    assert patched["messages"]["processing_order"] == "FIFO"
    assert patched["messages"]["limit_value"] == 50  # kept
    now = await gate.call(lambda c: c.get_settings())
    assert now.messages is not None
    assert now.messages.processing_order == MessagesProcessingOrder.FIFO
    assert now.messages.limit_period == LimitPeriod.PER_HOUR

    # The phone is told and downloads them (with its own signing key, not the integrator's).
    await gate.device.wait_until(
        lambda: gate.device.settings.get("messages", {}).get("processing_order") == "FIFO",
        what="settings sync",
    )
    assert gate.device.signing_key != "ignored-by-server"

    # PUT replaces everything: what it leaves out goes back to the defaults.
    await gate.call(lambda c: c.update_settings(DeviceSettings(logs=SettingsLogs(lifetime_days=7))))
    now = await gate.call(lambda c: c.get_settings())
    assert now.logs is not None and now.logs.lifetime_days == 7
    assert now.messages is not None and now.messages.limit_value is None
    assert now.messages.processing_order == MessagesProcessingOrder.LIFO

    for bad in (
        {"messages": {"bogus": 1}},
        {"nonsense": {}},
        {"messages": {"limit_value": "many"}},
        {"messages": {"limit_period": "PerYear"}},
        {"messages": {"limit_value": -1}},
    ):
        for method in ("PATCH", "PUT"):
            r = await gate.raw(method, "/settings", json=bad)
            assert error_body(r, 400)["data"]["code"] == "invalid_settings", bad
    assert (await gate.call(lambda c: c.get_settings())).logs == SettingsLogs(lifetime_days=7)


# --------------------------------------------------------------------------- health


async def test_health_checks(bare: Gate) -> None:
    for check in ("health_check", "liveness_check", "readiness_check", "startup_check"):
        health = await bare.call(lambda c, check=check: getattr(c, check)())
        assert health.status == HealthStatus.PASS, check
        assert health.version == __version__
        assert health.checks is not None and health.checks["db:ping"].status == HealthStatus.PASS
    for path in (f"{PREFIX}/health", "/health/live", "/health/ready", "/health/startup"):
        r = await bare.live.client.get(path)  # no credentials needed
        assert r.status_code == 200, path
        assert r.json()["status"] == "pass"


# --------------------------------------------------------------------------- authentication


async def test_jwt_tokens_scopes_refresh_and_revoke(gate: Gate) -> None:
    issued = await gate.call(
        lambda c: c.generate_token(TokenRequest(["messages:send", "messages:read"], ttl=3600))
    )
    assert issued.token_type == "Bearer" and issued.access_token.count(".") == 2
    assert issued.refresh_token and issued.id
    lifetime = (parse(issued.expires_at) - datetime.now(UTC)).total_seconds()
    assert 3500 < lifetime <= 3600

    sent = await gate.call(
        lambda c: c.send(text([ANNA], "via jwt", id="jwt-1")),
        login=None,
        password=issued.access_token,
    )
    assert sent.id == "jwt-1"
    read = await gate.call(lambda c: c.get_state("jwt-1"), login=None, password=issued.access_token)
    assert read.id == "jwt-1"
    with pytest.raises(ForbiddenError) as forbidden:
        await gate.call(lambda c: c.list_devices(), login=None, password=issued.access_token)
    assert forbidden.value.status_code == 403

    reader = await gate.call(lambda c: c.generate_token(TokenRequest(["messages:read"])))
    with pytest.raises(ForbiddenError):
        await gate.call(
            lambda c: c.send(text([ANNA], "not allowed")), login=None, password=reader.access_token
        )
    r = await gate.live.client.post(
        f"{PREFIX}/messages",
        json={"phoneNumbers": [ANNA], "textMessage": {"text": "x"}},
        headers={"Authorization": f"Bearer {reader.access_token}"},
    )
    error_body(r, 403)
    with pytest.raises(BadRequestError):
        await gate.call(lambda c: c.generate_token(TokenRequest(["messages:fly"])))

    # Refresh: a new working pair; the refresh token is used up.
    assert issued.refresh_token is not None
    old_refresh = issued.refresh_token
    fresh = await gate.call(lambda c: c.refresh_token(old_refresh))
    assert fresh.access_token != issued.access_token and fresh.id != issued.id
    again = await gate.call(lambda c: c.get_state("jwt-1"), login=None, password=fresh.access_token)
    assert again.id == "jwt-1"
    with pytest.raises(UnauthorizedError):
        await gate.call(lambda c: c.refresh_token(old_refresh))
    with pytest.raises(UnauthorizedError):  # an access token is no refresh token
        await gate.call(lambda c: c.refresh_token(fresh.access_token))

    # Revoke: the token stops working.
    assert await gate.call(lambda c: c.revoke_token(fresh.id)) is None
    with pytest.raises(UnauthorizedError):
        await gate.call(lambda c: c.get_state("jwt-1"), login=None, password=fresh.access_token)
    assert await gate.call(lambda c: c.revoke_token(issued.id)) is None
    with pytest.raises(UnauthorizedError):
        await gate.call(lambda c: c.get_state("jwt-1"), login=None, password=issued.access_token)


async def test_basic_auth_refuses_wrong_credentials(bare: Gate) -> None:
    with pytest.raises(UnauthorizedError) as raised:
        await bare.call(lambda c: c.get_messages(), password="wrong-password!")
    assert raised.value.status_code == 401
    with pytest.raises(UnauthorizedError):
        await bare.call(lambda c: c.send(text([ANNA], "x")), login="NOBODY")

    r = await bare.raw("GET", "/messages", auth=httpx.BasicAuth(bare.login, "nope"))
    error_body(r, 401)
    r = await bare.live.client.get(f"{PREFIX}/messages")
    error_body(r, 401)
    assert r.headers["www-authenticate"].lower().startswith("basic")
    r = await bare.live.client.get(
        f"{PREFIX}/messages", headers={"Authorization": "Basic %%%not-base64"}
    )
    error_body(r, 401)
    r = await bare.live.client.get(f"{PREFIX}/messages", headers={"Authorization": "Bearer a.b.c"})
    error_body(r, 401)
    assert (await bare.call(lambda c: c.get_messages())) == []


async def test_api_key_as_bearer(gate: Gate) -> None:
    key = gate.live.key
    accepted = await gate.call(
        lambda c: c.send(text([ANNA], "by key", id="k1")), login=None, password=key
    )
    assert accepted.id == "k1"
    done = await gate.call(lambda c: c.get_state("k1"), login=None, password=key)
    assert done.id == "k1"
    await gate.state_until("k1", ProcessState.Delivered)
    devices = await gate.call(lambda c: c.list_devices(), login=None, password=key)
    assert [d.id for d in devices] == [gate.device_id]

    reader = (await gate.live.gateway.keys.create(name="reader", scopes="messages:read")).key
    assert (await gate.call(lambda c: c.get_state("k1"), login=None, password=reader)).id == "k1"
    with pytest.raises(ForbiddenError):
        await gate.call(lambda c: c.send(text([ANNA], "x")), login=None, password=reader)
    with pytest.raises(UnauthorizedError):
        await gate.call(lambda c: c.get_messages(), login=None, password="not-a-key")


# --------------------------------------------------------------------------- encryption


async def test_end_to_end_encrypted_send(gate: Gate) -> None:
    encryptor = Encryptor("passphrase")
    accepted = await gate.call(
        lambda c: c.send(text([ANNA], "secret text", id="enc-1")), encryptor=encryptor
    )
    # The client decrypts the recipients it gets back.
    assert [r.phone_number for r in accepted.recipients] == [ANNA]

    await gate.device.wait_for_messages(1)
    (pulled,) = gate.device.messages.values()
    assert pulled.is_encrypted is True
    (cipher_number,) = pulled.phone_numbers
    assert cipher_number.startswith("$aes-256-cbc/pbkdf2-sha1$i=75000$")
    assert pulled.text is not None and pulled.text.startswith("$aes-256-cbc/pbkdf2-sha1$")
    assert encryptor.decrypt(cipher_number) == ANNA
    assert encryptor.decrypt(pulled.text) == "secret text"

    # Stored as given: neither decrypted nor normalised.
    async with gate.live.gateway.db.read() as conn:
        row = (
            await conn.execute(
                select(messages.c.text, recipients.c.to_number)
                .join(recipients, recipients.c.message_id == messages.c.id)
                .where(messages.c.ext_id == "enc-1")
            )
        ).one()
    assert (row.text, row.to_number) == (pulled.text, cipher_number)

    done = await gate.state_until("enc-1", ProcessState.Delivered, encryptor=encryptor)
    assert [r.phone_number for r in done.recipients] == [ANNA]
    r = await gate.raw("GET", "/messages/enc-1")
    body = r.json()
    assert body["isEncrypted"] is True
    assert body["recipients"][0]["phoneNumber"] == cipher_number
    assert body["textMessage"] == {"text": pulled.text}
    with pytest.raises(ValueError, match="encryptor is not set"):
        await gate.call(lambda c: c.get_state("enc-1"))


# --------------------------------------------------------------------------- async client


async def test_async_client_send_state_and_devices(gate: Gate) -> None:
    async with (
        httpx.AsyncClient(trust_env=False, timeout=30) as http,
        AsyncAPIClient(
            gate.login, gate.password, base_url=gate.url, http_client=HttpxAsyncHttpClient(http)
        ) as client,
    ):
        accepted = await client.send(text([ANNA, BEN], "async hello", id="async-1"))
        assert accepted.id == "async-1"
        assert sorted(r.phone_number for r in accepted.recipients) == [ANNA, BEN]

        async def delivered() -> MessageState | None:
            state = await client.get_state("async-1")
            return state if state.state == ProcessState.Delivered else None

        done: MessageState = await wait_for(delivered)
        assert {r.state for r in done.recipients} == {ProcessState.Delivered}

        # A data SMS without a delivery report, at a low priority: it ends Sent.
        data = Message(
            phone_numbers=[CARL],
            data_message=DataMessage.with_bytes(b"\x01\x02", 53739),
            with_delivery_report=False,
            priority=MessagePriority(-128),
        )
        sent = await client.send(data)

        async def only_sent() -> MessageState | None:
            state = await client.get_state(sent.id)
            return state if state.state == ProcessState.Sent else None

        final: MessageState = await wait_for(only_sent)
        assert final.states is not None and "Delivered" not in final.states
        radio = next(s for s in gate.device.sent if s.port == 53739)
        assert radio.data == "AQI=" and radio.phone_number == CARL and radio.text is None
        pulled = next(m for m in gate.device.messages.values() if m.port == 53739)
        assert pulled.with_delivery_report is False and pulled.priority == -128

        devices = await client.list_devices()
        assert [d.id for d in devices] == [gate.device_id]
        with pytest.raises(NotFoundError):
            await client.get_state("missing")


async def test_out_of_range_values_get_400_not_500(bare: Gate) -> None:
    base = {"phoneNumbers": [ANNA], "textMessage": {"text": "x"}}
    for extra, code in (
        ({"ttl": 10**15}, "invalid_ttl"),
        ({"validUntil": "9999-12-31T00:00:00Z"}, "invalid_ttl"),
        ({"priority": True}, "invalid_priority"),
        ({"simNumber": True}, "invalid_sim"),
        ({"scheduleAt": "9999-01-01T00:00:00Z"}, "send_at_too_far"),
    ):
        body = error_body(await bare.raw("POST", "/messages", json={**base, **extra}), 400)
        assert body["data"]["code"] == code, (extra, body)
    error_body(await bare.raw("GET", "/messages", params={"offset": 10**30}), 400)
