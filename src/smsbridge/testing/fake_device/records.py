"""What the fake phone keeps: its SIMs, the messages it pulled and what it did, for
assertions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from smsbridge.testing.fake_device.app import (
    PENDING,
    OutcomeResult,
    redact,
)


@dataclass(frozen=True)
class SimCard:
    """A SIM in the phone. ``slot_index`` is 0-based, ``sim_number`` 1-based."""

    slot_index: int
    phone_number: str | None = None
    carrier_name: str | None = None
    iccid: str | None = None

    @property
    def sim_number(self) -> int:
        return self.slot_index + 1

    def to_dto(self) -> dict[str, Any]:
        """What the app sends: phone, carrier and ICCID redacted."""
        return {
            "slotIndex": self.slot_index,
            "simNumber": self.sim_number,
            "phoneNumber": redact(self.phone_number),
            "carrierName": redact(self.carrier_name),
            "iccid": redact(self.iccid),
        }


DEFAULT_SIMS = (SimCard(0, "+15555550100", "Test Carrier", "8901260000000000019"),)


@dataclass(frozen=True)
class Outcome:
    """What the radio does with one recipient.

    * ``delivered``: Processed, Sent, then Delivered (when a delivery report was asked for).
    * ``sent``: Processed, Sent, and no delivery report ever comes.
    * ``failed``: Processed, then Failed with the send result (``reason``).
    * ``undelivered``: Processed, Sent, then Failed with the delivery report (``reason``).
    * ``error``: SmsManager throws: Failed at once with ``"sendSMS: " + reason``.

    ``sent_after``/``delivered_after`` are seconds before the sent/delivery intents arrive.
    """

    result: OutcomeResult = "delivered"
    reason: str | None = None
    sent_after: float = 0.0
    delivered_after: float = 0.0


@dataclass
class RequestRecord:
    kind: str  # "api", "sse" or "webhook"
    method: str
    url: str
    path: str  # relative to the API URL (API and SSE), the full URL for webhooks
    headers: dict[str, str]  # lower-case names, as sent
    body: bytes
    status: int | None  # None: no answer (network error)
    response: bytes
    at: float
    error: str | None = None

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class SentSms:
    """One transmission on the radio: a message to one recipient."""

    message_id: str
    phone_number: str
    text: str | None
    data: str | None
    port: int | None
    sim_number: int | None  # as the app reports it (None: OS default SIM)
    slot_index: int  # the slot that actually sent it
    parts_count: int
    encrypted: bool
    outcome: OutcomeResult
    at: float


@dataclass
class WebhookPost:
    url: str
    webhook_id: str
    event: str
    envelope_id: str
    body: bytes
    headers: dict[str, str]
    status: int | None
    attempt: int  # 0 for the first try
    at: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class StateReport:
    """One ``PATCH /message`` item the server accepted, as it went over the wire."""

    item: dict[str, Any]
    at: float


@dataclass
class SseEvent:
    type: str
    data: str
    handled: bool
    at: float


@dataclass
class Recipient:
    phone_number: str
    state: str = PENDING
    error: str | None = None


@dataclass
class DeviceMessage:
    """A message in the device's local queue (the app's Room ``message`` row)."""

    id: str
    rowid: int
    text: str | None
    data: str | None
    port: int | None
    phone_numbers: list[str]
    sim_number: int | None  # requested by the server (1-based)
    with_delivery_report: bool
    is_encrypted: bool
    priority: int
    valid_until: datetime | None
    schedule_at: datetime | None
    created_at: datetime
    recipients: dict[str, Recipient]
    history: dict[str, datetime]
    state: str = PENDING
    used_sim: int | None = None  # the simNumber the app reports after selecting a SIM
    parts_count: int | None = None
    processed_at: datetime | None = None


@dataclass
class WebhookJob:
    url: str
    webhook_id: str
    event: str
    envelope_id: str
    body: bytes
    retries: int = 0


@dataclass
class Registration:
    id: str
    token: str
    login: str
    password: str | None
