"""JSON shapes of the SMSGate APIs (field names exactly as the app and client-go use them)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from smsbridge.core.errors import ValidationFailed
from smsbridge.core.timefmt import iso
from smsbridge.services.device_messages import MessageView

HIGH_PRIORITY = 100  # the app's PriorityBypassThreshold: skips its delays and limits


async def read_json(request: Request, kind: type = dict) -> Any:
    """The request's JSON body, which must be a ``kind`` (object or array)."""
    raw = await request.body()
    try:
        body = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        raise ValidationFailed("The body is not valid JSON.", code="invalid_json") from None
    if not isinstance(body, kind):
        raise ValidationFailed(f"Expected a JSON {kind.__name__}.", code="invalid_body")
    return body


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


def device_json(device: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": device["id"],
        "name": device["name"],
        "createdAt": iso(device["created_at"]),
        "updatedAt": iso(device["updated_at"]),
        "deletedAt": iso(device.get("deleted_at")),
        "lastSeen": iso(device["last_seen"]),
        "simCards": device["sims"],
    }


def mobile_message(row: dict[str, Any]) -> dict[str, Any]:
    """A queue row as ``GET /message`` hands it to the phone (always with validUntil, which
    the app honours; it ignores ttl)."""
    options = orjson.loads(row["device_options"]) if row["device_options"] else {}
    out: dict[str, Any] = {"id": str(row["id"])}
    port = options.get("data_port")
    if port is not None:
        out["dataMessage"] = {"data": row["text"], "port": port}
    else:
        out["message"] = row["text"]
        out["textMessage"] = {"text": row["text"]}
    priority = options.get("priority")
    if not isinstance(priority, int):
        priority = HIGH_PRIORITY if row["priority"] else 0
    out.update(
        phoneNumbers=[row["to_number"]],
        simNumber=row["sim"],
        withDeliveryReport=bool(options.get("report", True)),
        isEncrypted=bool(options.get("encrypted", False)),
        priority=priority,
        ttl=None,
        validUntil=iso(row["valid_until"]),
        scheduleAt=None,
        state=row["state"],
        createdAt=iso(row["created_at"]),
    )
    return out


def message_state(view: MessageView, *, content: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": view.id,
        "deviceId": view.device_id,
        "state": view.state,
        "isHashed": False,
        "isEncrypted": view.is_encrypted,
        "recipients": [
            {"phoneNumber": r.phone_number, "state": r.state, "error": r.error}
            for r in view.recipients
        ],
        "states": {state: iso(at) for state, at in sorted(view.states.items(), key=lambda x: x[1])},
        "createdAt": iso(view.created_at),
    }
    if content:
        port = view.options.get("data_port")
        if port is not None:
            out["dataMessage"] = {"data": view.text, "port": port}
        else:
            out["textMessage"] = {"text": view.text}
    return out
