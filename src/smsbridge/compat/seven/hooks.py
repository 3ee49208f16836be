"""seven.io's ``/hooks``: webhook subscriptions sent in seven's payload format and signed with
seven's scheme. They are ordinary smsbridge webhooks (format ``seven``), so the delivery log,
retries and redelivery of ``/api/v1/webhooks`` apply to them too."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from starlette.responses import Response

from smsbridge.api.deps import GatewayDep
from smsbridge.compat.params import Params
from smsbridge.compat.seven.auth import caller
from smsbridge.compat.seven.replies import json_reply, params_of
from smsbridge.compat.seven.routes import router
from smsbridge.core import scopes
from smsbridge.core.errors import SmsBridgeError
from smsbridge.core.timefmt import iso
from smsbridge.services.caller import Caller
from smsbridge.services.events import (
    LINK_CLICKED,
    MESSAGE_DELIVERED,
    MESSAGE_EXPIRED,
    MESSAGE_FAILED,
    MESSAGE_INBOUND,
    MESSAGE_SENT,
)

FORMAT = "seven"
DLR = [MESSAGE_SENT, MESSAGE_DELIVERED, MESSAGE_FAILED, MESSAGE_EXPIRED]
# seven event type -> our events.
EVENTS: dict[str, list[str]] = {
    "all": ["*"],
    "dlr": DLR,
    "sms_mo": [MESSAGE_INBOUND],
    "tracking": [LINK_CLICKED],
}
UNAVAILABLE = ("voice_call", "voice_status", "voice_dtmf", "rcs")
_TAG = "seven:"  # the description of a seven hook names its event type


def _failure(code: str, message: str) -> Response:
    return json_reply({"success": False, "code": code, "error_message": message})


def _headers(raw: Any) -> dict[str, str] | None:
    """seven passes custom headers as a JSON object or as ``Name: value`` lines."""
    if raw in (None, ""):
        return None
    if isinstance(raw, dict):
        return {str(k): str(v) for k, v in raw.items()}
    text = str(raw)
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        value = None
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    out = {}
    for line in text.splitlines():
        name, sep, val = line.partition(":")
        if sep and name.strip():
            out[name.strip()] = val.strip()
    return out


def hook_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]), "target_url": row["url"],
        "headers": row["headers"] or "", "event_type": row["description"][len(_TAG):],
        "event_filter": row["label"], "request_method": row["method"] or "POST",
        "enabled": bool(row["enabled"]), "created": (iso(row["created_at"]) or "")[:19],
    }  # fmt: skip


async def _subscribe(gw: GatewayDep, who: Caller, params: Params) -> Response:
    url = params.text("target_url")
    event_type = (params.text("event_type") or "").lower()
    if not url:
        return _failure("missing_target_url", "Give `target_url`.")
    if event_type in UNAVAILABLE:
        return _failure("unavailable", f"{event_type} events do not exist on this gateway.")
    if event_type not in EVENTS:
        return _failure("invalid_event_type", f"`event_type` is one of {', '.join(EVENTS)}.")
    fields: dict[str, Any] = {
        "url": url, "events": EVENTS[event_type], "format": FORMAT,
        "method": (params.text("request_method") or "POST").upper(),
        "headers": _headers(params.get("headers")), "description": _TAG + event_type,
        "label": params.text("event_filter") or None,
    }  # fmt: skip
    if who.signing_secret:
        fields["secret"] = who.signing_secret  # what seven's WebhookVerifier is given
    try:
        row, _ = await gw.webhooks.create(who, fields)
    except SmsBridgeError as exc:
        if exc.status_code in (401, 403, 429):
            raise
        return _failure(exc.code, exc.message)
    return json_reply({"success": True, "id": row["id"]})


async def _read(gw: GatewayDep, who: Caller) -> Response:
    rows = await gw.webhooks.all(who)
    hooks = [hook_json(r) for r in rows if r["format"] == FORMAT]
    return json_reply({"success": True, "hooks": hooks})


async def _unsubscribe(gw: GatewayDep, who: Caller, params: Params) -> Response:
    raw = params.text("id") or ""
    if not raw.isdigit() or len(raw) > 18:
        return _failure("invalid_id", "Give the `id` of the hook to delete.")
    rows = {r["id"]: r for r in await gw.webhooks.all(who)}
    row = rows.get(int(raw))
    if row is None or row["format"] != FORMAT:
        return _failure("not_found", f"No hook {raw}.")
    await gw.webhooks.delete(who, int(raw))
    return json_reply({"success": True})


@router.get("/hooks", summary="List webhooks (seven.io)")
@router.post("/hooks", summary="Subscribe a webhook (seven.io)")
@router.delete("/hooks", summary="Unsubscribe a webhook (seven.io)")
async def hooks(request: Request, gw: GatewayDep) -> Response:
    params = await params_of(request)
    who = await caller(request, params, scopes.WEBHOOKS_WRITE)
    action = (params.text("action") or "").lower()
    if not action:
        action = {"GET": "read", "POST": "subscribe", "DELETE": "unsubscribe"}[request.method]
    if action == "subscribe":
        return await _subscribe(gw, who, params)
    if action == "unsubscribe":
        return await _unsubscribe(gw, who, params)
    if action == "read":
        return await _read(gw, who)
    return _failure("invalid_action", "`action` is read, subscribe or unsubscribe.")
