"""Our events as seven.io's webhook payloads: ``dlr``, ``sms_mo`` and ``tracking``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from smsbridge.compat.seven.codes import STATUS

_DLR = {"message.sent", "message.delivered", "message.failed", "message.expired",
        "message.cancelled"}  # fmt: skip


def _moment(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def render(event_type: str, data: dict[str, Any]) -> dict[str, Any] | None:
    if event_type in _DLR:
        at = _moment(data.get("at"))
        return {
            "webhook_event": "dlr",
            "webhook_timestamp": at.isoformat(timespec="seconds"),
            "data": {
                "msg_id": data["recipient_id"],
                "status": STATUS.get(data["status"], "UNKNOWN"),
                "timestamp": at.strftime("%Y-%m-%d %H:%M:%S.%f"),
                "foreign_id": data.get("foreign_id"),
                "label": data.get("label"),
            },
        }
    if event_type == "message.inbound":
        at = _moment(data.get("received_at"))
        return {
            "webhook_event": "sms_mo",
            "webhook_timestamp": at.strftime("%Y-%m-%d %H:%M:%S"),
            "data": {
                "id": data["inbound_id"],
                "sender": (data.get("from") or "").lstrip("+"),
                "system": (data.get("to") or "").lstrip("+"),
                "text": data.get("text"),
                "time": str(int(at.timestamp())),
                "message_type": "SMS",
            },
        }
    if event_type == "link.clicked":
        return {
            "webhook_event": "tracking",
            "webhook_timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
            "data": {
                "final_url": data.get("url"),
                "sms_id": data.get("recipient_id") or data.get("message_id"),
                "sms_label": data.get("label"),
                "total_clicks": data.get("clicks"),
                "total_views": data.get("clicks"),
                "tracking_url": data.get("tracking_url"),
                "type": "click",
            },
        }
    return None
