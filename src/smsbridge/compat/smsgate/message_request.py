"""An SMSGate ``Message`` (the integrator's send request) checked and turned into the core's
:class:`SendRequest`; errors name the SMSGate fields."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from smsbridge.compat.smsgate.formats import HIGH_PRIORITY
from smsbridge.core.errors import ValidationFailed
from smsbridge.core.message import Priority
from smsbridge.core.numbers import InvalidNumber, normalize
from smsbridge.services.caller import Caller
from smsbridge.services.message_plan import SendRequest

MAX_TTL_S = 30 * 24 * 3600  # the longest validity smsbridge keeps a message (as its own API)


def parse_rfc3339(value: Any, field: str) -> datetime:
    if not isinstance(value, str):
        raise ValidationFailed(f"{field} must be an RFC 3339 time.", code="invalid_time")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"{field} must be an RFC 3339 time.", code="invalid_time") from None
    if parsed.tzinfo is None:
        raise ValidationFailed(f"{field} needs a time zone.", code="invalid_time")
    return parsed


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def send_request(body: dict[str, Any], caller: Caller, skip_validation: bool) -> SendRequest:
    numbers = body.get("phoneNumbers")
    if not isinstance(numbers, list) or not 1 <= len(numbers) <= 100:
        raise ValidationFailed("phoneNumbers must list 1 to 100 numbers.", code="invalid_numbers")
    if not all(isinstance(n, str) and 0 < len(n) <= 255 for n in numbers):
        raise ValidationFailed("Each phone number is a non-empty string.", code="invalid_numbers")
    if len(set(numbers)) != len(numbers):
        raise ValidationFailed("phoneNumbers must be unique.", code="invalid_numbers")
    encrypted = body.get("isEncrypted") is True
    verbatim = encrypted or skip_validation
    if not verbatim:
        for number in numbers:
            try:
                normalize(number, caller.default_region)
            except InvalidNumber as exc:
                raise ValidationFailed(f"Invalid phone number {number!r}: {exc.message}",
                                       code="invalid_number") from None  # fmt: skip
    options: dict[str, Any] = {"encrypted": encrypted}
    text_message, data_message = body.get("textMessage"), body.get("dataMessage")
    if isinstance(data_message, dict):
        data, port = data_message.get("data"), data_message.get("port")
        if not isinstance(data, str) or not data:
            raise ValidationFailed("dataMessage.data must be base64.", code="invalid_data")
        if not isinstance(port, int) or not 1 <= port <= 65535:
            raise ValidationFailed("dataMessage.port is 1 to 65535.", code="invalid_port")
        if not encrypted:
            try:
                base64.b64decode(data, validate=True)
            except binascii.Error:
                raise ValidationFailed(
                    "dataMessage.data must be base64.", code="invalid_data"
                ) from None
        text, options["data_port"] = data, port
    elif isinstance(text_message, dict) and isinstance(text_message.get("text"), str):
        text = text_message["text"]
    elif isinstance(body.get("message"), str):
        text = body["message"]
    else:
        raise ValidationFailed("No message content provided: give textMessage.text.",
                               code="missing_text")  # fmt: skip
    if not text or len(text) > 65535:
        raise ValidationFailed("The text must be 1 to 65535 characters.", code="invalid_text")
    ext_id = body.get("id")
    if ext_id is not None and (not isinstance(ext_id, str) or not 0 < len(ext_id) <= 36):
        raise ValidationFailed("id is a string of at most 36 characters.", code="invalid_id")
    device_id = body.get("deviceId")
    if device_id is not None and (not isinstance(device_id, str) or len(device_id) > 32):
        raise ValidationFailed("deviceId is a device's id.", code="invalid_device")
    sim = body.get("simNumber")
    if sim is not None and (not is_int(sim) or not 1 <= sim <= 3):
        raise ValidationFailed("simNumber is 1, 2 or 3.", code="invalid_sim")
    priority = body.get("priority", 0)
    if not is_int(priority) or not -128 <= priority <= 127:
        raise ValidationFailed("priority is -128 to 127.", code="invalid_priority")
    options["priority"] = priority
    options["report"] = body.get("withDeliveryReport", True) is not False
    ttl = body.get("ttl")
    valid_until = body.get("validUntil")
    if ttl is not None and valid_until is not None:
        raise ValidationFailed("Give ttl or validUntil, not both.", code="ttl_conflict")
    now = datetime.now().astimezone()
    if ttl is not None:
        if not is_int(ttl) or not 5 <= ttl <= MAX_TTL_S:
            raise ValidationFailed(
                f"ttl is 5 to {MAX_TTL_S} seconds (30 days).", code="invalid_ttl"
            )
    elif valid_until is not None:
        ttl = int((parse_rfc3339(valid_until, "validUntil") - now).total_seconds())
        if ttl < 1:
            raise ValidationFailed("validUntil is in the past.", code="invalid_ttl")
        if ttl > MAX_TTL_S:
            raise ValidationFailed("validUntil is at most 30 days ahead.", code="invalid_ttl")
    send_at = parse_rfc3339(body["scheduleAt"], "scheduleAt") if body.get("scheduleAt") else None
    if send_at is not None and send_at <= now:
        raise ValidationFailed("scheduleAt must be in the future.", code="invalid_schedule")
    return SendRequest(
        to=list(numbers),
        text=text,
        send_at=send_at,
        priority=Priority.HIGH if priority >= HIGH_PRIORITY else Priority.NORMAL,
        ttl=ttl,
        channel="android",
        transactional=True,  # phones send what the integrator asks; opt-outs are its business
        no_reload=True,
        device_id=device_id,
        sim=sim,
        ext_id=ext_id,
        device_options=options,
        verbatim_numbers=verbatim,
    )
