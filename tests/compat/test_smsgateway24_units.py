"""SmsGateway24 pieces without a server: status codes and the queries behind the status filter,
device numbers, PHP dates and time zones, webhook payloads."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from smsbridge.compat.smsgateway24 import status
from smsbridge.compat.smsgateway24.devices import (
    VIRTUAL_IDS,
    all_devices,
    channel_number_id,
    find,
    number_of,
    phone_number_id,
)
from smsbridge.compat.smsgateway24.formats import end_of, parse_time, zone
from smsbridge.compat.smsgateway24.webhook import render
from smsbridge.core.errors import ValidationFailed
from smsbridge.core.message import Status


@pytest.mark.parametrize(
    ("state", "error_code", "phone_state", "code"),
    [
        ("queued", None, None, 1),
        ("scheduled", None, None, 1),
        ("draft", None, None, 1),
        ("sending", None, None, 2),
        ("sending", None, "Processed", 2),
        ("sending", None, "Pending", 3),
        ("sent", None, "Sent", 6),
        ("delivered", None, "Delivered", 7),
        ("failed", None, None, 8),
        ("failed", "simulated_undeliverable", None, 8),
        ("failed", "RESULT_ERROR_GENERIC_FAILURE", "Failed", 9),
        ("failed", "RESULT_ERROR_NO_SERVICE", "Failed", 10),
        ("failed", "RESULT_ERROR_NULL_PDU", "Failed", 11),
        ("failed", "RESULT_ERROR_RADIO_OFF", "Failed", 12),
        ("failed", "RESULT_ERROR_SHORT_CODE_NOT_ALLOWED", "Failed", 100),
        ("failed", "RESULT_ERROR_SHORT_CODE_NEVER_ALLOWED", "Failed", 101),
        ("expired", "ttl_expired", None, 8),
        ("cancelled", None, None, 9),
        ("rejected", "opted_out", None, 9),
    ],
)
def test_status_codes(state: str, error_code: str | None, phone_state: str | None,
                      code: int) -> None:  # fmt: skip
    assert status.code_of(state, error_code, phone_state) == code
    assert status.title(code)


def _matches(q: status.StateQuery, state: str, error: str | None, pending: bool) -> bool:
    return (
        state in q.states
        and (q.error_codes is None or error in q.error_codes)
        and (q.other_error_codes is None or error is None or error not in q.other_error_codes)
        and (q.phone_pending is None or q.phone_pending == pending)
    )


def test_the_status_filter_selects_exactly_the_rows_of_that_code() -> None:
    """For every state, error code and phone state, the filter of the row's own code matches
    it, once, and no other code's filter does."""
    errors = [None, "expired", "simulated_failure", *status.BY_ERROR]
    for state, error, phone in itertools.product(
        [s.value for s in Status], errors, [None, "Pending", "Processed"]
    ):
        code = status.code_of(state, error, phone)
        pending = phone == "Pending"
        for candidate in status.CODES:
            hits = sum(_matches(q, state, error, pending) for q in status.query_of(candidate))
            assert hits == (1 if candidate == code else 0), (state, error, phone, candidate)
    assert status.query_of(status.INCOMING) == ()


def test_device_numbers_are_stable_and_phones_and_channels_never_collide() -> None:
    assert VIRTUAL_IDS["simulator"] == channel_number_id("simulator") == 53
    assert all(1 <= n <= 999 for n in VIRTUAL_IDS.values())
    assert "android" not in VIRTUAL_IDS
    ids = {phone_number_id(f"phone-{i}") for i in range(2000)}
    assert len(ids) == 2000 and min(ids) >= 1000 and max(ids) < 2**31
    assert phone_number_id("abc") == phone_number_id("abc")
    phones = [{"id": "Xy_1"}, {"id": "Zz-2"}]
    listed = all_devices(phones)
    assert [d.channel for d in listed] == ["android", "android", "simulator"]
    assert find(phones, str(phone_number_id("Zz-2"))).phone_id == "Zz-2"
    assert find(phones, "Xy_1").number == phone_number_id("Xy_1")
    assert find(phones, " 53 ").channel == "simulator"
    with pytest.raises(ValidationFailed) as info:
        find(phones, "12345")
    assert info.value.code == "device_not_found"
    assert number_of("simulator", None) == 53
    assert number_of("android", "Xy_1") == number_of(None, "Xy_1") == phone_number_id("Xy_1")
    assert number_of("android", None) is None and number_of(None, None) is None


def test_php_dates_in_the_asked_time_zone() -> None:
    us = int(datetime(2024, 7, 1, 10, 30, 5, 123456, tzinfo=UTC).timestamp() * 1_000_000)
    assert zone(None).php(us) == {
        "date": "2024-07-01 10:30:05.123456", "timezone_type": 1, "timezone": "+00:00"
    }  # fmt: skip
    assert zone("Europe/Berlin").php(us) == {
        "date": "2024-07-01 12:30:05.123456", "timezone_type": 3, "timezone": "Europe/Berlin"
    }  # fmt: skip
    assert zone("+05:30").php(us) == {
        "date": "2024-07-01 16:00:05.123456", "timezone_type": 1, "timezone": "+05:30"
    }  # fmt: skip
    assert zone("-3").php(us)["timezone"] == "-03:00"  # type: ignore[index]
    assert zone("", "Asia/Tokyo").php(us)["timezone"] == "Asia/Tokyo"  # type: ignore[index]
    assert zone("UTC", "Asia/Tokyo").php(us)["timezone"] == "+00:00"  # type: ignore[index]
    assert zone(None).php(None) is None
    assert zone("Europe/Berlin").human(us) == "01.07.2024 12:30:05"
    for bad in ("Mars/Olympus", "+15:00", "12:345"):
        with pytest.raises(ValidationFailed):
            zone(bad)


def test_date_inputs() -> None:
    berlin = zone("Europe/Berlin").tz
    at = parse_time("2024-12-22 04:07:04", berlin, "timetosend")
    assert at.astimezone(UTC) == datetime(2024, 12, 22, 3, 7, 4, tzinfo=UTC)
    assert parse_time("22.12.2024 04:07:04", UTC, "x") == datetime(2024, 12, 22, 4, 7, 4,
                                                                   tzinfo=UTC)  # fmt: skip
    assert parse_time("2024-12-22", UTC, "x") == datetime(2024, 12, 22, tzinfo=UTC)
    assert parse_time("1700000000", berlin, "x") == datetime.fromtimestamp(1700000000, UTC)
    assert end_of("2024-12-22", UTC, "x") - parse_time("2024-12-22", UTC, "x") == timedelta(days=1)
    assert end_of("2024-12-22 10:00:00", UTC, "x") == datetime(2024, 12, 22, 10, 0, 1, tzinfo=UTC)
    with pytest.raises(ValidationFailed) as info:
        parse_time("next week", UTC, "timetosend")
    assert info.value.code == "invalid_date" and "timetosend" in info.value.message


def _message(status_: str, **extra: object) -> dict[str, object]:
    data: dict[str, object] = {
        "message_id": "378539807355136", "recipient_id": "378539807355137",
        "to": "+4915752982212", "status": status_, "error": None, "foreign_id": "777",
        "label": None, "campaign_id": None, "channel": "simulator", "parts": 1, "test": False,
        "at": "2026-11-22T08:00:00.123Z",
    }  # fmt: skip
    data.update(extra)
    return data


def test_webhook_delivery_status_payloads() -> None:
    assert render("message.delivered", _message("delivered")) == {
        "sms_id": 378539807355137,
        "status_id": 7,
        "status_message": "delivered",
        "sendto": "+4915752982212",
        "senttime": "2026-11-22 08:00:00",
        "channel_id": 0,
        "device_id": 53,
    }
    assert render("message.sent", _message("sent"))["status_id"] == 6  # type: ignore[index]
    failed = _message(
        "failed", channel="android", device="Xy_1",
        error={"code": "RESULT_ERROR_RADIO_OFF", "message": "radio off", "reason": "unreachable"},
    )  # fmt: skip
    payload = render("message.failed", failed)
    assert payload is not None
    assert payload["status_id"] == 12 and payload["status_message"] == "radio off"
    assert payload["device_id"] == phone_number_id("Xy_1")
    assert render("message.failed", _message("failed", channel="android"))["device_id"] is None  # type: ignore[index]
    assert render("message.expired", _message("expired"))["status_id"] == 8  # type: ignore[index]
    assert render("message.cancelled", _message("cancelled"))["status_id"] == 9  # type: ignore[index]
    assert render("message.queued", _message("queued")) is None
    for other in ("campaign.progress", "campaign.completed", "device.offline", "webhook.test"):
        assert render(other, {}) is None


def test_webhook_incoming_payloads() -> None:
    data = {
        "inbound_id": "42", "from": "+4917612345602", "to": "+15555550100",
        "text": "Open on Sunday?", "parts": 1, "incomplete": False, "channel": "android",
        "device": "Xy_1", "sim": 2, "received_at": "2026-11-22T08:00:00.000Z",
        "reply_to": None, "keyword": None,
    }  # fmt: skip
    assert render("message.inbound", data) == {
        "address": "+4917612345602",
        "date": "2026-11-22 08:00:00",
        "date_sent": "2026-11-22 08:00:00",
        "body": "Open on Sunday?",
        "internal_id": 42,
        "channel_id": 1,
        "sms_id": 42,
        "device_id": phone_number_id("Xy_1"),
        "device_name": "Xy_1",
        "type": "text",
    }
    simulated = render("message.inbound", {**data, "channel": "simulator", "device": None,
                                           "sim": None})  # fmt: skip
    assert simulated is not None
    assert simulated["device_id"] == 53 and simulated["device_name"] == "smsbridge simulator"
    assert simulated["channel_id"] == 0
