"""The fake phone itself (see the package docstring)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import random
import secrets
import string
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Literal

import httpx

from smsbridge.testing.fake_device.app import (
    APP_ID,
    APP_VERSION,
    CANCELLED,
    CANCELLING,
    DELIVERED,
    DELIVERY_FAILURE,
    EXTERNAL_EVENTS,
    FAILED,
    LIMIT_PERIODS,
    OKHTTP_USER_AGENT,
    PENDING,
    PRIORITY_EXPEDITED,
    PROCESSED,
    SEND_FAILURE,
    SENT,
    TTL_EXPIRED,
    WEBHOOK_EVENTS,
    ApiError,
    DeviceClosed,
    DeviceOffline,
    FakeDeviceError,
    format_date,
    gson_dumps,
    inbox_message_id,
    nanoid,
    parse_date,
    parts_count,
    sign_webhook,
    utc_now,
)
from smsbridge.testing.fake_device.records import (
    DEFAULT_SIMS,
    DeviceMessage,
    Outcome,
    Recipient,
    Registration,
    RequestRecord,
    SentSms,
    SimCard,
    SseEvent,
    StateReport,
    WebhookJob,
    WebhookPost,
)


class FakeDevice:
    """A fake SMSGate phone. Use as ``async with FakeDevice(...) as device:`` or call
    :meth:`close`."""

    def __init__(
        self,
        *,
        manufacturer: str = "Google",
        product: str = "sdk_gphone64_x86_64",
        app_version: str = APP_VERSION,
        sims: Sequence[SimCard] = DEFAULT_SIMS,
        push_token: str | None = None,
        tz: tzinfo = UTC,
        default_outcome: Outcome | None = None,
        outcomes: Mapping[str, Outcome] | None = None,
        time_scale: float = 1.0,
        sse_reconnect_delays: tuple[float, float, float] = (5.0, 30.0, 60.0),
        reconnect_on_close: bool = True,
        sse_read_timeout: float = 3600.0,
        request_timeout: float = 30.0,
        state_retries: int = 10,
        state_retry_delay: float = 10.0,
        webhook_retry_delay: float = 5.0,
        webhook_timeout: float = 30.0,
        poll_interval: float | None = None,
        reregister_on_401: Literal["any", "device_patch"] = "any",
        serialize_nulls: bool = False,
        signing_key: str | None = None,
        release_id: int = 1,
        rng: random.Random | None = None,
    ) -> None:
        self.manufacturer = manufacturer
        self.product = product
        self.app_version = app_version
        self.user_agent = f"{APP_ID}/{app_version}"
        self.sims: list[SimCard] = list(sims)
        self.push_token = push_token
        self.tz = tz
        self.default_outcome = default_outcome or Outcome()
        self.outcomes: dict[str, Outcome] = dict(outcomes or {})
        self.outcome_for: Callable[[DeviceMessage, str], Outcome | None] | None = None
        self.time_scale = time_scale
        self.sse_reconnect_delays = sse_reconnect_delays
        self.reconnect_on_close = reconnect_on_close
        self.sse_read_timeout = sse_read_timeout
        self.request_timeout = request_timeout
        self.state_retries = state_retries
        self.state_retry_delay = state_retry_delay
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_timeout = webhook_timeout
        self.poll_interval = poll_interval
        self.reregister_on_401 = reregister_on_401
        self.serialize_nulls = serialize_nulls
        self.release_id = release_id
        self.rng = rng or random.Random()
        # The app makes up an 8-character key when the server gives none.
        self._local_signing_key = signing_key or "".join(
            secrets.choice(string.ascii_letters + string.digits) for _ in range(8)
        )

        # connection and registration
        self.api_url: str | None = None
        self._private_token: str | None = None
        self._basic: tuple[str, str] | None = None
        self._code: str | None = None
        self.device_id: str | None = None
        self.token: str | None = None
        self.login: str | None = None
        self.password: str | None = None
        self.registrations: list[Registration] = []

        # state downloaded from the server
        self.settings: dict[str, Any] = {}
        self.webhooks: list[dict[str, Any]] = []
        self.external_ip: str | None = None

        # local queue and inbox
        self.messages: dict[str, DeviceMessage] = {}
        self.inbox: list[dict[str, Any]] = []
        self._rowid = 0
        self._pending_ids: set[str] = set()

        # records
        self.requests: list[RequestRecord] = []
        self.sent: list[SentSms] = []
        self.webhook_posts: list[WebhookPost] = []
        self.reports: list[StateReport] = []
        self.sse_events: list[SseEvent] = []
        self.keepalives = 0
        self.pulls = 0
        self.errors: list[str] = []

        # machinery
        self._client = httpx.AsyncClient(timeout=request_timeout, trust_env=False)
        self._online = asyncio.Event()
        self._online.set()
        self._closed = False
        self._started = False
        self._changed = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._sse_task: asyncio.Task[None] | None = None
        self._ping_task: asyncio.Task[None] | None = None
        self._poll_task: asyncio.Task[None] | None = None
        self._pull_wanted = asyncio.Event()
        self._work = asyncio.Event()
        self._reports: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._hooks_due: list[tuple[float, int, WebhookJob]] = []
        self._hooks_wake = asyncio.Event()
        self._hook_seq = 0
        self._auth_lock = asyncio.Lock()
        self._sse_opened = False
        self.sse_connected = asyncio.Event()

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> FakeDevice:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def online(self) -> bool:
        return self._online.is_set()

    @property
    def name(self) -> str:
        return f"{self.manufacturer}/{self.product}"

    async def register(
        self,
        api_url: str,
        private_token: str | None = None,
        *,
        basic: tuple[str, str] | None = None,
        code: str | None = None,
    ) -> Registration:
        """Turn the "Cloud server" on with a private server and (re)start the app.

        ``api_url`` is used verbatim (it must hold the ``/api/mobile/v1`` path). The app sends
        ``Basic`` when given credentials, ``Code <otp>`` when given a one-time code and
        ``Bearer <private token>`` otherwise. A device that already holds a token first tries
        ``PATCH /device`` and registers again only on a 401, as GatewayService.registerDevice.
        Then it downloads webhooks and settings and starts listening (SSE, ping, polling).
        """
        self._check_usable()
        self.api_url = api_url
        self._private_token = private_token
        self._basic = basic
        self._code = code
        await self._registration_flow()
        assert self.token is not None and self.device_id is not None and self.login is not None
        await self.sync_webhooks()
        await self.sync_settings()
        self._start()
        return Registration(self.device_id, self.token, self.login, self.password)

    def _start(self) -> None:
        if not self._started:
            self._started = True
            self._spawn(self._puller(), "puller")
            self._spawn(self._sender(), "sender")
            self._spawn(self._reporter(), "reporter")
            self._spawn(self._webhook_worker(), "webhooks")
        self._start_network_loops()

    def _start_network_loops(self) -> None:
        if self._sse_task is None or self._sse_task.done():
            self._sse_task = self._spawn(self._sse_loop(), "sse")
        interval = self._ping_interval()
        if interval and (self._ping_task is None or self._ping_task.done()):
            self._ping_task = self._spawn(self._ping_loop(interval), "ping")
        if self.poll_interval and (self._poll_task is None or self._poll_task.done()):
            self._poll_task = self._spawn(self._poll_loop(self.poll_interval), "poll")

    async def _stop_network_loops(self) -> None:
        tasks = [t for t in (self._sse_task, self._ping_task, self._poll_task) if t is not None]
        self._sse_task = self._ping_task = self._poll_task = None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.sse_connected.clear()

    async def go_offline(self) -> None:
        """Lose the data connection: the SSE stream closes, pulls and pings stop, HTTP calls
        raise :class:`DeviceOffline`; state reports and webhooks wait for the network."""
        self._check_open()
        self._online.clear()
        await self._stop_network_loops()
        self._bump()

    async def come_online(self) -> None:
        """Get the connection back: reopen SSE (which pulls at once), restart ping/polling,
        flush waiting reports and webhooks."""
        self._check_open()
        self._online.set()
        if self._started:
            self._start_network_loops()
        self._hooks_wake.set()
        self._bump()

    async def close(self) -> None:
        """Stop every task and close the HTTP client. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._online.clear()
        while self._tasks:  # a task may spawn another while it is torn down
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
                self._tasks.discard(task)
        self._sse_task = self._ping_task = self._poll_task = None
        self.sse_connected.clear()
        await self._client.aclose()
        self._bump()

    def _check_open(self) -> None:
        if self._closed:
            raise DeviceClosed("the fake device is closed")

    def _check_usable(self) -> None:
        self._check_open()
        if not self._online.is_set():
            raise DeviceOffline("the fake device is offline")

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=f"fake-device:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.errors.append(f"{task.get_name()}: {task.exception()!r}")

    def _bump(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # ------------------------------------------------------------------ settings

    def _section(self, name: str) -> dict[str, Any]:
        section = self.settings.get(name)
        return section if isinstance(section, dict) else {}

    @property
    def signing_key(self) -> str:
        key = self._section("webhooks").get("signing_key")
        return key if isinstance(key, str) and key else self._local_signing_key

    @property
    def processing_order(self) -> str:
        order = self._section("messages").get("processing_order")
        return "FIFO" if order == "FIFO" else "LIFO"

    def _ping_interval(self) -> float | None:
        seconds = self._section("ping").get("interval_seconds")
        if isinstance(seconds, int | float) and seconds > 0:
            return float(seconds)
        return None

    def _send_interval(self) -> tuple[int, int] | None:
        section = self._section("messages")
        values = [section.get("send_interval_min"), section.get("send_interval_max")]
        known = [int(v) for v in values if isinstance(v, int | float)]
        if not known:
            return None
        low = int(values[0]) if isinstance(values[0], int | float) else known[0]
        high = int(values[1]) if isinstance(values[1], int | float) else known[0]
        return (low, max(low, high))

    def _webhook_max_retries(self) -> int:
        count = self._section("webhooks").get("retry_count")
        return int(count) if isinstance(count, int) and count > 0 else 15

    # ------------------------------------------------------------------ HTTP

    def _json(self, value: Any) -> bytes:
        return gson_dumps(value, serialize_nulls=self.serialize_nulls).encode()

    async def _api(
        self,
        method: str,
        path: str,
        *,
        authorization: str | None = None,
        body: Any = None,
    ) -> httpx.Response:
        """One call of GatewayApi: Ktor with Gson and ``expectSuccess = true``."""
        self._check_usable()
        if self.api_url is None:
            raise FakeDeviceError("register() first")
        url = f"{self.api_url}{path}"
        headers = {
            "User-Agent": self.user_agent,
            "Accept": "application/json",
            "Accept-Charset": "UTF-8",
        }
        if authorization is not None:
            headers["Authorization"] = authorization
        content: bytes | None = None
        if body is not None:
            content = self._json(body)
            headers["Content-Type"] = "application/json"
        record = RequestRecord(
            "api", method, url, path.split("?")[0], {}, content or b"", None, b"", time.time()
        )
        self.requests.append(record)
        try:
            response = await self._client.request(method, url, headers=headers, content=content)
        except httpx.HTTPError as exc:
            record.error = repr(exc)
            self._bump()
            raise
        record.headers = {k.lower(): v for k, v in response.request.headers.items()}
        record.status = response.status_code
        record.response = response.content
        self._bump()
        if not 200 <= response.status_code < 300:
            raise ApiError(method, path, response.status_code, response.text)
        return response

    async def _device_call(self, method: str, path: str, *, body: Any = None) -> httpx.Response:
        """A call with the device token; a 401 makes the device register again (once)."""
        for attempt in range(2):
            token = self.token
            if token is None:
                raise FakeDeviceError("register() first")
            try:
                return await self._api(method, path, authorization=f"Bearer {token}", body=body)
            except ApiError as exc:
                if exc.status != 401 or attempt or self.reregister_on_401 != "any":
                    raise
                await self._reauthenticate(token)
        raise AssertionError("unreachable")

    def _registration_authorization(self) -> str | None:
        if self._basic is not None:
            raw = f"{self._basic[0]}:{self._basic[1]}".encode()
            return "Basic " + base64.b64encode(raw).decode()
        if self._code is not None:
            return f"Code {self._code}"
        if self._private_token is not None:
            return f"Bearer {self._private_token}"
        return None

    def _sim_dtos(self) -> list[dict[str, Any]]:
        return [sim.to_dto() for sim in self.sims]

    async def _registration_flow(self) -> bool:
        """GatewayService.registerDevice. Returns True when a new registration was made."""
        if self.token is not None and self.device_id is not None:
            try:
                patch = {
                    "id": self.device_id,
                    "pushToken": self.push_token,
                    "simCards": self._sim_dtos(),
                }
                await self._api(
                    "PATCH", "/device", authorization=f"Bearer {self.token}", body=patch
                )
                return False
            except ApiError as exc:
                if exc.status != 401:
                    raise
        response = await self._api(
            "POST",
            "/device",
            authorization=self._registration_authorization(),
            body={"name": self.name, "pushToken": self.push_token, "simCards": self._sim_dtos()},
        )
        answer = response.json()
        self.device_id = str(answer["id"])
        self.token = str(answer["token"])
        self.login = str(answer["login"])
        password = answer.get("password")
        self.password = str(password) if password else None
        self.registrations.append(
            Registration(self.device_id, self.token, self.login, self.password)
        )
        self._bump()
        return True

    async def _reauthenticate(self, stale_token: str) -> None:
        async with self._auth_lock:
            if self.token != stale_token:
                return  # somebody else registered again meanwhile
            await self._registration_flow()
        await self.sync_webhooks()
        await self.sync_settings()
        current = asyncio.current_task()
        if self._sse_task is not None and current is not self._sse_task and self.online:
            # the stream was opened with the old token: reconnect with the new one
            self._sse_task.cancel()
            self._sse_task = self._spawn(self._sse_loop(), "sse")

    # ------------------------------------------------------------------ device API

    async def refresh_sims(self, sims: Sequence[SimCard] | None = None) -> bool:
        """``PATCH /device`` with ``{id, pushToken, simCards}``; a 401 registers the device
        again as the app does. Returns True when that happened."""
        self._check_usable()
        if sims is not None:
            self.sims = list(sims)
        stale = self.token
        registered = await self._registration_flow()
        if registered and stale is not None:
            await self.sync_webhooks()
            await self.sync_settings()
            if self._sse_task is not None:
                self._sse_task.cancel()
                self._sse_task = self._spawn(self._sse_loop(), "sse")
        return registered

    async def get_device(self) -> dict[str, Any]:
        """``GET /device`` (token optional there); keeps ``externalIp``."""
        authorization = f"Bearer {self.token}" if self.token else None
        response = await self._api("GET", "/device", authorization=authorization)
        answer: dict[str, Any] = response.json()
        self.external_ip = answer.get("externalIp")
        return answer

    async def sync_webhooks(self) -> list[dict[str, Any]]:
        """WebhooksUpdateWorker: ``GET /webhooks`` replaces the list."""
        response = await self._device_call("GET", "/webhooks")
        hooks = response.json()
        self.webhooks = [h for h in hooks if isinstance(h, dict)] if isinstance(hooks, list) else []
        self._bump()
        return self.webhooks

    async def sync_settings(self) -> dict[str, Any]:
        """SettingsUpdateWorker: ``GET /settings``, merged section by section into the
        device's settings (keys the server leaves out keep their values)."""
        response = await self._device_call("GET", "/settings")
        answer = response.json()
        if isinstance(answer, dict):
            for name, section in answer.items():
                if isinstance(section, dict):
                    merged = dict(self._section(name))
                    merged.update(section)
                    self.settings[name] = merged
                else:
                    self.settings[name] = section
        self._bump()
        return self.settings

    def request_pull(self) -> None:
        """Ask for a pull (PullMessagesWorker.startOnce: coalesced, runs when online)."""
        self._pull_wanted.set()

    async def pull(self) -> list[dict[str, Any]]:
        """``GET /message?order=lifo|fifo`` and process the answer (GatewayService)."""
        order = self.processing_order.lower()
        response = await self._device_call("GET", f"/message?order={order}")
        answer = response.json()
        if not isinstance(answer, list):
            raise FakeDeviceError(f"GET /message answered {answer!r}")
        parsed = [self._parse_message(m) for m in answer]  # Gson fails as a whole
        self.pulls += 1
        for raw, message in zip(answer, parsed, strict=True):
            self._process_pulled(raw, message)
        self._work.set()
        self._bump()
        return answer

    # ------------------------------------------------------------------ messages

    def _parse_message(self, raw: Any) -> DeviceMessage | None:
        if not isinstance(raw, dict):
            raise FakeDeviceError(f"not a message: {raw!r}")
        valid_until = parse_date(raw.get("validUntil"))
        schedule_at = parse_date(raw.get("scheduleAt"))
        created_at = parse_date(raw.get("createdAt")) or utc_now()
        state = raw.get("state")
        if state not in (None, PENDING):
            return None
        text: str | None = None
        data: str | None = None
        port: int | None = None
        data_message = raw.get("dataMessage")
        text_message = raw.get("textMessage")
        if isinstance(data_message, dict):
            data, port = str(data_message.get("data", "")), int(data_message.get("port", 0))
        elif isinstance(text_message, dict):
            text = str(text_message.get("text", ""))
        elif isinstance(raw.get("message"), str):
            text = raw["message"]
        else:
            raise FakeDeviceError(f"message {raw.get('id')!r} has no content")
        phones = [str(p) for p in raw.get("phoneNumbers") or []]
        sim_number = raw.get("simNumber")
        return DeviceMessage(
            id=str(raw["id"]),
            rowid=0,
            text=text,
            data=data,
            port=port,
            phone_numbers=phones,
            sim_number=int(sim_number) if sim_number is not None else None,
            with_delivery_report=raw.get("withDeliveryReport") is not False,
            is_encrypted=bool(raw.get("isEncrypted")),
            priority=int(raw.get("priority") or 0),
            valid_until=valid_until,
            schedule_at=schedule_at,
            created_at=created_at,
            recipients={p: Recipient(p) for p in phones},
            history={},
        )

    def _process_pulled(self, raw: dict[str, Any], message: DeviceMessage | None) -> None:
        message_id = str(raw.get("id"))
        state = raw.get("state")
        if state == CANCELLING:
            local = self.messages.get(message_id)
            if local is None:
                # not known here: report it cancelled straight away
                now = utc_now()
                phones = [str(p) for p in raw.get("phoneNumbers") or []]
                self._queue_report(
                    {
                        "id": message_id,
                        "state": CANCELLED,
                        "recipients": [
                            {"phoneNumber": p, "state": CANCELLED, "error": None} for p in phones
                        ],
                        "states": {CANCELLED: format_date(now, self.tz)},
                    }
                )
            else:
                self._cancel_local(local)
            return
        if message is None:
            return  # other states are ignored
        local = self.messages.get(message_id)
        if local is not None:
            self._queue_report(self._snapshot(local))  # already here: send its state again
            return
        self._rowid += 1
        message.rowid = self._rowid
        message.history[PENDING] = utc_now()  # the local enqueue time
        self.messages[message.id] = message
        self._pending_ids.add(message.id)

    def _cancel_local(self, message: DeviceMessage) -> bool:
        """MessagesService.cancelMessage: only a message nobody started on."""
        if message.state != PENDING or any(r.state != PENDING for r in message.recipients.values()):
            return False
        self._update_state(message, None, CANCELLED, None)
        return True

    def _aggregate(self, message: DeviceMessage) -> str:
        states = [r.state for r in message.recipients.values()]
        if any(s == PENDING for s in states):
            return PENDING
        if any(s == PROCESSED for s in states):
            return PROCESSED
        if states and all(s == FAILED for s in states):
            return FAILED
        if states and all(s == DELIVERED for s in states):
            return DELIVERED
        if states and all(s == CANCELLED for s in states):
            return CANCELLED
        return SENT

    def _update_state(
        self, message: DeviceMessage, phone: str | None, state: str, error: str | None
    ) -> None:
        """MessagesService.updateState: recipient(s), message state and history, then the
        MessageStateChangedEvent (a state report and the webhooks)."""
        targets = [phone] if phone is not None else list(message.recipients)
        for target in targets:
            recipient = message.recipients[target]
            recipient.state = state
            recipient.error = error
        aggregate = self._aggregate(message)
        if aggregate != message.state:
            message.state = aggregate
            now = utc_now()
            message.history.setdefault(aggregate, now)  # INSERT OR IGNORE
            if aggregate == PROCESSED:
                message.processed_at = now
        self._queue_report(self._snapshot(message))
        event = WEBHOOK_EVENTS.get(state)
        if event is not None:
            for target in targets:
                self._emit_outbound_webhook(event, message, target, error)
        self._bump()

    def _snapshot(self, message: DeviceMessage) -> dict[str, Any]:
        return {
            "id": message.id,
            "state": message.state,
            "recipients": [
                {"phoneNumber": r.phone_number, "state": r.state, "error": r.error}
                for r in message.recipients.values()
            ],
            "states": {k: format_date(v, self.tz) for k, v in message.history.items()},
        }

    def _outcome(self, message: DeviceMessage, phone: str) -> Outcome:
        if self.outcome_for is not None:
            chosen = self.outcome_for(message, phone)
            if chosen is not None:
                return chosen
        return self.outcomes.get(phone, self.default_outcome)

    def set_outcome(self, phone_number: str, outcome: Outcome) -> None:
        self.outcomes[phone_number] = outcome

    def _next_pending(self) -> tuple[DeviceMessage | None, float | None]:
        now = utc_now()
        due: list[DeviceMessage] = []
        wake: float | None = None
        for message_id in list(self._pending_ids):
            message = self.messages[message_id]
            if message.state != PENDING or any(
                r.state != PENDING for r in message.recipients.values()
            ):
                self._pending_ids.discard(message_id)
                continue
            if message.schedule_at is not None and message.schedule_at > now:
                wait = (message.schedule_at - now).total_seconds()
                wake = wait if wake is None else min(wake, wait)
                continue
            due.append(message)
        if not due:
            return None, wake
        newest_first = self.processing_order == "LIFO"
        due.sort(
            key=lambda m: (
                -m.priority,
                -m.created_at.timestamp() if newest_first else m.created_at.timestamp(),
                -m.rowid if newest_first else m.rowid,
            )
        )
        return due[0], wake

    async def _sender(self) -> None:
        """SendMessagesWorker / MessagesService.sendPendingMessages."""
        previous_priority = -128
        while True:
            message, wake = self._next_pending()
            if message is None:
                self._work.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._work.wait(), wake)
                continue
            priority = message.priority
            if priority < PRIORITY_EXPEDITED or previous_priority >= priority:
                await self._apply_limit()
                if message.state != PENDING:
                    continue  # cancelled while waiting
            if not self._send_message(message):
                continue
            if priority >= PRIORITY_EXPEDITED and previous_priority < priority:
                previous_priority = priority
                continue
            previous_priority = priority
            interval = self._send_interval()
            if interval is not None:
                await asyncio.sleep(self.rng.randint(*interval) * self.time_scale)
            await asyncio.sleep(0)

    async def _apply_limit(self) -> None:
        section = self._section("messages")
        period = LIMIT_PERIODS.get(str(section.get("limit_period")))
        limit = section.get("limit_value")
        if period is None or not isinstance(limit, int) or limit <= 0:
            return
        span = period * self.time_scale
        cutoff = utc_now() - timedelta(seconds=span)
        processed = [
            m.processed_at
            for m in self.messages.values()
            if m.processed_at is not None and m.processed_at >= cutoff and m.state != FAILED
        ]
        if len(processed) < limit:
            return
        last = max(processed)
        await asyncio.sleep(max(0.0, span - (utc_now() - last).total_seconds()) + self.time_scale)

    def _select_slot(self, message: DeviceMessage) -> int | None:
        """MessagesService.selectSimNumber (0-based slot, None for the OS default)."""
        if message.sim_number is not None:
            return message.sim_number - 1
        if not self.sims:
            raise FakeDeviceError("No SIMs found")
        slots = sorted(sim.slot_index for sim in self.sims)
        mode = self._section("messages").get("sim_selection_mode")
        if mode == "RoundRobin":
            return slots[message.rowid % len(slots)]
        if mode == "Random":
            return self.rng.choice(slots)
        return None

    def _send_message(self, message: DeviceMessage) -> bool:
        """MessagesService.sendMessage/sendSMS. Returns True when the radio was used."""
        if message.valid_until is not None and message.valid_until < utc_now():
            self._update_state(message, None, FAILED, TTL_EXPIRED)
            return False
        try:
            slot = self._select_slot(message)
            if slot is not None and not any(sim.slot_index == slot for sim in self.sims):
                raise FakeDeviceError(f"SIM {slot + 1} not found")
        except FakeDeviceError as exc:
            self._update_state(message, None, FAILED, f"Can't send message: {exc}")
            return False
        if message.sim_number is None and slot is not None:
            message.used_sim = slot + 1
        else:
            message.used_sim = message.sim_number
        message.parts_count = 1 if message.data is not None else parts_count(message.text or "")
        actual_slot = slot if slot is not None else min(sim.slot_index for sim in self.sims)
        for phone in message.phone_numbers:
            outcome = self._outcome(message, phone)
            if outcome.result == "error":
                reason = outcome.reason or "Generic failure"
                self._update_state(message, phone, FAILED, f"sendSMS: {reason}")
                continue
            self.sent.append(
                SentSms(
                    message.id,
                    phone,
                    message.text,
                    message.data,
                    message.port,
                    message.used_sim,
                    actual_slot,
                    message.parts_count,
                    message.is_encrypted,
                    outcome.result,
                    time.time(),
                )
            )
            self._update_state(message, phone, PROCESSED, None)
            self._spawn(self._radio(message, phone, outcome), f"radio:{message.id}:{phone}")
        return True

    async def _radio(self, message: DeviceMessage, phone: str, outcome: Outcome) -> None:
        """The sent and delivery-report intents for one recipient."""
        await asyncio.sleep(outcome.sent_after)
        if outcome.result == "failed":
            self._update_state(message, phone, FAILED, outcome.reason or SEND_FAILURE)
            return
        self._update_state(message, phone, SENT, None)
        if not message.with_delivery_report or outcome.result == "sent":
            return
        await asyncio.sleep(outcome.delivered_after)
        if outcome.result == "undelivered":
            self._update_state(message, phone, FAILED, outcome.reason or DELIVERY_FAILURE)
        else:
            self._update_state(message, phone, DELIVERED, None)

    # ------------------------------------------------------------------ state reports

    def _queue_report(self, item: dict[str, Any]) -> None:
        self._reports.put_nowait(item)

    async def _reporter(self) -> None:
        """SendStateWorker: one ``PATCH /message`` per change, retried with backoff."""
        while True:
            item = await self._reports.get()
            attempt = 0
            while True:
                await self._online.wait()
                try:
                    await self._device_call("PATCH", "/message", body=[item])
                except DeviceOffline:
                    continue
                except (ApiError, httpx.HTTPError, FakeDeviceError) as exc:
                    attempt += 1
                    if attempt > self.state_retries:
                        self.errors.append(f"state report for {item['id']} dropped: {exc}")
                        break
                    await asyncio.sleep(self.state_retry_delay * 2 ** (attempt - 1))
                    continue
                wire = json.loads(self._json(item))  # as sent: nulls dropped unless asked
                self.reports.append(StateReport(wire, time.time()))
                self._bump()
                break

    # ------------------------------------------------------------------ webhooks

    def _emit(self, event: str, payload: dict[str, Any]) -> int:
        """WebHooksService.emit: one delivery per registration of ``event``."""
        if self.device_id is None:
            return 0
        count = 0
        for hook in self.webhooks:
            if hook.get("event") != event or not hook.get("url"):
                continue
            envelope_id = nanoid()
            envelope = {
                "id": envelope_id,
                "webhookId": hook.get("id"),
                "event": event,
                "deviceId": self.device_id,
                "payload": payload,
            }
            job = WebhookJob(
                str(hook["url"]), str(hook.get("id")), event, envelope_id, self._json(envelope)
            )
            self._schedule_hook(job, 0.0)
            count += 1
        return count

    def _schedule_hook(self, job: WebhookJob, delay: float) -> None:
        self._hook_seq += 1
        loop = asyncio.get_running_loop()
        self._hooks_due.append((loop.time() + delay, self._hook_seq, job))
        self._hooks_due.sort(key=lambda entry: (entry[0], entry[1]))
        self._hooks_wake.set()

    async def _webhook_worker(self) -> None:
        """WebhookQueueProcessorWorker: due deliveries one by one, failures rescheduled."""
        loop = asyncio.get_running_loop()
        while True:
            self._hooks_wake.clear()
            if not self._online.is_set():
                await self._online.wait()
                continue
            if not self._hooks_due:
                await self._hooks_wake.wait()
                continue
            due_at, _, job = self._hooks_due[0]
            wait = due_at - loop.time()
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._hooks_wake.wait(), wait)
                continue
            self._hooks_due.pop(0)
            if await self._post_webhook(job):
                continue
            if job.retries < self._webhook_max_retries():
                job.retries += 1
                self._schedule_hook(job, self.webhook_retry_delay * 2 ** (job.retries - 1))
            else:
                self.errors.append(f"webhook {job.envelope_id} to {job.url} given up")

    async def _post_webhook(self, job: WebhookJob) -> bool:
        timestamp = str(int(time.time()))
        headers = {
            "User-Agent": self.user_agent,
            "Accept": "application/json",
            "Accept-Charset": "UTF-8",
            "Content-Type": "application/json",
            "X-Timestamp": timestamp,
            "X-Signature": sign_webhook(self.signing_key, job.body, timestamp),
        }
        post = WebhookPost(
            job.url,
            job.webhook_id,
            job.event,
            job.envelope_id,
            job.body,
            {k.lower(): v for k, v in headers.items()},
            None,
            job.retries,
            time.time(),
        )
        self.webhook_posts.append(post)
        record = RequestRecord(
            "webhook", "POST", job.url, job.url, post.headers, job.body, None, b"", post.at
        )
        self.requests.append(record)
        try:
            response = await self._client.post(
                job.url,
                headers=headers,
                content=job.body,
                timeout=httpx.Timeout(self.webhook_timeout, connect=5.0),
            )
        except httpx.HTTPError as exc:
            post.error = record.error = repr(exc)
            self._bump()
            return False
        post.status = record.status = response.status_code
        record.response = response.content
        self._bump()
        return post.ok

    def _sim(self, sim_number: int | None) -> SimCard | None:
        if sim_number is None:
            return None
        return next((s for s in self.sims if s.sim_number == sim_number), None)

    def _emit_outbound_webhook(
        self, event: str, message: DeviceMessage, phone: str, error: str | None
    ) -> None:
        """webhooks EventsReceiver: sms:sent / sms:delivered / sms:failed per recipient."""
        sim = self._sim(message.used_sim)
        now = format_date(utc_now(), self.tz)
        base = {
            "messageId": message.id,
            "sender": sim.phone_number if sim else None,
            "recipient": phone,
            "simNumber": message.used_sim,
            "phoneNumber": phone,
        }
        payload: dict[str, Any]
        if event == "sms:sent":
            parts = message.parts_count if message.parts_count is not None else -1
            payload = {"partsCount": parts, "sentAt": now, **base}
        elif event == "sms:delivered":
            payload = {"deliveredAt": now, **base}
        elif event == "sms:failed":
            payload = {"failedAt": now, "reason": error or "Unknown", **base}
        else:
            payload = {"cancelledAt": now, **base}
        self._emit(event, payload)

    # ------------------------------------------------------------------ inbound SMS

    def _inbound_payload(self, entry: dict[str, Any]) -> dict[str, Any]:
        sim = self._sim(entry["sim"])
        return {
            "message": entry["text"],
            "receivedAt": format_date(entry["at"], self.tz),
            "messageId": entry["messageId"],
            "sender": entry["sender"],
            "recipient": sim.phone_number if sim else None,
            "simNumber": entry["sim"],
            "phoneNumber": entry["sender"],
        }

    async def receive_sms(
        self, sender: str, text: str, sim: int | None = 1, *, at: datetime | None = None
    ) -> dict[str, Any]:
        """An SMS arrives on SIM ``sim`` (1-based; None when Android does not say): the app
        posts ``sms:received`` to every registration. Returns the payload. The same message
        (sender, time, text, SIM) twice is processed once, as ReceiverService dedups."""
        self._check_open()
        moment = at or utc_now()
        message_id = inbox_message_id(sender, moment, text, sim - 1 if sim else None)
        entry = {"sender": sender, "text": text, "sim": sim, "at": moment, "messageId": message_id}
        payload = self._inbound_payload(entry)
        if any(
            e["sender"] == sender and e["text"] == text and e["sim"] == sim and e["at"] == moment
            for e in self.inbox
        ):
            return payload
        self.inbox.append(entry)
        self._emit("sms:received", payload)
        self._bump()
        return payload

    def _export(self, data: str) -> None:
        """MessagesExportRequested: re-emit received SMS of a period as webhooks."""
        request = json.loads(data) if data and data != "null" else {}
        since = parse_date(request.get("since")) or datetime.min.replace(tzinfo=UTC)
        until = parse_date(request.get("until")) or datetime.max.replace(tzinfo=UTC)
        delivery = request.get("webhookDelivery")
        if delivery is None:
            delivery = "Disabled" if request.get("triggerWebhooks") is False else "Individual"
        types = request.get("messageTypes")
        if types is not None and "SMS" not in str(types):
            return
        payloads = [self._inbound_payload(e) for e in self.inbox if since <= e["at"] <= until]
        if delivery == "Disabled":
            return
        if delivery == "Batch":
            if payloads:
                self._emit("sms:batch:received", {"messages": payloads})
            return
        for payload in payloads:
            self._emit("sms:received", payload)

    # ------------------------------------------------------------------ ping and polling

    def health(self) -> dict[str, Any]:
        hour_ago = utc_now() - timedelta(hours=1)
        failed = sum(
            1 for m in self.messages.values() if m.state == FAILED and m.created_at >= hour_ago
        )
        processed = sum(
            1 for m in self.messages.values() if m.processed_at and m.processed_at >= hour_ago
        )
        status = "fail" if failed and not processed else "warn" if failed else "pass"
        return {
            "status": status,
            "version": self.app_version,
            "releaseId": self.release_id,
            "checks": {
                "messages:failed": {
                    "status": status,
                    "observedValue": failed,
                    "observedUnit": "messages",
                    "description": "Failed messages for last hour",
                },
            },
        }

    async def ping(self) -> None:
        """One PingEvent: a ``system:ping`` webhook and a pull."""
        self._check_open()
        self._emit("system:ping", {"health": self.health()})
        self.request_pull()
        self._bump()

    async def _ping_loop(self, interval: float) -> None:
        while True:
            await self.ping()
            await asyncio.sleep(interval * self.time_scale)

    async def _poll_loop(self, interval: float) -> None:
        while True:
            self.request_pull()
            await asyncio.sleep(interval)

    async def _puller(self) -> None:
        while True:
            await self._pull_wanted.wait()
            await self._online.wait()
            self._pull_wanted.clear()
            try:
                await self.pull()
            except DeviceOffline:
                self._pull_wanted.set()
            except Exception as exc:  # the worker would retry later; keep the error
                self.errors.append(f"pull failed: {exc!r}")
                self._bump()

    # ------------------------------------------------------------------ SSE

    async def _sse_loop(self) -> None:
        """SSEManager: open ``GET /events``, pull on open, reconnect after 5 s (attempts 1-5),
        30 s (6-10) or 60 s (later); a successful open resets the count."""
        attempts = 0
        while True:
            await self._online.wait()
            try:
                await self._sse_once()
                if not self.reconnect_on_close:
                    return
            except (httpx.HTTPError, FakeDeviceError, ValueError) as exc:
                self.errors.append(f"sse: {exc!r}")
            finally:
                self.sse_connected.clear()
            attempts = 0 if self._sse_opened else attempts
            attempts += 1
            first, second, third = self.sse_reconnect_delays
            delay = third if attempts > 10 else second if attempts > 5 else first
            self._bump()
            await asyncio.sleep(delay)

    async def _sse_once(self) -> None:
        self._sse_opened = False
        if self.api_url is None or self.token is None:
            raise FakeDeviceError("register() first")
        token = self.token
        url = f"{self.api_url}/events"
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "text/event-stream",
            "User-Agent": OKHTTP_USER_AGENT,
        }
        record = RequestRecord("sse", "GET", url, "/events", {}, b"", None, b"", time.time())
        self.requests.append(record)
        timeout = httpx.Timeout(self.request_timeout, read=self.sse_read_timeout)
        try:
            async with self._client.stream("GET", url, headers=headers, timeout=timeout) as resp:
                record.headers = {k.lower(): v for k, v in resp.request.headers.items()}
                record.status = resp.status_code
                self._bump()
                if resp.status_code == 401 and self.reregister_on_401 == "any":
                    await resp.aread()
                    await self._reauthenticate(token)
                    raise FakeDeviceError("GET /events answered 401")
                if not 200 <= resp.status_code < 300:
                    record.response = await resp.aread()
                    raise FakeDeviceError(f"GET /events answered {resp.status_code}")
                self._sse_opened = True
                self.sse_connected.set()
                self.request_pull()  # onConnected: pull at once
                self._bump()
                await self._read_events(resp)
        except httpx.HTTPError as exc:
            record.error = repr(exc)
            raise

    async def _read_events(self, response: httpx.Response) -> None:
        """An SSE parser as OkHttp's: an event fires on a blank line when it has data."""
        event_type: str | None = None
        data: list[str] = []
        async for line in response.aiter_lines():
            if line == "":
                if data:
                    self._on_event(event_type or "message", "\n".join(data))
                event_type, data = None, []
                continue
            if line.startswith(":"):
                self.keepalives += 1
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event_type = value
            elif name == "data":
                data.append(value)

    def _on_event(self, event_type: str, data: str) -> None:
        """SSEForegroundService.processEvent → EventsRouter."""
        handled = event_type in EXTERNAL_EVENTS
        self.sse_events.append(SseEvent(event_type, data, handled, time.time()))
        self._bump()
        if not handled:
            self.errors.append(f"unknown SSE event {event_type!r}")
            return
        if event_type == "MessageEnqueued":
            self.request_pull()
        elif event_type == "WebhooksUpdated":
            self._spawn(self._quietly(self.sync_webhooks), "sync-webhooks")
        elif event_type == "SettingsUpdated":
            self._spawn(self._quietly(self.sync_settings), "sync-settings")
        elif event_type == "MessageCancelled":
            try:
                message_id = str(json.loads(data)["messageId"])
            except (ValueError, KeyError, TypeError) as exc:
                self.errors.append(f"bad MessageCancelled data {data!r}: {exc!r}")
                return
            local = self.messages.get(message_id)
            if local is not None:
                self._cancel_local(local)
        elif event_type == "MessagesExportRequested":
            try:
                self._export(data)
            except (ValueError, TypeError, AttributeError) as exc:
                self.errors.append(f"bad MessagesExportRequested data {data!r}: {exc!r}")

    async def _quietly(self, call: Callable[[], Awaitable[Any]]) -> None:
        try:
            await call()
        except Exception as exc:
            self.errors.append(f"{getattr(call, '__name__', call)} failed: {exc!r}")

    # ------------------------------------------------------------------ waiting and queries

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the caller, not an I/O knob
        what: str = "condition",
    ) -> None:
        """Wait until ``predicate()`` holds; ``AssertionError`` after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"fake device: {what} not reached within {timeout}s")
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), min(remaining, 0.05))

    async def wait_for_messages(self, n: int, timeout: float = 5.0) -> list[SentSms]:  # noqa: ASYNC109
        """Wait until the radio has sent ``n`` SMS (one per recipient)."""
        await self.wait_until(lambda: len(self.sent) >= n, timeout, f"{n} SMS sent")
        return list(self.sent)

    def delivered_webhooks(self, event: str | None = None) -> list[WebhookPost]:
        return [p for p in self.webhook_posts if p.ok and (event is None or p.event == event)]

    async def wait_for_webhooks(
        self,
        n: int,
        event: str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[WebhookPost]:
        """Wait until ``n`` webhooks (of ``event``) were answered 2xx."""
        await self.wait_until(
            lambda: len(self.delivered_webhooks(event)) >= n, timeout, f"{n} {event} webhooks"
        )
        return self.delivered_webhooks(event)

    def reports_for(self, message_id: str) -> list[dict[str, Any]]:
        return [r.item for r in self.reports if r.item["id"] == message_id]

    async def wait_for_state(
        self,
        message_id: str,
        state: str,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> dict[str, Any]:
        """Wait until the server accepted a report of ``state`` for the message."""
        await self.wait_until(
            lambda: any(i["state"] == state for i in self.reports_for(message_id)),
            timeout,
            f"{message_id} reported {state}",
        )
        return next(i for i in self.reports_for(message_id) if i["state"] == state)

    async def wait_for_reports(
        self,
        n: int,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[StateReport]:
        await self.wait_until(lambda: len(self.reports) >= n, timeout, f"{n} state reports")
        return list(self.reports)

    async def wait_for_pulls(self, n: int, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        await self.wait_until(lambda: self.pulls >= n, timeout, f"{n} pulls")

    async def wait_connected(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        await self.wait_until(self.sse_connected.is_set, timeout, "SSE connected")

    def calls(
        self, method: str | None = None, path: str | None = None, kind: str | None = None
    ) -> list[RequestRecord]:
        """Recorded requests, filtered by method, path (without query) and kind."""
        return [
            r
            for r in self.requests
            if (method is None or r.method == method)
            and (path is None or r.path == path)
            and (kind is None or r.kind == kind)
        ]

    def background_tasks(self) -> set[asyncio.Task[Any]]:
        return set(self._tasks)
