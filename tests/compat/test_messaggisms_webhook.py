"""The messaggisms callback payload (``options.callback_url``) and the id and number forms."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from smsbridge.compat.messaggisms import formats, webhook
from smsbridge.services.events import _message_data

AT = 1_700_000_000_123_456  # unix microseconds


def event_data(status: str, **row: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "message_id": 5,
        "recipient_id": 6,
        "to_number": "+393471234567",
        "account_id": 1,
        "parts": 2,
        "test": False,
        "channel": "simulator",
    }
    base.update(row)
    return _message_data(base, status, AT)


def test_delivered() -> None:
    payload = webhook.render("message.delivered", event_data("delivered"))
    assert payload is not None
    orjson.dumps(payload)  # JSON-serialisable
    assert payload["id"] == "000000000000000000000006"
    assert payload["message_id"] == "000000000000000000000005"
    assert payload["number"] == "+39-3471234567" and payload["prefix"] == "+39"
    assert payload["state"] == "DELIVERED"
    assert payload["state_description"] == "DELIVERED_TO_HANDSET"
    assert payload["state_detail"] == "Message delivered to handset"
    assert payload["sms"] == 2 and payload["test"] is False
    assert payload["timestamp"] == "1700000000123"
    assert payload["timestamp_delivery"] == {"$date": {"$numberLong": "1700000000123"}}
    assert payload["timestamp_sent"] is None
    report = payload["report"]
    assert report["status"]["groupName"] == "DELIVERED" and report["status"]["id"] == 5
    assert report["error"]["name"] == "NO_ERROR"
    assert report["to"] == "393471234567" and report["smsCount"] == 2
    assert report["doneAt"] == "2023-11-14T22:13:20.123Z" and report["sentAt"] is None


def test_sent_failed_expired_cancelled() -> None:
    sent = webhook.render("message.sent", event_data("sent"))
    assert sent is not None and sent["state"] == "PENDING"
    assert sent["state_description"] == "PENDING_WAITING_DELIVERY"
    assert sent["timestamp_sent"] == {"$date": {"$numberLong": "1700000000123"}}
    failed = webhook.render(
        "message.failed",
        event_data("failed", error_code="absent_subscriber", error_message="Handset off"),
    )
    assert failed is not None and failed["state"] == "UNDELIVERABLE"
    assert failed["state_detail"] == "Handset off"
    assert failed["report"]["error"]["name"] == "ABSENT_SUBSCRIBER"
    assert failed["report"]["error"]["permanent"] is True
    expired = webhook.render("message.expired", event_data("expired", error_code="ttl"))
    assert expired is not None and expired["state"] == "EXPIRED"
    cancelled = webhook.render("message.cancelled", event_data("cancelled"))
    assert cancelled is not None and cancelled["state"] == "CANCELLED"


@pytest.mark.parametrize(
    "event", ["message.queued", "message.inbound", "campaign.progress", "device.online", "x"]
)
def test_events_messaggisms_has_no_callback_for(event: str) -> None:
    assert webhook.render(event, event_data("queued")) is None


def test_odd_data_does_not_break_rendering() -> None:
    payload = webhook.render("message.delivered", {"status": "delivered"})
    assert payload is not None
    assert payload["id"] is None and payload["number"] == "" and payload["timestamp"] is None


def test_ids_round_trip() -> None:
    for value in (1, 5, 2**40 + 7, 2**63 - 1):
        text = formats.hex_id(value)
        assert len(text) == 24 and formats.parse_id(text) == value
    assert formats.parse_id("5cf7cc139f272546624d3795") is None  # beyond our ids: unknown
    assert formats.parse_id("000000000000000000000000") is None
    assert formats.parse_id("00000000000000000000000g") is None
    assert formats.parse_id("123") is None
    assert formats.parse_id("00000000000000000000000A") == 10


def test_numbers_as_the_api_writes_them() -> None:
    assert formats.split_number("+393471234567") == ("+39", "+39-3471234567")
    assert formats.split_number("+4917612345678") == ("+49", "+49-17612345678")
    assert formats.split_number("+12025550123") == ("+1", "+1-2025550123")
    assert formats.split_number("garbage") == ("", "garbage")


def test_message_state() -> None:
    assert formats.message_state(True, ["draft"]) == 0
    assert formats.message_state(False, ["queued", "delivered"]) == 1
    assert formats.message_state(False, ["sending"]) == 1
    assert formats.message_state(False, ["delivered", "failed", "rejected"]) == 2
    assert formats.message_state(False, ["cancelled", "rejected"]) == 3
    assert formats.message_state(False, ["cancelled", "delivered"]) == 2
