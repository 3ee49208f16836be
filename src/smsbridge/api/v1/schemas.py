"""Request and response shapes of the native API (also the OpenAPI documentation)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from smsbridge.core.message import Priority
from smsbridge.services.addressing import Target
from smsbridge.services.message_plan import SendRequest

SEND_EXAMPLE: dict[str, Any] = {
    "to": ["+4917612345678", "+436501234567"],
    "text": "Your code is 123456",
    "from": "MyShop",
    "label": "otp",
    "foreign_id": "order-42",
}


def unix_seconds(value: Any) -> Any:
    """Times may be given as unix seconds as well as ISO 8601."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError("not a valid unix time in seconds") from None
    return value


Time = Annotated[datetime, BeforeValidator(unix_seconds)]


class RecipientIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: str = Field(description="Phone number, group:NAME or a contact name")
    fields: dict[str, str] | None = Field(
        None, description="Values for this recipient's {{placeholders}}"
    )


class MessageIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, json_schema_extra={"examples": [SEND_EXAMPLE]}
    )

    to: str | list[str | RecipientIn] = Field(
        description="One number, a comma-separated list, or an array. E.164 (+4917...), "
        "00-prefixed, bare international digits (4917...) or national (017...) in the "
        "account's default region; `group:NAME` (or `group:ID`) and group or contact names "
        "address the address book; `{number, fields}` objects carry per-recipient values for "
        "the text's {{placeholders}}. Each number is sent to once."
    )
    text: str = Field(
        description="Message text; GSM 03.38 or UCS-2 is chosen automatically. "
        "{{firstname}}, {{lastname}}, {{extra1}} ... are filled per recipient from its contact "
        "and its `fields`."
    )
    sender: str | None = Field(
        None, alias="from", description="Sender id: 3-11 letters/digits or up to 16 digits."
    )
    send_at: Time | None = Field(
        None, description="When to send: ISO 8601 with a time zone, or unix seconds."
    )
    priority: Literal["normal", "high"] = "normal"
    ttl: int | None = Field(
        None, ge=1, le=30 * 24 * 3600, description="Validity in seconds (default 48 h)."
    )
    test: bool = Field(False, description="Validate, encode and price, but never send.")
    foreign_id: str | None = Field(None, max_length=64)
    label: str | None = Field(None, max_length=100)
    flash: bool = False
    encoding: Literal["auto", "gsm7", "ucs2", "binary"] = Field(
        "auto",
        description="auto: GSM 7-bit when the text allows, else UCS-2. binary: an 8-bit SMS "
        "whose `text` is its octets in hex (e.g. 0A1B2C), optionally with `udh`.",
    )
    udh: str | None = Field(
        None,
        max_length=280,
        description="Binary SMS only: your own user data header in hex, starting with its "
        "length (e.g. 0605040B8423F0 for a WAP push port); the SMS is then sent as one part.",
    )
    no_reload: bool = Field(
        False, description="Send even if the same text went to a number within the reload window"
    )
    transactional: bool = Field(
        False, description="A one-time code or similar: sent to opted-out numbers too."
    )
    draft: bool = Field(
        False,
        description="Keep as a draft: add recipients later (POST .../recipients), then close it "
        "(POST .../close) to price and queue it.",
    )
    missing_fields: Literal["error", "empty"] = Field(
        "error", description="A placeholder without a value: refuse the message, or leave it empty."
    )
    channel: str | None = Field(None, description="Send through this channel (simulator, android).")
    device_id: str | None = Field(
        None,
        max_length=32,
        description="Send from this phone (GET /api/v1/devices); implies channel android.",
    )
    sim: int | None = Field(None, ge=1, le=8, description="The phone's SIM slot, from 1.")
    callback_url: str | None = Field(
        None,
        max_length=2000,
        description="Status events of this message (message.queued ... message.delivered) are "
        "POSTed here as well, signed with the account's callback secret "
        "(GET /api/v1/webhooks/callback-secret).",
    )

    def to_request(self) -> SendRequest:
        return SendRequest(
            to=[self.to]
            if isinstance(self.to, str)
            else [t if isinstance(t, str) else Target(t.number, t.fields) for t in self.to],
            text=self.text,
            sender=self.sender,
            send_at=self.send_at,
            priority=Priority.HIGH if self.priority == "high" else Priority.NORMAL,
            ttl=self.ttl,
            test=self.test,
            foreign_id=self.foreign_id,
            label=self.label,
            flash=self.flash,
            encoding=self.encoding,
            no_reload=self.no_reload,
            transactional=self.transactional,
            draft=self.draft,
            missing_fields=self.missing_fields,
            channel=self.channel,
            callback_url=self.callback_url,
            device_id=self.device_id,
            sim=self.sim,
            udh=self.udh,
        )


def _max_length(field: str) -> int | None:
    limits = [getattr(m, "max_length", None) for m in MessageIn.model_fields[field].metadata]
    return next((limit for limit in limits if limit is not None), None)


# A batch item with only these keys, all strings within MessageIn's limits, is built without
# pydantic (bulk ingest is a hot path); MessageIn would accept it as the same request.
_PLAIN_LIMITS = {
    key: _max_length(field)
    for key, field in [("to", "to"), ("text", "text"), ("from", "sender"), ("label", "label"),
                       ("foreign_id", "foreign_id")]
}  # fmt: skip


def plain_request(item: Any) -> SendRequest | None:
    """The request for a plain batch item, or None when MessageIn must validate it."""
    if type(item) is not dict:
        return None
    for key, value in item.items():
        if type(value) is not str or key not in _PLAIN_LIMITS:
            return None
        limit = _PLAIN_LIMITS[key]
        if limit is not None and len(value) > limit:
            return None
    to = item.get("to")
    text = item.get("text")
    if to is None or text is None:
        return None
    return SendRequest(
        [to], text, item.get("from"), foreign_id=item.get("foreign_id"), label=item.get("label")
    )


class RecipientsIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"to": ["+4917612345678", "group:customers"]}]},
    )
    to: str | list[str | RecipientIn]

    def targets(self) -> list[str | Target]:
        to = self.to if isinstance(self.to, list) else [self.to]
        return [t if isinstance(t, str) else Target(t.number, t.fields) for t in to]


class RescheduleIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"send_at": "2026-12-24T09:00:00Z"}]}
    )
    send_at: Time | None = Field(description="New send time; null sends it now")


class BatchIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"messages": [SEND_EXAMPLE, {"to": "+4915112345678", "text": "Hi"}]}]
        },
    )
    messages: list[Any] = Field(
        description="Up to 10,000 message objects, each shaped like POST /api/v1/messages."
    )


class ErrorBody(BaseModel):
    code: str = Field(examples=["invalid_number"])
    message: str
    details: Any = None


class ErrorOut(BaseModel):
    error: ErrorBody


class RecipientOut(BaseModel):
    id: str
    to: str
    status: str
    error: ErrorBody | None = None
    history: list[dict[str, Any]] | None = None
    parts: list[dict[str, Any]] | None = None


class MessageOut(BaseModel):
    id: str
    status: str
    summary: dict[str, int] | None = None
    text: str | None = None
    sender: str | None = Field(None, alias="from")
    encoding: str
    parts: int | list[dict[str, Any]]
    test: bool
    priority: str | None = None
    label: str | None = None
    foreign_id: str | None = None
    created_at: str
    send_at: str | None
    expires_at: str | None = None
    recipients: list[RecipientOut]


class BatchOut(BaseModel):
    messages: list[MessageOut]
    errors: list[dict[str, Any]]


class MessageListOut(BaseModel):
    messages: list[MessageOut]
    next_cursor: str | None
