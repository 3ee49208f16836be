"""What smsbridge POSTs (as JSON) to a messaggisms message's ``options.callback_url``.

The seed documentation names ``callback_url`` (and the SDKs ``callback_field``) but does not
describe the callback's body. So it mirrors the recipient object of
``GET /messages/{id}/recipients/{number}``, which a client of this API already parses: the
recipient's ``state`` (``DELIVERED``, ``UNDELIVERABLE``, ...), ``state_description``,
``state_detail``, the ``report`` with status and error, and the send and delivery times, for
each status change of one recipient. What an event does not carry is left out (``send_id``
and ``i``: the recipient's position; ``body``; ``price``).

Only changes after acceptance are sent (sent, delivered, failed, expired, cancelled);
messaggisms has no callback for a message being queued, nor for inbound SMS.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from smsbridge.compat.messaggisms import formats

_EVENTS = {
    "message.sent": "sent",
    "message.delivered": "delivered",
    "message.failed": "failed",
    "message.expired": "expired",
    "message.cancelled": "cancelled",
}
_DONE = frozenset({"delivered", "failed", "expired"})


def _us(at: Any) -> int | None:
    if not isinstance(at, str):
        return None
    try:
        return int(datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp() * 1_000_000)
    except ValueError:
        return None


def _hex(value: Any) -> str | None:
    try:
        return formats.hex_id(int(value))
    except (TypeError, ValueError):
        return None


def render(event_type: str, data: dict[str, Any]) -> dict[str, Any] | None:
    status = _EVENTS.get(event_type)
    if status is None:
        return None
    error = data.get("error") or {}
    code = error.get("code")
    state = formats.state_of(data.get("status") or status, code)
    prefix, number = formats.split_number(str(data.get("to") or ""))
    at = _us(data.get("at"))
    detail = error.get("message") or state.detail
    return {
        "id": _hex(data.get("recipient_id")),
        "message_id": _hex(data.get("message_id")),
        "number": number,
        "prefix": prefix,
        "state": state.state,
        "state_description": state.name,
        "state_detail": detail,
        "sms": data.get("parts"),
        "test": bool(data.get("test")),
        "timestamp": formats.ms(at),
        "timestamp_sent": formats.mongo_date(at) if status == "sent" else None,
        "timestamp_delivery": formats.mongo_date(at) if status in _DONE else None,
        "report": {
            "status": {
                "id": state.id,
                "groupId": state.group_id,
                "groupName": state.state,
                "name": state.name,
                "description": state.detail,
            },
            "error": formats.error_object(status, code, error.get("message")),
            "doneAt": data.get("at") if status in _DONE else None,
            "sentAt": data.get("at") if status == "sent" else None,
            "smsCount": data.get("parts"),
            "to": str(data.get("to") or "").lstrip("+"),
        },
    }
