"""``/api/mobile/v1``: the device API the SMSGate Android app calls in private-server mode.

The app is pointed at ``https://HOST/api/mobile/v1`` with the account's private token
(``smsbridge devices token``) and the notification channel ``SSE_ONLY``. It registers, keeps
an event stream open, pulls its queue, reports states, and posts received SMS and delivery
events, signed, to the receiver URLs handed out in ``/webhooks``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Request
from starlette.responses import Response, StreamingResponse

from smsbridge.api.deps import GatewayDep
from smsbridge.compat.smsgate.auth import authorization, bearer
from smsbridge.compat.smsgate.errors import SmsGateRoute
from smsbridge.compat.smsgate.formats import (
    device_json,
    json_response,
    mobile_message,
    read_json,
)
from smsbridge.core.errors import Forbidden, Unauthorized, ValidationFailed
from smsbridge.core.timefmt import iso
from smsbridge.dispatch.device_hub import MESSAGE_ENQUEUED, DeviceEvent
from smsbridge.gateway import Gateway
from smsbridge.services.phone_reports import StateReport, parse_time

router = APIRouter(prefix="/api/mobile/v1", tags=["SMSGate device API"], route_class=SmsGateRoute)
MAX_REPORTS = 1000


def _credential(header: str | None) -> tuple[str, str]:
    if not header:
        raise Unauthorized("Missing Authorization header.", code="missing_token")
    scheme, value = authorization(header)
    if scheme not in ("bearer", "basic", "code"):
        raise Unauthorized(
            "Use Authorization: Bearer <private token>, Basic <login:password> or Code <code>.",
            code="invalid_credentials",
        )
    return scheme, value


def _sims(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        return []
    keep = ("slotIndex", "simNumber", "phoneNumber", "carrierName", "iccid")
    return [{k: card.get(k) for k in keep if k in card} for card in value if isinstance(card, dict)]


def _base_url(gw: Gateway, request: Request) -> str:
    return gw.settings.public_url or str(request.base_url).rstrip("/")


async def _device(gw: Gateway, authorization: str | None) -> dict[str, Any]:
    return await gw.devices.authenticate(bearer(authorization))


@router.post("/device", status_code=201, summary="Register a phone")
async def register(
    request: Request,
    gw: GatewayDep,
    authorization: Annotated[str | None, Header()] = None,
    user_agent: Annotated[str | None, Header()] = None,
) -> Response:
    scheme, credential = _credential(authorization)
    body = await read_json(request, dict)
    name = body.get("name") if isinstance(body.get("name"), str) else None
    push = body.get("pushToken") if isinstance(body.get("pushToken"), str) else None
    version = None
    if user_agent and "/" in user_agent:
        version = user_agent.rsplit("/", 1)[1][:32]
    done = await gw.devices.register(
        scheme=scheme,
        credential=credential,
        name=name or "Android phone",
        push_token=push,
        sims=_sims(body.get("simCards")),
        app_version=version,
    )
    out: dict[str, Any] = {"id": done.device_id, "token": done.token, "login": done.login}
    if done.password is not None:
        out["password"] = done.password
    return json_response(out, 201)


@router.get("/device", summary="This phone and the address it calls from")
async def get_device(
    request: Request, gw: GatewayDep, authorization: Annotated[str | None, Header()] = None
) -> Response:
    out: dict[str, Any] = {"externalIp": request.client.host if request.client else None}
    token = bearer(authorization)
    if token:
        with contextlib.suppress(Unauthorized):
            out["device"] = device_json(await gw.devices.authenticate(token))
    return json_response(out)


@router.patch("/device", status_code=204, summary="Update push token and SIM cards")
async def patch_device(
    request: Request, gw: GatewayDep, authorization: Annotated[str | None, Header()] = None
) -> Response:
    device = await _device(gw, authorization)
    body = await read_json(request, dict)
    if body.get("id") not in (None, device["id"]):
        raise Forbidden("The id is not this device's.", code="device_mismatch")
    push = body.get("pushToken") if isinstance(body.get("pushToken"), str) else None
    sims = _sims(body["simCards"]) if isinstance(body.get("simCards"), list) else None
    await gw.devices.update(device, push_token=push, sims=sims)
    return Response(status_code=204)


@router.get("/message", summary="Pull waiting messages")
@router.get("/messages", include_in_schema=False)
async def pull(
    gw: GatewayDep,
    authorization: Annotated[str | None, Header()] = None,
    order: Annotated[str, Query(pattern="^(lifo|fifo|LIFO|FIFO)$")] = "lifo",
) -> Response:
    device = await _device(gw, authorization)
    rows = await gw.devices.pull(device, lifo=order.lower() == "lifo")
    return json_response([mobile_message(row) for row in rows])


@router.patch("/message", status_code=204, summary="Report message states")
@router.patch("/messages", status_code=204, include_in_schema=False)
async def report(
    request: Request, gw: GatewayDep, authorization: Annotated[str | None, Header()] = None
) -> Response:
    device = await _device(gw, authorization)
    body = await read_json(request, list)
    if len(body) > MAX_REPORTS:
        raise ValidationFailed(f"At most {MAX_REPORTS} reports per call.", code="too_many_reports")
    items: list[StateReport] = []
    for entry in body:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise ValidationFailed("Each report needs an id and a state.", code="invalid_body")
        state = entry.get("state")
        error = None
        recipients = entry.get("recipients")
        if isinstance(recipients, list) and recipients and isinstance(recipients[0], dict):
            # One recipient per queue row: its state is the row's.
            state = recipients[0].get("state") or state
            error = recipients[0].get("error")
        if not isinstance(state, str):
            raise ValidationFailed("Each report needs an id and a state.", code="invalid_body")
        raw_states = entry.get("states")
        states: dict[str, Any] = raw_states if isinstance(raw_states, dict) else {}
        items.append(
            StateReport(
                entry["id"], state, error if isinstance(error, str) else None,
                parse_time(states.get(state)),
            )
        )  # fmt: skip
    await gw.phone_reports.report(device, items)
    return Response(status_code=204)


@router.get("/webhooks", summary="Webhooks the phone posts to")
async def webhooks(
    request: Request, gw: GatewayDep, authorization: Annotated[str | None, Header()] = None
) -> Response:
    device = await _device(gw, authorization)
    return json_response(await gw.devices.webhooks_for(device, _base_url(gw, request)))


@router.get("/settings", summary="Settings for the phone")
async def settings(
    gw: GatewayDep, authorization: Annotated[str | None, Header()] = None
) -> Response:
    device = await _device(gw, authorization)
    return json_response(await gw.devices.settings_for(device))


@router.get("/user/code", summary="A one-time code that registers another phone")
async def user_code(
    gw: GatewayDep, authorization: Annotated[str | None, Header()] = None
) -> Response:
    scheme, credential = _credential(authorization)
    if scheme == "basic":
        login, _, password = credential.partition(":")
        account_id = await gw.device_accounts.verify_basic(login, password)
    elif scheme == "bearer":
        account_id = (await gw.devices.authenticate(credential))["account_id"]
    else:
        raise Unauthorized("Use Basic login:password.", code="invalid_credentials")
    code, valid_until = await gw.device_accounts.one_time_code(account_id)
    return json_response({"code": code, "validUntil": iso(valid_until)})


@router.patch("/user/password", status_code=204, summary="Change the integrator password")
async def change_password(
    request: Request, gw: GatewayDep, authorization: Annotated[str | None, Header()] = None
) -> Response:
    device = await _device(gw, authorization)
    body = await read_json(request, dict)
    current, new = body.get("currentPassword"), body.get("newPassword")
    if not isinstance(current, str) or not isinstance(new, str):
        raise ValidationFailed("Give currentPassword and newPassword.", code="invalid_body")
    await gw.device_accounts.change_password(device["account_id"], current, new)
    return Response(status_code=204)


@router.post("/hooks/{device_id}", summary="Receiver for the phone's signed webhooks")
async def hook(
    device_id: str,
    request: Request,
    gw: GatewayDep,
    x_signature: Annotated[str | None, Header()] = None,
    x_timestamp: Annotated[str | None, Header()] = None,
) -> Response:
    body = await request.body()
    if len(body) > 1_000_000:
        raise ValidationFailed("Webhook body too large.", code="too_large")
    await gw.phone_reports.hook(device_id, body, x_timestamp, x_signature)
    return Response(status_code=204)


@router.get("/events", summary="Server-Sent Events for the phone")
async def events(
    gw: GatewayDep, authorization: Annotated[str | None, Header()] = None
) -> StreamingResponse:
    device = await _device(gw, authorization)
    announced = await gw.devices.newest_pending(device["id"])
    return StreamingResponse(
        _stream(gw, device, announced),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _frame(event: DeviceEvent) -> bytes:
    return f"event: {event.type}\ndata: ".encode() + orjson.dumps(event.data) + b"\n\n"


async def _stream(gw: Gateway, device: dict[str, Any], announced: int) -> AsyncIterator[bytes]:
    """Events for one phone: pushed ones from this process, and work queued by others found
    by polling; comment lines keep idle connections (and the phone's liveness) up."""
    hub = gw.device_hub
    queue = hub.subscribe(device["id"])
    poll = gw.settings.devices_poll_interval_ms / 1000
    keepalive = gw.settings.devices_sse_keepalive_seconds
    last_beat = time.monotonic()
    try:
        yield b":connected\n\n"
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), poll)
            except TimeoutError:
                event = None
            if event is not None:
                if event.type == MESSAGE_ENQUEUED:
                    if event.queue_id and event.queue_id <= announced:
                        continue
                    announced = max(announced, event.queue_id)
                yield _frame(event)
                continue
            newest = await gw.devices.newest_pending(device["id"])
            if newest > announced:
                announced = newest
                yield _frame(DeviceEvent(MESSAGE_ENQUEUED))
            if time.monotonic() - last_beat >= keepalive:
                last_beat = time.monotonic()
                await gw.devices.seen(device)
                yield b":keepalive\n\n"
    finally:
        hub.unsubscribe(device["id"], queue)
