"""What the SMSGate app is and how it writes: names, states, failure texts, dates, JSON,
ids and webhook signatures."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Literal

APP_ID = "me.capcom.smsgateway"
APP_VERSION = "1.66.1"
# The SSE stream is opened with a bare OkHttpClient (SSEManager), hence OkHttp's own agent.
OKHTTP_USER_AGENT = "okhttp/4.12.0"

PENDING = "Pending"
CANCELLING = "Cancelling"
CANCELLED = "Cancelled"
PROCESSED = "Processed"
SENT = "Sent"
DELIVERED = "Delivered"
FAILED = "Failed"

TTL_EXPIRED = "TTL expired"
SEND_FAILURE = "Send result: RESULT_ERROR_GENERIC_FAILURE (Generic failure cause)"
DELIVERY_FAILURE = "Delivery result from SC +10000000000: 64"

# SSE event types the app knows (ExternalEventType); anything else is logged and dropped.
EXTERNAL_EVENTS = frozenset(
    {
        "MessageEnqueued",
        "WebhooksUpdated",
        "SettingsUpdated",
        "MessageCancelled",
        "MessagesExportRequested",
    }
)

_NANOID_ALPHABET = "_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
LIMIT_PERIODS = {"PerMinute": 60, "Per30Minutes": 1800, "PerHour": 3600, "PerDay": 86400}
PRIORITY_EXPEDITED = 100
WEBHOOK_EVENTS = {
    SENT: "sms:sent",
    DELIVERED: "sms:delivered",
    FAILED: "sms:failed",
    CANCELLED: "sms:cancelled",
}

OutcomeResult = Literal["delivered", "sent", "failed", "undelivered", "error"]


class FakeDeviceError(Exception):
    """Base class of the fake's own errors."""


class DeviceOffline(FakeDeviceError):
    """The device has no data connection (after :meth:`FakeDevice.go_offline`)."""


class DeviceClosed(FakeDeviceError):
    """The device was closed."""


class ApiError(FakeDeviceError):
    """A non-2xx answer: the app's Ktor client runs with ``expectSuccess = true``."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path} answered {status}: {body[:200]}")
        self.method = method
        self.path = path
        self.status = status
        self.body = body


def nanoid(size: int = 21) -> str:
    """A jnanoid-style random id (default alphabet and length)."""
    return "".join(secrets.choice(_NANOID_ALPHABET) for _ in range(size))


def redact(value: str | None) -> str | None:
    """GatewayService.redact: keep the last 4 characters, star the rest (length kept)."""
    if value is None:
        return None
    if len(value) > 4:
        return "*" * (len(value) - 4) + value[-4:]
    return "****"


def format_date(moment: datetime, tz: tzinfo = UTC) -> str:
    """Gson's ``yyyy-MM-dd'T'HH:mm:ss.SSSXXX`` in ``tz`` (``Z`` for a zero offset)."""
    local = moment.astimezone(tz)
    text = local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}"
    offset = local.utcoffset() or timedelta(0)
    if not offset:
        return text + "Z"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{text}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def parse_date(value: Any) -> datetime | None:
    """Parse an RFC 3339 date from the server; ``ValueError`` when it is not one.

    Gson fails the whole response on an unparseable date, and so does the fake.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"not a date: {value!r}")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _strip_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_nulls(v) for v in value]
    return value


def gson_dumps(value: Any, *, serialize_nulls: bool = False) -> str:
    """JSON as the app's Gson writes it: compact, nulls dropped, no HTML escaping."""
    if not serialize_nulls:
        value = _strip_nulls(value)
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def sign_webhook(key: str, body: bytes, timestamp: str) -> str:
    """PayloadSingingPlugin: hex HMAC-SHA256(key, body text + timestamp)."""
    return hmac.new(key.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


def _java_string_hash(text: str) -> int:
    h = 0
    data = text.encode("utf-16-be", "surrogatepass")
    for i in range(0, len(data), 2):
        h = (31 * h + ((data[i] << 8) | data[i + 1])) & 0xFFFFFFFF
    return h


def inbox_message_id(address: str, date: datetime, text: str, subscription_id: int | None) -> str:
    """``message.hashCode().toUInt().toString(16)`` of the app's InboxMessage.Text.

    Content-derived and not unique, as the app's documentation warns.
    """
    millis = int(date.timestamp() * 1000)
    h = 0
    for part in (
        _java_string_hash(address),
        (millis ^ (millis >> 32)) & 0xFFFFFFFF,
        _java_string_hash(text),
        (subscription_id or 0) & 0xFFFFFFFF,
    ):
        h = (31 * h + part) & 0xFFFFFFFF
    return format(h, "x")


def parts_count(text: str) -> int:
    try:
        from smsbridge.core.encoding import count_parts

        return max(1, count_parts(text)[2])
    except Exception:  # texts the encoder refuses still go out as one part or more
        return max(1, -(-len(text) // 67))


def utc_now() -> datetime:
    return datetime.now(UTC)
