"""smsbridge's events as SmsGateway24's webhook payloads (smsgateway24.com/en/docs/webhook).

* a status change of an outgoing SMS: ``{"sms_id", "status_id", "status_message", "sendto",
  "senttime", "channel_id", "device_id"}``;
* an incoming SMS: ``{"address", "date", "date_sent", "body", "internal_id", "channel_id",
  "sms_id", "device_id", "device_name", "type": "text"}``.

``sms_id`` is the recipient's id, as addsms returns it (the inbound SMS's id for incoming
ones); ``status_id`` a code of :mod:`smsbridge.compat.smsgateway24.status`; ``device_id`` the
number :mod:`smsbridge.compat.smsgateway24.devices` gives the phone or channel (null when the
event does not say which phone); ``channel_id`` the 0-based SIM slot when known, else 0 (SMS);
times are ``Y-m-d H:i:s`` in UTC. ``message.queued`` has no SmsGateway24 payload (the hosted
service only reports what the phone does), nor have campaign and device events.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from smsbridge.compat.smsgateway24 import status
from smsbridge.compat.smsgateway24.devices import PHONE_CHANNEL, number_of

_STATUS_EVENTS = {
    "message.sent",
    "message.delivered",
    "message.failed",
    "message.expired",
    "message.cancelled",
}


def _time(value: Any) -> str | None:
    """An ISO 8601 time (as events carry them) as ``Y-m-d H:i:s`` in UTC."""
    if not isinstance(value, str) or not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def render(event_type: str, data: dict[str, Any]) -> dict[str, Any] | None:
    if event_type in _STATUS_EVENTS:
        error = data.get("error") or {}
        code = status.code_of(str(data.get("status")), error.get("code"))
        return {
            "sms_id": _int(data.get("recipient_id")),
            "status_id": code,
            "status_message": status.title(code),
            "sendto": data.get("to"),
            "senttime": _time(data.get("at")),
            "channel_id": 0,
            "device_id": number_of(data.get("channel"), data.get("device")),
        }
    if event_type == "message.inbound":
        received = _time(data.get("received_at"))
        sim = data.get("sim")
        channel = data.get("channel")
        device = data.get("device")
        inbound_id = _int(data.get("inbound_id"))
        return {
            "address": data.get("from"),
            "date": received,
            "date_sent": received,
            "body": data.get("text"),
            "internal_id": inbound_id,
            "channel_id": sim - 1 if isinstance(sim, int) and sim > 0 else 0,
            "sms_id": inbound_id,
            "device_id": number_of(channel, device),
            "device_name": device if channel == PHONE_CHANNEL else f"smsbridge {channel}",
            "type": "text",
        }
    return None
