"""The Smstools webhook payloads rendered from smsbridge's events."""

from __future__ import annotations

from typing import Any

import pytest

from smsbridge.compat.smstools.webhook import render


def _data(status: str, error: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "message_id": "378550493028610", "recipient_id": "378550493028611",
        "to": "+32470123456", "status": status, "error": error, "foreign_id": "order-7",
        "label": None, "campaign_id": None, "channel": "simulator", "parts": 1, "test": False,
        "at": "2030-01-01T12:00:05.123Z",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("event", "error", "code", "status", "detail"),
    [
        ("message.sent", None, "0", "SUBMITTED", None),
        ("message.delivered", None, "1", "DELIVERED", None),
        ("message.failed", {"code": "x", "message": "gone", "reason": "undeliverable"},
         "2", "NOT DELIVERED", None),
        ("message.failed", {"code": "001", "message": "unknown subscriber",
                            "reason": "invalid_number"}, "5", "REJECTED", "10"),
        ("message.failed", {"code": "027", "message": "absent", "reason": "unreachable"},
         "2", "NOT DELIVERED", "11"),
        ("message.failed", {"code": "opted_out", "message": "opted out", "reason": "rejected"},
         "4", "REJECTED", None),
        ("message.expired", {"code": "ttl_expired", "message": "ttl", "reason": "expired"},
         "2", "NOT DELIVERED", None),
    ],
)  # fmt: skip
def test_delivery_reports(
    event: str, error: dict[str, Any] | None, code: str, status: str, detail: str | None
) -> None:
    body = render(event, _data(event.split(".")[1], error))
    assert body is not None
    assert body["webhook_type"] == "delivery_report"
    assert body["webhook_id"] == f"378550493028611-{code}"
    message = body["message"]
    assert message["messageid"] == "378550493028610"
    assert message["datetime"] == "2030-01-01 12:00:05"
    assert message["receiver"] == "32470123456" and message["reference"] == "order-7"
    assert (message["delivery_code"], message["delivery_status"]) == (code, status)
    assert message["delivery_code_detail"] == detail
    if error:
        assert message["delivery_code_detail_description"] == error["message"]
    else:
        assert message["delivery_code_detail_description"] is None
    # Every value is a string or null, as the SDK's model reads them.
    for value in (body["webhook_id"], body["webhook_type"], *message.values()):
        assert value is None or isinstance(value, str)


def test_inbound_message() -> None:
    body = render(
        "message.inbound",
        {"inbound_id": "42", "from": "+32470111222", "to": "+32470000000", "text": "Hello",
         "parts": 1, "incomplete": False, "channel": "simulator", "device": None, "sim": None,
         "received_at": "2030-01-01T12:00:00.000Z", "reply_to": None, "keyword": None},
    )  # fmt: skip
    assert body == {
        "webhook_id": "in-42",
        "webhook_type": "inbox_message",
        "username": None,
        "message": {
            "messageid": "42", "datetime": "2030-01-01 12:00:00", "content": "Hello",
            "sender": "32470111222", "receiver": "32470000000", "reference": None,
            "delivery_code": None, "delivery_status": None, "delivery_code_detail": None,
            "delivery_code_detail_description": None,
        },
    }  # fmt: skip


@pytest.mark.parametrize("event", ["message.queued", "message.cancelled", "campaign.progress"])
def test_events_without_a_smstools_webhook(event: str) -> None:
    assert render(event, _data("queued")) is None


def test_odd_times_render_as_null() -> None:
    data = _data("sent")
    data["at"] = "not a time"
    body = render("message.sent", data)
    assert body is not None and body["message"]["datetime"] is None
