"""What smsbridge POSTs (as JSON) to a webhook in the Smstools format.

Smstools documents its webhook types (``delivery_report`` after each sent message, first
``SUBMITTED`` then ``DELIVERED`` or ``NOT DELIVERED``; ``inbox_message`` for received SMS) and its
delivery codes (0 SUBMITTED, 1 DELIVERED, 2 NOT DELIVERED, 3 BUFFERED, 4 REJECTED, 5 REJECTED
with a detail code such as 10 "receiver number is invalid or unknown" or 11 "temporarily outside
the range of the network", 9 UNKNOWN) on smstools.com/en/webhooks. The payload's fields are
those of its SDK's ``GetWebhook200ResponseInner`` model (``GET /v1/webhook/{id}``):
``{webhook_id, webhook_type, username, message: {messageid, datetime, content, sender,
receiver, reference, delivery_code, delivery_status, delivery_code_detail,
delivery_code_detail_description}}``, all strings. An event does not carry the text, the sender
or the account's name, so ``content``, ``sender`` (of a report) and ``username`` are null.

Smstools has no report for a message being queued or cancelled: those render as None.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

_REPORTS = {
    "message.sent": ("0", "SUBMITTED"),
    "message.delivered": ("1", "DELIVERED"),
    "message.failed": ("2", "NOT DELIVERED"),
    "message.expired": ("2", "NOT DELIVERED"),
}
# Why a message failed (core/reasons.py) -> (code, status, detail code, detail).
_FAILURES: dict[str, tuple[str, str, str | None, str | None]] = {
    "invalid_number": ("5", "REJECTED", "10", "Receiver number is invalid or unknown"),
    "unreachable": (
        "2", "NOT DELIVERED", "11", "Receiver is temporarily outside the range of the network",
    ),
    "blocked": ("4", "REJECTED", None, None),
    "rejected": ("4", "REJECTED", None, None),
}  # fmt: skip


def when(at: Any) -> str | None:
    """ISO 8601 as ``yyyy-MM-dd HH:mm:ss`` (UTC)."""
    if not isinstance(at, str):
        return None
    try:
        moment = datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _digits(number: Any) -> str | None:
    return str(number).lstrip("+") if number else None


def render(event_type: str, data: dict[str, Any]) -> dict[str, Any] | None:
    if event_type == "message.inbound":
        inbound_id = data.get("inbound_id")
        return {
            "webhook_id": f"in-{inbound_id}",
            "webhook_type": "inbox_message",
            "username": None,
            "message": {
                "messageid": None if inbound_id is None else str(inbound_id),
                "datetime": when(data.get("received_at")),
                "content": data.get("text"),
                "sender": _digits(data.get("from")),
                "receiver": _digits(data.get("to")),
                "reference": None,
                "delivery_code": None,
                "delivery_status": None,
                "delivery_code_detail": None,
                "delivery_code_detail_description": None,
            },
        }
    report = _REPORTS.get(event_type)
    if report is None:
        return None
    code, status = report
    detail: str | None = None
    description: str | None = None
    error = data.get("error") or {}
    if event_type in ("message.failed", "message.expired"):
        reason = str(error.get("reason") or "")
        if event_type == "message.failed" and reason in _FAILURES:
            code, status, detail, description = _FAILURES[reason]
        description = (
            error.get("message")
            or description
            or ("expired" if event_type == "message.expired" else None)
        )
    message_id = data.get("message_id")
    recipient_id = data.get("recipient_id")
    return {
        "webhook_id": f"{recipient_id}-{code}",
        "webhook_type": "delivery_report",
        "username": None,
        "message": {
            "messageid": None if message_id is None else str(message_id),
            "datetime": when(data.get("at")),
            "content": None,
            "sender": None,
            "receiver": _digits(data.get("to")),
            "reference": data.get("foreign_id"),
            "delivery_code": code,
            "delivery_status": status,
            "delivery_code_detail": detail,
            "delivery_code_detail_description": description,
        },
    }
