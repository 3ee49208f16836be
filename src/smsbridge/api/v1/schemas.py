"""Request and response shapes of the native API (also the OpenAPI documentation)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from smsbridge.core.message import Priority
from smsbridge.services.send import SendRequest

SEND_EXAMPLE: dict[str, Any] = {
    "to": ["+4917612345678", "+436501234567"],
    "text": "Your code is 123456",
    "from": "MyShop",
    "label": "otp",
    "foreign_id": "order-42",
}


class MessageIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, json_schema_extra={"examples": [SEND_EXAMPLE]}
    )

    to: str | list[str] = Field(
        description="One number, a comma-separated list, or an array. E.164 (+4917...), "
        "00-prefixed, bare international digits (4917...) or national (017...) in the "
        "account's default region."
    )
    text: str = Field(description="Message text; GSM 03.38 or UCS-2 is chosen automatically.")
    sender: str | None = Field(
        None, alias="from", description="Sender id: 3-11 letters/digits or up to 16 digits."
    )
    send_at: datetime | None = Field(
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
    encoding: Literal["auto", "gsm7", "ucs2"] = "auto"
    no_reload: bool = Field(
        False, description="Send even if the same text went to a number within the reload window"
    )

    @field_validator("send_at", mode="before")
    @classmethod
    def _unix_seconds(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            try:
                return datetime.fromtimestamp(value, UTC)
            except (OverflowError, OSError, ValueError):
                raise ValueError("send_at is not a valid unix time in seconds") from None
        return value

    def to_request(self) -> SendRequest:
        return SendRequest(
            to=[self.to] if isinstance(self.to, str) else list(self.to),
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
        )


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
