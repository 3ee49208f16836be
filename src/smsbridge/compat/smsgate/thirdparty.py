"""``/api/3rdparty/v1``: SMSGate's integrator API, so its client libraries work unchanged.

Authentication: ``Basic login:password`` (from the first phone's registration, also shown by
``smsbridge devices token``), a JWT from ``POST /auth/token``, or a smsbridge API key as
``Bearer``. Messages go out through the account's phones (the ``android`` channel).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from starlette.responses import Response

from smsbridge import __version__
from smsbridge.api.deps import GatewayDep
from smsbridge.compat.smsgate.auth import authorization, bearer
from smsbridge.compat.smsgate.errors import SmsGateRoute, error
from smsbridge.compat.smsgate.formats import (
    device_json,
    json_response,
    message_state,
    read_json,
)
from smsbridge.compat.smsgate.message_request import is_int, parse_rfc3339, send_request
from smsbridge.core.errors import Forbidden, NotFound, Unauthorized, ValidationFailed
from smsbridge.core.timefmt import iso
from smsbridge.gateway import Gateway
from smsbridge.services.caller import Caller
from smsbridge.services.device_messages import ListQuery
from smsbridge.services.device_tokens import SCOPES, IssuedToken

PREFIX = "/api/3rdparty/v1"
router = APIRouter(prefix=PREFIX, tags=["SMSGate integrator API"], route_class=SmsGateRoute)
WEBHOOK_EVENTS = (
    "sms:received", "sms:data-received", "sms:sent", "sms:delivered", "sms:failed",
    "sms:cancelled", "system:ping", "mms:received", "mms:downloaded", "app:started",
    "sms:batch:received", "sms:batch:data-received", "mms:batch:received",
    "mms:batch:downloaded",
)  # fmt: skip
# What a smsbridge API key needs for each SMSGate scope.
NATIVE_SCOPE = {
    "messages:send": "messages:send", "messages:read": "messages:read",
    "messages:list": "messages:read", "messages:export": "messages:read",
    "messages:cancel": "messages:cancel", "inbox:list": "messages:read",
    "inbox:refresh": "messages:read", "logs:read": "messages:read",
    "webhooks:list": "webhooks:write", "webhooks:write": "webhooks:write",
    "webhooks:delete": "webhooks:write",
}  # fmt: skip


async def _caller(gw: Gateway, request: Request, scope: str) -> Caller:
    scheme, value = authorization(request.headers.get("authorization"))
    if scheme == "basic":
        login, _, password = value.partition(":")
        return await gw.device_accounts.caller(
            await gw.device_accounts.verify_basic(login, password)
        )
    if scheme == "bearer" and value.count(".") == 2:
        account_id, scopes = await gw.device_tokens.verify_jwt(value)
        if scope not in scopes and "all:any" not in scopes:
            raise Forbidden(f"The token lacks the {scope} scope.", code="missing_scope")
        return await gw.device_accounts.caller(account_id)
    if scheme == "bearer":
        caller = await gw.keys.authenticate(value, request.client.host if request.client else None)
        caller.require(NATIVE_SCOPE.get(scope, "devices:manage"))
        gw.limiter.check(caller)
        return caller
    raise Unauthorized(
        "Authenticate with Basic login:password or Bearer <token>.",
        code="missing_credentials",
        headers={"WWW-Authenticate": 'Basic realm="smsbridge"'},
    )


def needs(scope: str) -> Any:
    async def dependency(request: Request, gw: GatewayDep) -> Caller:
        return await _caller(gw, request, scope)

    return Depends(dependency)


@router.post("/messages", status_code=202, summary="Send a message through the phones")
@router.post("/message", status_code=202, include_in_schema=False)
async def send(
    request: Request,
    gw: GatewayDep,
    caller: Annotated[Caller, needs("messages:send")],
    skip_phone_validation: Annotated[bool, Query(alias="skipPhoneValidation")] = False,
    device_active_within: Annotated[int, Query(alias="deviceActiveWithin", ge=0)] = 0,
) -> Response:
    req = send_request(await read_json(request), caller, skip_phone_validation)
    view = await gw.device_messages.send(caller, req, active_within_hours=device_active_within)
    return json_response(
        message_state(view, content=False), 202,
        headers={"Location": f"{PREFIX}/messages/{view.id}"},
    )  # fmt: skip


@router.get("/messages", summary="List messages")
async def list_messages(
    gw: GatewayDep,
    caller: Annotated[Caller, needs("messages:list")],
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: Annotated[str | None, Query()] = None,
    state: Annotated[str | None, Query()] = None,
    device_id: Annotated[str | None, Query(alias="deviceId")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    include_content: Annotated[bool, Query(alias="includeContent")] = False,
    sort: Annotated[str, Query(pattern="^-?created_at$")] = "-created_at",
) -> Response:
    query = ListQuery(
        since=int(parse_rfc3339(from_, "from").timestamp() * 1e6) if from_ else None,
        until=int(parse_rfc3339(to, "to").timestamp() * 1e6) if to else None,
        state=state,
        device_id=device_id,
        limit=limit,
        offset=offset,
        ascending=sort == "created_at",
    )
    views, total = await gw.device_messages.list(caller, query)
    return json_response(
        [message_state(v, content=include_content) for v in views],
        headers={"X-Total-Count": str(total)},
    )


@router.get("/messages/{message_id}", summary="A message's state")
@router.get("/message/{message_id}", include_in_schema=False)
async def get_message(
    message_id: str, gw: GatewayDep, caller: Annotated[Caller, needs("messages:read")]
) -> Response:
    return json_response(message_state(await gw.device_messages.get(caller, message_id)))


@router.delete("/messages/{message_id}", summary="Cancel a pending message")
async def cancel_message(
    message_id: str, gw: GatewayDep, caller: Annotated[Caller, needs("messages:cancel")]
) -> Response:
    return json_response(message_state(await gw.device_messages.cancel(caller, message_id)))


@router.get("/devices", summary="The account's phones")
@router.get("/device", include_in_schema=False)
async def devices(gw: GatewayDep, caller: Annotated[Caller, needs("devices:list")]) -> Response:
    return json_response([device_json(d) for d in await gw.devices.all_of(caller.account_id)])


@router.delete("/devices/{device_id}", status_code=204, summary="Remove a phone")
async def remove_device(
    device_id: str, gw: GatewayDep, caller: Annotated[Caller, needs("devices:delete")]
) -> Response:
    await gw.devices.remove(caller.account_id, device_id)
    return Response(status_code=204)


@router.get("/settings", summary="Settings handed to the phones")
async def get_settings(
    gw: GatewayDep, caller: Annotated[Caller, needs("settings:read")]
) -> Response:
    return json_response(await gw.device_accounts.settings_of(caller.account_id))


@router.put("/settings", summary="Replace the phones' settings")
@router.patch("/settings", summary="Change some of the phones' settings")
async def put_settings(
    request: Request, gw: GatewayDep, caller: Annotated[Caller, needs("settings:write")]
) -> Response:
    merged = await gw.device_accounts.update_settings(
        caller.account_id, await read_json(request), partial=request.method == "PATCH"
    )
    await gw.devices.settings_changed(caller.account_id)
    return json_response(merged)


@router.get("/webhooks", summary="Webhooks the phones post to")
async def list_webhooks(
    gw: GatewayDep, caller: Annotated[Caller, needs("webhooks:list")]
) -> Response:
    return json_response(await gw.device_accounts.webhooks(caller.account_id))


@router.post("/webhooks", status_code=201, summary="Add or replace (by id) a webhook")
async def put_webhook(
    request: Request, gw: GatewayDep, caller: Annotated[Caller, needs("webhooks:write")]
) -> Response:
    body = await read_json(request)
    url, event = body.get("url"), body.get("event")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")) or len(url) > 2048:
        raise ValidationFailed("url must be an http(s) URL.", code="invalid_url")
    if event not in WEBHOOK_EVENTS:
        raise ValidationFailed(f"event must be one of {', '.join(WEBHOOK_EVENTS)}.",
                               code="invalid_event")  # fmt: skip
    webhook_id, device_id = body.get("id"), body.get("deviceId")
    if webhook_id is not None and (
        not isinstance(webhook_id, str) or not 0 < len(webhook_id) <= 36
    ):
        raise ValidationFailed("id is a string of at most 36 characters.", code="invalid_id")
    if device_id is not None and not isinstance(device_id, str):
        raise ValidationFailed("deviceId is a device's id.", code="invalid_device")
    try:
        webhook = await gw.device_accounts.put_webhook(
            caller.account_id, webhook_id, url, event, device_id
        )
    except NotFound as exc:
        raise ValidationFailed(exc.message, code=exc.code) from None
    await gw.devices.webhooks_changed(caller.account_id)
    return json_response(webhook, 201)


@router.delete("/webhooks/{webhook_id}", status_code=204, summary="Delete a webhook")
async def delete_webhook(
    webhook_id: str, gw: GatewayDep, caller: Annotated[Caller, needs("webhooks:delete")]
) -> Response:
    if not await gw.device_accounts.delete_webhook(caller.account_id, webhook_id):
        raise NotFound(f"Webhook {webhook_id!r} not found.", code="webhook_not_found")
    await gw.devices.webhooks_changed(caller.account_id)
    return Response(status_code=204)


@router.get("/inbox", summary="Received SMS (use the native /api/v1/inbound)")
async def inbox(caller: Annotated[Caller, needs("inbox:list")]) -> Response:
    del caller
    return error(501, "Inbox API is not implemented; read received SMS at /api/v1/inbound.")


@router.get("/logs", summary="Phone logs (only on the phone itself)")
async def logs(caller: Annotated[Caller, needs("logs:read")]) -> Response:
    del caller
    return error(501, "The device's logs are not accessible through the server.")


@router.post("/auth/token", status_code=201, summary="Issue a JWT")
async def issue_token(
    request: Request, gw: GatewayDep, caller: Annotated[Caller, needs("tokens:manage")]
) -> Response:
    body = await read_json(request)
    scopes, ttl = body.get("scopes"), body.get("ttl")
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise ValidationFailed(f"scopes lists some of {', '.join(SCOPES)}.", code="invalid_scopes")
    if ttl is not None and not is_int(ttl):
        raise ValidationFailed("ttl is seconds.", code="invalid_ttl")
    token = await gw.device_tokens.issue_token(caller.account_id, scopes, ttl)
    return json_response(_token_json(token), 201)


@router.post("/auth/token/refresh", summary="Trade a refresh token for a new pair")
async def refresh_token(
    gw: GatewayDep, header: Annotated[str | None, Header(alias="Authorization")] = None
) -> Response:
    token = bearer(header)
    if token is None:
        raise Unauthorized("Send Authorization: Bearer <refresh token>.", code="missing_token")
    return json_response(_token_json(await gw.device_tokens.refresh(token)))


@router.delete("/auth/token/{jti}", status_code=204, summary="Revoke a JWT")
async def revoke_token(
    jti: str, gw: GatewayDep, caller: Annotated[Caller, needs("tokens:manage")]
) -> Response:
    await gw.device_tokens.revoke_own(caller.account_id, jti)
    return Response(status_code=204)


def _token_json(token: IssuedToken) -> dict[str, Any]:
    """Both spellings: client-go reads snake_case, the Python client camelCase."""
    expires = iso(token.expires_at * 1_000_000)
    return {
        "id": token.id, "token_type": "Bearer", "access_token": token.access_token,
        "refresh_token": token.refresh_token, "expires_at": expires, "tokenType": "Bearer",
        "accessToken": token.access_token, "refreshToken": token.refresh_token,
        "expiresAt": expires,
    }  # fmt: skip


def health_router(prefix: str, *, with_root: bool = True) -> APIRouter:
    """SMSGate's health checks (also served at the root: ``/health/live`` ...)."""
    health = APIRouter(prefix=prefix, tags=["SMSGate integrator API"])

    async def check(gw: Gateway) -> Response:
        try:
            async with gw.db.read() as conn:
                await conn.exec_driver_sql("SELECT 1")
            status, db = "pass", "pass"
        except Exception:
            status, db = "fail", "fail"
        body = {
            "status": status, "version": __version__, "releaseId": 1,
            "checks": {"db:ping": {"description": "database reachable", "observedUnit": "",
                                   "observedValue": 0, "status": db}},
        }  # fmt: skip
        return json_response(body, 200 if status == "pass" else 503)

    paths = ("/health", "/health/live", "/health/ready", "/health/startup")
    for path in paths if with_root else paths[1:]:

        async def endpoint(gw: GatewayDep) -> Response:
            return await check(gw)

        health.add_api_route(path, endpoint, methods=["GET"], summary="Health (SMSGate format)")
    return health
