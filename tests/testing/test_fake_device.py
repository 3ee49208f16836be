"""The fake SMSGate phone against a small loopback stand-in for ``/api/mobile/v1``.

The stand-in server implements just enough of the mobile API (registration, settings,
webhooks, SSE with keepalives, message pull and state reports) and a webhook receiver that
checks ``X-Signature``; it exists to exercise the fake, not to specify the real server.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import secrets
import socket
import string
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from smsbridge.testing.fake_device import (
    APP_VERSION,
    OKHTTP_USER_AGENT,
    SEND_FAILURE,
    ApiError,
    DeviceClosed,
    DeviceOffline,
    FakeDevice,
    Outcome,
    SimCard,
)

PREFIX = "/api/mobile/v1"
PRIVATE_TOKEN = "server-private-token"
SIGNING_KEY = "sig-key-123"
DATE = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)"
TWO_SIMS = [
    SimCard(0, "+15555550100", "Carrier One", "8901260000000000019"),
    SimCard(1, "+15555550200", "Carrier Two", "8901260000000000027"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def random_id(size: int = 21) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(size))


@dataclass
class Seen:
    method: str
    path: str  # with the query string
    headers: dict[str, str]
    body: bytes
    status: int

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Hook:
    name: str
    headers: dict[str, str]
    body: bytes
    valid: bool
    status: int

    def json(self) -> Any:
        return json.loads(self.body)


class MobileServer:
    """A loopback stand-in for the SMSGate private server's mobile API."""

    def __init__(self) -> None:
        self.devices: dict[str, dict[str, Any]] = {}  # token -> device
        self.users: dict[str, str] = {}  # login -> password
        self.codes: dict[str, str] = {}  # one-time code -> login
        self.messages: dict[str, dict[str, Any]] = {}
        self.patches: list[dict[str, Any]] = []
        self.requests: list[Seen] = []
        self.settings: dict[str, Any] = {"webhooks": {"signing_key": SIGNING_KEY}}
        self.webhooks: list[dict[str, Any]] = []
        self.streams: dict[str, list[asyncio.Queue[tuple[str, Any] | None]]] = {}
        self.hooks: list[Hook] = []
        self.patch_failures = 0
        self.hook_failures = 0
        self.ignore_patches = False
        self.keepalive = 0.1
        self.port = free_port()
        routes = [
            Route(f"{PREFIX}/device", self.device, methods=["GET", "POST", "PATCH"]),
            Route(f"{PREFIX}/message", self.message, methods=["GET", "PATCH"]),
            Route(f"{PREFIX}/webhooks", self.get_webhooks, methods=["GET"]),
            Route(f"{PREFIX}/settings", self.get_settings, methods=["GET"]),
            Route(f"{PREFIX}/events", self.events, methods=["GET"]),
            Route("/hooks/{name}", self.hook, methods=["POST"]),
        ]
        self.app = Starlette(routes=routes)
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------ plumbing

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return self.base_url + PREFIX

    async def start(self) -> None:
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.get_running_loop().create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        for queues in self.streams.values():
            for queue in queues:
                queue.put_nowait(None)
        assert self._server is not None and self._task is not None
        self._server.should_exit = True
        await self._task

    async def _seen(self, request: Request, status: int) -> Seen:
        path = request.url.path.removeprefix(PREFIX)
        if request.url.query:
            path += "?" + request.url.query
        seen = Seen(
            request.method,
            path,
            {k.lower(): v for k, v in request.headers.items()},
            await request.body(),
            status,
        )
        self.requests.append(seen)
        return seen

    def _device_for(self, request: Request) -> dict[str, Any] | None:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            return None
        return self.devices.get(header.removeprefix("Bearer "))

    # ------------------------------------------------------------ mobile API

    async def device(self, request: Request) -> Response:
        if request.method == "POST":
            return await self._register(request)
        device = self._device_for(request)
        if request.method == "GET":
            await self._seen(request, 200)
            answer: dict[str, Any] = {"externalIp": request.client.host if request.client else ""}
            if device is not None:
                answer["device"] = {"id": device["id"], "name": device["name"]}
            return JSONResponse(answer)
        if device is None:
            await self._seen(request, 401)
            return JSONResponse({"message": "Unauthorized"}, status_code=401)
        body = json.loads(await request.body())
        if body.get("id") != device["id"]:
            await self._seen(request, 403)
            return JSONResponse({"message": "Forbidden"}, status_code=403)
        await self._seen(request, 204)
        device["simCards"] = body.get("simCards")
        return Response(status_code=204)

    async def _register(self, request: Request) -> Response:
        header = request.headers.get("authorization", "")
        login: str | None = None
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            login = user if self.users.get(user) == password else None
            known = login is not None
        elif header.startswith("Code "):
            login = self.codes.pop(header[5:], None)
            known = login is not None
        else:
            known = header == f"Bearer {PRIVATE_TOKEN}"
        if not known:
            await self._seen(request, 401)
            return JSONResponse({"message": "Unauthorized"}, status_code=401)
        await self._seen(request, 201)
        body = json.loads(await request.body())
        password: str | None = None
        if login is None:
            raw = random_id()
            login, password = raw[:6].upper(), raw[7:].lower()
            self.users[login] = password
        device = {"id": random_id(), "token": random_id(), "login": login, **body}
        self.devices[device["token"]] = device
        answer = {"id": device["id"], "token": device["token"], "login": login}
        if password is not None:
            answer["password"] = password
        return JSONResponse(answer, status_code=201)

    async def message(self, request: Request) -> Response:
        device = self._device_for(request)
        if device is None:
            await self._seen(request, 401)
            return JSONResponse({"message": "Unauthorized"}, status_code=401)
        if request.method == "GET":
            await self._seen(request, 200)
            rows = [
                m
                for m in self.messages.values()
                if m["deviceId"] == device["id"] and m["state"] in ("Pending", "Cancelling")
            ]
            rows.sort(key=lambda m: m["createdAt"], reverse=request.query_params["order"] != "fifo")
            return JSONResponse([{k: v for k, v in m.items() if k != "deviceId"} for m in rows])
        if self.patch_failures:
            self.patch_failures -= 1
            await self._seen(request, 500)
            return JSONResponse({"message": "try again"}, status_code=500)
        await self._seen(request, 204)
        for item in json.loads(await request.body()):
            self.patches.append(item)
            stored = self.messages.get(item["id"])
            if stored is not None and not self.ignore_patches:
                stored["state"] = "Processed" if item["state"] == "Pending" else item["state"]
        return Response(status_code=204)

    async def get_webhooks(self, request: Request) -> Response:
        if self._device_for(request) is None:
            await self._seen(request, 401)
            return JSONResponse({"message": "Unauthorized"}, status_code=401)
        await self._seen(request, 200)
        return JSONResponse(self.webhooks)

    async def get_settings(self, request: Request) -> Response:
        if self._device_for(request) is None:
            await self._seen(request, 401)
            return JSONResponse({"message": "Unauthorized"}, status_code=401)
        await self._seen(request, 200)
        return JSONResponse(self.settings)

    async def events(self, request: Request) -> Response:
        device = self._device_for(request)
        if device is None:
            await self._seen(request, 401)
            return JSONResponse({"message": "Unauthorized"}, status_code=401)
        await self._seen(request, 200)
        queue: asyncio.Queue[tuple[str, Any] | None] = asyncio.Queue()
        self.streams.setdefault(device["id"], []).append(queue)

        async def stream() -> AsyncIterator[bytes]:
            try:
                while True:
                    try:
                        item = await asyncio.wait_for(queue.get(), self.keepalive)
                    except TimeoutError:
                        yield b":keepalive\n\n"
                        continue
                    if item is None:
                        return
                    name, data = item
                    yield f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
            finally:
                self.streams[device["id"]].remove(queue)

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        timestamp = request.headers.get("x-timestamp", "")
        key = self.settings["webhooks"]["signing_key"].encode()
        expected = hmac.new(key, body + timestamp.encode(), hashlib.sha256).hexdigest()
        valid = hmac.compare_digest(expected, request.headers.get("x-signature", ""))
        status = 200
        if self.hook_failures:
            self.hook_failures -= 1
            status = 503
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.hooks.append(Hook(request.path_params["name"], headers, body, valid, status))
        return Response(b"ok" if status == 200 else b"busy", status_code=status)

    # ------------------------------------------------------------ test controls

    def hook_url(self, name: str) -> str:
        return f"{self.base_url}/hooks/{name}"

    def add_webhook(self, event: str) -> dict[str, Any]:
        hook = {"id": random_id(), "url": self.hook_url(event), "event": event}
        self.webhooks.append(hook)
        return hook

    def send_event(self, device_id: str, name: str, data: Any = None) -> int:
        queues = self.streams.get(device_id, [])
        for queue in queues:
            queue.put_nowait((name, data))
        return len(queues)

    def drop_streams(self, device_id: str) -> None:
        for queue in self.streams.get(device_id, []):
            queue.put_nowait(None)

    def enqueue(
        self,
        device_id: str,
        phones: list[str],
        text: str = "Hello",
        *,
        notify: bool = True,
        created_at: datetime | None = None,
        state: str = "Pending",
        **extra: Any,
    ) -> str:
        message_id = extra.pop("id", None) or random_id()
        self.messages[message_id] = {
            "id": message_id,
            "deviceId": device_id,
            "textMessage": {"text": text},
            "phoneNumbers": phones,
            "state": state,
            "createdAt": rfc3339(created_at or datetime.now(UTC)),
            **extra,
        }
        if notify:
            self.send_event(device_id, "MessageEnqueued")
        return message_id

    def cancel(self, message_id: str) -> None:
        stored = self.messages[message_id]
        stored["state"] = "Cancelling"
        self.send_event(stored["deviceId"], "MessageCancelled", {"messageId": message_id})

    def revoke(self, token: str) -> None:
        del self.devices[token]

    def items_for(self, message_id: str) -> list[dict[str, Any]]:
        return [item for item in self.patches if item["id"] == message_id]

    def seen(self, method: str, path: str) -> list[Seen]:
        return [s for s in self.requests if s.method == method and s.path == path]

    def accepted_hooks(self, name: str | None = None) -> list[Hook]:
        return [h for h in self.hooks if h.status == 200 and (name is None or h.name == name)]

    async def wait(self, predicate: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"server: {what} not seen within {timeout}s")
            await asyncio.sleep(0.01)


FAST: dict[str, Any] = {
    "time_scale": 0.01,
    "sse_reconnect_delays": (0.05, 0.05, 0.05),
    "state_retry_delay": 0.02,
    "webhook_retry_delay": 0.02,
    "request_timeout": 5.0,
}


@pytest.fixture
async def server() -> AsyncIterator[MobileServer]:
    stand_in = MobileServer()
    await stand_in.start()
    try:
        yield stand_in
    finally:
        await stand_in.stop()


@pytest.fixture
async def make_device(server: MobileServer) -> AsyncIterator[Callable[..., FakeDevice]]:
    devices: list[FakeDevice] = []

    def make(**options: Any) -> FakeDevice:
        device = FakeDevice(**{**FAST, **options})
        devices.append(device)
        return device

    yield make
    for device in devices:
        await device.close()
        assert not device.errors or all("dropped" not in e for e in device.errors), device.errors


async def started(server: MobileServer, device: FakeDevice) -> FakeDevice:
    await device.register(server.api_url, PRIVATE_TOKEN)
    await device.wait_connected()
    await device.wait_for_pulls(1)
    return device


# ---------------------------------------------------------------------------- registration


async def test_registers_with_private_token_then_syncs_and_listens(
    server: MobileServer, make_device: Callable[..., FakeDevice]
) -> None:
    sims = [*TWO_SIMS[:1], SimCard(1, "+4912")]
    device = make_device(sims=sims, manufacturer="Xiaomi", product="alioth")
    registration = await device.register(server.api_url, PRIVATE_TOKEN)
    await device.wait_connected()
    await device.wait_for_pulls(1)

    order = [(s.method, s.path) for s in server.requests]
    assert order[:3] == [("POST", "/device"), ("GET", "/webhooks"), ("GET", "/settings")]
    assert set(order[3:5]) == {("GET", "/events"), ("GET", "/message?order=lifo")}

    post = server.seen("POST", "/device")[0]
    assert post.headers["authorization"] == f"Bearer {PRIVATE_TOKEN}"
    assert post.headers["user-agent"] == f"me.capcom.smsgateway/{APP_VERSION}"
    assert post.headers["content-type"] == "application/json"
    # Gson leaves nulls out: no pushToken, no phone/carrier/ICCID the SIM does not expose
    assert post.json() == {
        "name": "Xiaomi/alioth",
        "simCards": [
            {
                "slotIndex": 0,
                "simNumber": 1,
                "phoneNumber": "********0100",
                "carrierName": "******* One",
                "iccid": "***************0019",
            },
            {"slotIndex": 1, "simNumber": 2, "phoneNumber": "*4912"},
        ],
    }
    assert b" " not in post.body.replace(b"* One", b"")  # compact JSON

    stored = server.devices[registration.token]
    assert (registration.id, registration.login) == (stored["id"], stored["login"])
    assert registration.password == server.users[stored["login"]]
    assert (device.device_id, device.token) == (registration.id, registration.token)
    calls = [("GET", "/webhooks"), ("GET", "/settings"), ("GET", "/message?order=lifo")]
    for method, path in calls:
        seen = server.seen(method, path)[0]
        assert seen.headers["authorization"] == f"Bearer {registration.token}"
        assert seen.headers["user-agent"] == f"me.capcom.smsgateway/{APP_VERSION}"
    events = server.seen("GET", "/events")[0]
    assert events.headers["authorization"] == f"Bearer {registration.token}"
    assert events.headers["accept"] == "text/event-stream"
    assert events.headers["user-agent"] == OKHTTP_USER_AGENT
    assert device.signing_key == SIGNING_KEY

    info = await device.get_device()
    assert info["device"]["id"] == registration.id and device.external_ip == "127.0.0.1"


async def test_registers_with_basic_credentials_or_code_and_refuses_a_wrong_token(
    server: MobileServer, make_device: Callable[..., FakeDevice]
) -> None:
    first = await make_device().register(server.api_url, PRIVATE_TOKEN)
    assert first.password is not None

    second = make_device(serialize_nulls=True)
    again = await second.register(server.api_url, basic=(first.login, first.password))
    basic = base64.b64encode(f"{first.login}:{first.password}".encode()).decode()
    post = server.seen("POST", "/device")[1]
    assert post.headers["authorization"] == f"Basic {basic}"
    assert post.json()["pushToken"] is None  # the serialize_nulls option
    assert again.login == first.login and again.password is None
    assert second.password is None

    server.codes["123456"] = first.login
    await make_device().register(server.api_url, code="123456")
    assert server.seen("POST", "/device")[2].headers["authorization"] == "Code 123456"

    with pytest.raises(ApiError) as refused:
        await make_device().register(server.api_url, "wrong")
    assert refused.value.status == 401


# ---------------------------------------------------------------------------- sending


async def test_enqueue_sse_pull_and_ordered_state_reports_with_signed_webhooks(
    server: MobileServer, make_device: Callable[..., FakeDevice]
) -> None:
    sent_hook, delivered_hook = server.add_webhook("sms:sent"), server.add_webhook("sms:delivered")
    device = await started(server, make_device(tz=timezone(timedelta(hours=7))))

    message_id = server.enqueue(device.device_id or "", ["+15550001111"], "Hello there")
    await device.wait_for_state(message_id, "Delivered")

    assert [e.type for e in device.sse_events] == ["MessageEnqueued"]
    assert device.sse_events[0].data == "null"
    items = server.items_for(message_id)
    assert [i["state"] for i in items] == ["Processed", "Sent", "Delivered"]
    assert [i["recipients"] for i in items] == [
        [{"phoneNumber": "+15550001111", "state": state}]  # no "error": Gson drops nulls
        for state in ("Processed", "Sent", "Delivered")
    ]
    assert list(items[0]["states"]) == ["Pending", "Processed"]
    assert list(items[-1]["states"]) == ["Pending", "Processed", "Sent", "Delivered"]
    for moment in items[-1]["states"].values():
        assert moment.endswith("+07:00")
        assert re.fullmatch(DATE, moment)
    patch = server.seen("PATCH", "/message")[0]
    assert patch.headers["authorization"] == f"Bearer {device.token}"
    assert patch.headers["content-type"] == "application/json"
    assert isinstance(patch.json(), list) and len(patch.json()) == 1

    (sms,) = device.sent
    assert (sms.message_id, sms.phone_number) == (message_id, "+15550001111")
    assert sms.text == "Hello there"
    assert (sms.sim_number, sms.slot_index, sms.parts_count) == (None, 0, 1)  # OS default SIM

    await server.wait(lambda: len(server.accepted_hooks()) == 2, "two webhooks")
    by_name = {h.name: h for h in server.accepted_hooks()}
    for name, registration in [("sms:sent", sent_hook), ("sms:delivered", delivered_hook)]:
        hook = by_name[name]
        assert hook.valid
        assert hook.headers["content-type"] == "application/json"
        assert hook.headers["user-agent"] == f"me.capcom.smsgateway/{APP_VERSION}"
        assert abs(int(hook.headers["x-timestamp"]) - time.time()) < 5
        envelope = hook.json()
        assert list(envelope) == ["id", "webhookId", "event", "deviceId", "payload"]
        assert len(envelope["id"]) == 21
        assert envelope["webhookId"] == registration["id"]
        assert (envelope["event"], envelope["deviceId"]) == (name, device.device_id)
    sent_payload = by_name["sms:sent"].json()["payload"]
    # OS default SIM: no simNumber and no sender (Gson drops the nulls)
    assert {k: v for k, v in sent_payload.items() if k != "sentAt"} == {
        "partsCount": 1,
        "messageId": message_id,
        "recipient": "+15550001111",
        "phoneNumber": "+15550001111",
    }
    assert sent_payload["sentAt"].endswith("+07:00")
    assert set(by_name["sms:delivered"].json()["payload"]) == {
        "deliveredAt",
        "messageId",
        "recipient",
        "phoneNumber",
    }


async def test_sim_selection_multipart_and_missing_sim(
    server: MobileServer, make_device: Callable[..., FakeDevice]
) -> None:
    server.add_webhook("sms:sent")
    server.add_webhook("sms:failed")
    device = await started(server, make_device(sims=TWO_SIMS))

    long_id = server.enqueue(device.device_id or "", ["+15550002222"], "x" * 200, simNumber=2)
    await device.wait_for_state(long_id, "Delivered")
    (sms,) = device.sent
    assert (sms.sim_number, sms.slot_index, sms.parts_count) == (2, 1, 2)
    await server.wait(lambda: len(server.accepted_hooks("sms:sent")) == 1, "sms:sent")
    payload = server.accepted_hooks("sms:sent")[0].json()["payload"]
    assert (payload["simNumber"], payload["sender"], payload["partsCount"]) == (
        2,
        "+15555550200",
        2,
    )

    missing = server.enqueue(device.device_id or "", ["+15550002222"], "hi", simNumber=3)
    failed = await device.wait_for_state(missing, "Failed")
    assert failed["recipients"][0]["error"] == "Can't send message: SIM 3 not found"
    assert list(failed["states"]) == ["Pending", "Failed"]
    assert len(device.sent) == 1

    server.settings["messages"] = {"sim_selection_mode": "RoundRobin"}
    server.send_event(device.device_id or "", "SettingsUpdated")
    await device.wait_until(
        lambda: device.settings.get("messages", {}).get("sim_selection_mode") == "RoundRobin"
    )
    ids = [server.enqueue(device.device_id or "", ["+1555000333" + str(i)], "rr") for i in range(2)]
    await device.wait_for_messages(3)
    for message_id in ids:
        await device.wait_for_state(message_id, "Delivered")
    assert sorted(s.sim_number or 0 for s in device.sent[1:]) == [1, 2]


async def test_cancellation_of_unknown_pending_and_started_messages(
    server: MobileServer, make_device: Callable[..., FakeDevice]
) -> None:
    device = await started(server, make_device())
    device_id = device.device_id or ""

    # Cancelling in a pull for a message the phone never saw: reported Cancelled at once
    unknown = server.enqueue(device_id, ["+15550004444"], state="Cancelling")
    item = await device.wait_for_state(unknown, "Cancelled")
    assert item["recipients"] == [{"phoneNumber": "+15550004444", "state": "Cancelled"}]
    assert list(item["states"]) == ["Cancelled"]

    # MessageCancelled for a message waiting in the phone's queue (scheduled later)
    later = datetime.now(UTC) + timedelta(hours=1)
    waiting = server.enqueue(device_id, ["+15550005555"], scheduleAt=rfc3339(later))
    await device.wait_until(lambda: waiting in device.messages, what="scheduled message pulled")
    server.cancel(waiting)
    item = await device.wait_for_state(waiting, "Cancelled")
    assert list(item["states"]) == ["Pending", "Cancelled"]
    assert [e.type for e in device.sse_events][-1] == "MessageCancelled"

    # too late: the message went out, a later Cancelling is ignored
    done = server.enqueue(device_id, ["+15550006666"])
    await device.wait_for_state(done, "Delivered")
    server.messages[done]["state"] = "Cancelling"
    server.send_event(device_id, "MessageEnqueued")
    await device.wait_for_pulls(device.pulls + 1)
    await asyncio.sleep(0.05)
    assert all(i["state"] != "Cancelled" for i in server.items_for(done))
    assert [s.message_id for s in device.sent] == [done]


async def test_expired_message_fails_without_radio(
    server: MobileServer, make_device: Callable[..., FakeDevice]
) -> None:
    server.add_webhook("sms:failed")
    device = await started(server, make_device())
    expired = datetime.now(UTC) - timedelta(seconds=1)
    message_id = server.enqueue(
        device.device_id or "", ["+15550007777", "+15550008888"], validUntil=rfc3339(expired)
    )
    item = await device.wait_for_state(message_id, "Failed")
    assert [r["error"] for r in item["recipients"]] == ["TTL expired", "TTL expired"]
    assert list(item["states"]) == ["Pending", "Failed"]
    assert server.items_for(message_id) == [item]  # Pending → Failed in one report
    assert device.sent == []
    await server.wait(lambda: len(server.accepted_hooks("sms:failed")) == 2, "sms:failed")
    payloads = [h.json()["payload"] for h in server.accepted_hooks("sms:failed")]
    assert {p["recipient"] for p in payloads} == {"+15550007777", "+15550008888"}
    assert {p["reason"] for p in payloads} == {"TTL expired"}


async def test_per_recipient_outcomes_and_no_delivery_report(
    server: MobileServer, make_device: Callable[..., FakeDevice]
) -> None:
    server.add_webhook("sms:failed")
    device = make_device(
        outcomes={
            "+1001": Outcome("delivered", delivered_after=0.02),
            "+1002": Outcome("failed"),
            "+1003": Outcome("undelivered", reason="Delivery result: 2"),
            "+1004": Outcome("error", reason="radio off"),
        }
    )
    await started(server, device)
    phones = ["+1001", "+1002", "+1003", "+1004"]
    message_id = server.enqueue(device.device_id or "", phones)
    # 3 Processed + 1 error, 2 Sent, 1 send failure, 1 Delivered, 1 delivery failure
    await server.wait(lambda: len(server.items_for(message_id)) == 9, "nine state reports")
    final = server.items_for(message_id)[-1]
    # MessageWithRecipients.state: neither all Failed nor all Delivered → Sent
    assert final["state"] == "Sent"
    assert final["recipients"] == [
        {"phoneNumber": "+1001", "state": "Delivered"},
        {"phoneNumber": "+1002", "state": "Failed", "error": SEND_FAILURE},
        {"phoneNumber": "+1003", "state": "Failed", "error": "Delivery result: 2"},
        {"phoneNumber": "+1004", "state": "Failed", "error": "sendSMS: radio off"},
    ]
    # the message stays Pending until the last recipient went to the radio
    first_states = [i["state"] for i in server.items_for(message_id)[:4]]
    assert first_states == ["Pending", "Pending", "Pending", "Processed"]
    assert [s.phone_number for s in device.sent] == ["+1001", "+1002", "+1003"]
    await server.wait(lambda: len(server.accepted_hooks("sms:failed")) == 3, "sms:failed x3")

    quiet = server.enqueue(device.device_id or "", ["+1001"], withDeliveryReport=False)
    await device.wait_for_state(quiet, "Sent")
    await asyncio.sleep(0.1)
    assert [i["state"] for i in server.items_for(quiet)] == ["Processed", "Sent"]


async def test_known_message_gets_its_state_again_instead_of_a_second_sms(
    server: MobileServer, make_device: Callable[..., FakeDevice]
) -> None:
    server.ignore_patches = True  # the server keeps offering the message
    device = await started(server, make_device())
    message_id = server.enqueue(device.device_id or "", ["+15550009999"])
    await device.wait_for_state(message_id, "Delivered")
    reports = len(server.items_for(message_id))
    server.send_event(device.device_id or "", "MessageEnqueued")
    await server.wait(lambda: len(server.items_for(message_id)) == reports + 1, "state again")
    assert server.items_for(message_id)[-1]["state"] == "Delivered"
    assert len(device.sent) == 1


@pytest.mark.parametrize("order", ["LIFO", "FIFO"])
async def test_processing_order(
    server: MobileServer, make_device: Callable[..., FakeDevice], order: str
) -> None:
    server.settings["messages"] = {"processing_order": order}
    device = await started(server, make_device())
    await device.go_offline()
    start = datetime.now(UTC) - timedelta(minutes=5)
    ids = [
        server.enqueue(device.device_id or "", [f"+1555001000{i}"], created_at=created)
        for i, created in enumerate(start + timedelta(seconds=n) for n in range(3))
    ]
    await device.come_online()
    await device.wait_for_messages(3)
    expected = ids[::-1] if order == "LIFO" else ids
    assert [s.message_id for s in device.sent] == expected
    assert server.seen("GET", f"/message?order={order.lower()}")


async def test_send_interval_spaces_messages(
    server: MobileServer, make_device: Callable[..., FakeDevice]
) -> None:
    server.settings["messages"] = {"send_interval_min": 5, "send_interval_max": 5}
    device = await started(server, make_device(time_scale=0.02))  # 5 s → 0.1 s
    await device.go_offline()
    for i in range(2):
        server.enqueue(device.device_id or "", [f"+1555002000{i}"])
    await device.come_online()
    first, second = await device.wait_for_messages(2)
    assert second.at - first.at >= 0.09


# ---------------------------------------------------------------------------- retries


async def test_state_reports_and_webhooks_are_retried(
    server: MobileServer, make_device: Callable[..., FakeDevice]
) -> None:
    server.add_webhook("sms:sent")
    device = await started(server, make_device())
    server.patch_failures = 2
    server.hook_failures = 2
    message_id = server.enqueue(device.device_id or "", ["+15550010000"])
    await device.wait_for_state(message_id, "Delivered")
    assert [i["state"] for i in server.items_for(message_id)] == ["Processed", "Sent", "Delivered"]
    statuses = [s.status for s in server.seen("PATCH", "/message")]
    assert statuses[:3] == [500, 500, 204]

    await device.wait_for_webhooks(1, "sms:sent")
    posts = [p for p in device.webhook_posts if p.event == "sms:sent"]
    assert [(p.attempt, p.status) for p in posts] == [(0, 503), (1, 503), (2, 200)]
    assert len({p.envelope_id for p in posts}) == 1 and len({p.body for p in posts}) == 1
    assert all(h.valid for h in server.hooks)


# ---------------------------------------------------------------------------- inbound


async def test_incoming_sms_posts_a_signed_sms_received_webhook(
    server: MobileServer, make_device: Callable[..., FakeDevice]
) -> None:
    registration = server.add_webhook("sms:received")
    device = await started(server, make_device(sims=TWO_SIMS))
    payload = await device.receive_sms("+15557654321", "Hi there ✓ <b>&", sim=2)
    await server.wait(lambda: len(server.accepted_hooks()) == 1, "sms:received")
    (hook,) = server.accepted_hooks()
    assert hook.valid
    timestamp = hook.headers["x-timestamp"]
    expected = hmac.new(SIGNING_KEY.encode(), hook.body + timestamp.encode(), hashlib.sha256)
    assert hook.headers["x-signature"] == expected.hexdigest()
    assert "✓ <b>&".encode() in hook.body  # raw UTF-8, no HTML escaping
    envelope = hook.json()
    assert (envelope["event"], envelope["webhookId"]) == ("sms:received", registration["id"])
    assert envelope["payload"] == payload
    assert {k: v for k, v in payload.items() if k not in ("receivedAt", "messageId")} == {
        "message": "Hi there ✓ <b>&",
        "sender": "+15557654321",
        "recipient": "+15555550200",
        "simNumber": 2,
        "phoneNumber": "+15557654321",
    }
    assert re.fullmatch(DATE, payload["receivedAt"])
    assert re.fullmatch("[0-9a-f]{1,8}", payload["messageId"])


# ---------------------------------------------------------------------------- connectivity


async def test_offline_means_no_pulls_and_reconnecting_pulls(
    server: MobileServer, make_device: Callable[..., FakeDevice]
) -> None:
    server.add_webhook("sms:received")
    device = await started(server, make_device())
    await device.go_offline()
    assert not device.sse_connected.is_set() and not device.online
    mark = len(server.requests)
    await server.wait(lambda: not server.streams.get(device.device_id or ""), "stream closed")

    message_id = server.enqueue(device.device_id or "", ["+15550011111"])
    await device.receive_sms("+15550022222", "while offline")
    with pytest.raises(DeviceOffline):
        await device.pull()
    await asyncio.sleep(0.3)
    assert server.requests[mark:] == []
    assert device.sent == [] and server.hooks == []

    await device.come_online()
    await device.wait_for_state(message_id, "Delivered")
    after = [(s.method, s.path) for s in server.requests[mark:]]
    assert ("GET", "/events") in after and ("GET", "/message?order=lifo") in after
    await server.wait(lambda: len(server.accepted_hooks("sms:received")) == 1, "late webhook")


async def test_sse_keepalives_reconnects_and_events(
    server: MobileServer, make_device: Callable[..., FakeDevice]
) -> None:
    server.keepalive = 0.03
    device = await started(server, make_device())
    device_id = device.device_id or ""
    await device.wait_until(lambda: device.keepalives >= 2, what="keepalives")
    assert device.sse_events == []

    pulls = device.pulls
    server.drop_streams(device_id)
    await server.wait(lambda: len(server.seen("GET", "/events")) == 2, "reconnect")
    await device.wait_for_pulls(pulls + 1)  # pulls again on (re)open

    server.settings["webhooks"]["signing_key"] = "rotated"
    server.send_event(device_id, "SettingsUpdated")
    await device.wait_until(lambda: device.signing_key == "rotated", what="new signing key")

    hook = server.add_webhook("sms:batch:received")
    server.send_event(device_id, "WebhooksUpdated")
    await device.wait_until(lambda: device.webhooks == [hook], what="webhooks re-fetched")

    server.send_event(device_id, "Bogus", {"x": 1})
    await device.wait_until(lambda: device.sse_events[-1].type == "Bogus", what="bogus event")
    assert not device.sse_events[-1].handled

    await device.receive_sms("+15550033333", "old one")
    server.send_event(
        device_id,
        "MessagesExportRequested",
        {
            "since": rfc3339(datetime.now(UTC) - timedelta(days=1)),
            "until": rfc3339(datetime.now(UTC) + timedelta(minutes=1)),
            "messageTypes": "SMS",
            "webhookDelivery": "Batch",
        },
    )
    await server.wait(lambda: len(server.accepted_hooks()) == 1, "batch webhook")
    batch = server.accepted_hooks()[0].json()
    assert batch["event"] == "sms:batch:received"
    assert [m["message"] for m in batch["payload"]["messages"]] == ["old one"]
    assert all(h.valid for h in server.hooks)


async def test_ping_posts_system_ping_and_pulls(
    server: MobileServer, make_device: Callable[..., FakeDevice]
) -> None:
    server.add_webhook("system:ping")
    server.settings["ping"] = {"interval_seconds": 5}
    device = await started(server, make_device(time_scale=0.01))  # every 50 ms
    hooks = await device.wait_for_webhooks(3, "system:ping")
    await device.wait_for_pulls(3)
    payload = hooks[0].json()["payload"]
    assert payload["health"]["status"] == "pass"
    assert payload["health"]["version"] == APP_VERSION
    await device.go_offline()
    count = len(device.webhook_posts)
    await asyncio.sleep(0.15)
    assert len(device.webhook_posts) == count  # no pings while offline


async def test_reregisters_after_401(
    server: MobileServer, make_device: Callable[..., FakeDevice]
) -> None:
    device = await started(server, make_device())
    old_id, old_token = device.device_id or "", device.token or ""
    mark = len(server.requests)
    server.revoke(old_token)
    server.enqueue(old_id, ["+15550044444"])  # the open stream still tells the old device
    await device.wait_until(lambda: device.token != old_token, what="new token")
    await server.wait(lambda: len(server.streams.get(device.device_id or "", [])) == 1, "new SSE")

    after = [(s.method, s.path, s.status) for s in server.requests[mark:]]
    assert after[:3] == [
        ("GET", "/message?order=lifo", 401),
        ("PATCH", "/device", 401),
        ("POST", "/device", 201),
    ]
    assert server.requests[mark + 2].headers["authorization"] == f"Bearer {PRIVATE_TOKEN}"
    assert device.device_id != old_id and len(device.registrations) == 2

    message_id = server.enqueue(device.device_id or "", ["+15550055555"])
    await device.wait_for_state(message_id, "Delivered")
    assert server.seen("PATCH", "/message")[-1].headers["authorization"] == f"Bearer {device.token}"

    # PATCH /device: SIM refresh; a 401 there registers again too
    assert await device.refresh_sims(TWO_SIMS) is False
    patch = server.seen("PATCH", "/device")[-1]
    assert patch.status == 204 and set(patch.json()) == {"id", "simCards"}
    assert patch.json()["simCards"][1]["phoneNumber"] == "********0200"
    server.revoke(device.token or "")
    assert await device.refresh_sims() is True
    assert len(device.registrations) == 3


# ---------------------------------------------------------------------------- shutdown


async def test_close_leaves_no_tasks(
    server: MobileServer, make_device: Callable[..., FakeDevice]
) -> None:
    server.settings["ping"] = {"interval_seconds": 5}
    device = await started(server, make_device(poll_interval=0.05))
    server.enqueue(device.device_id or "", ["+15550066666"], "x", simNumber=1)
    await device.wait_for_messages(1)
    assert device.background_tasks()
    await device.close()
    await asyncio.sleep(0)
    assert device.background_tasks() == set()
    leftovers = [
        t for t in asyncio.all_tasks() if t.get_name().startswith("fake-device:") and not t.done()
    ]
    assert leftovers == []
    await server.wait(lambda: not server.streams.get(device.device_id or ""), "stream closed")
    with pytest.raises(DeviceClosed):
        await device.register(server.api_url, PRIVATE_TOKEN)
    await device.close()  # twice is fine
