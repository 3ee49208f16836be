"""The connector interface every channel implements.

A connector turns one :class:`OutboundSms` into a :class:`SendResult` (the channel's own id for
each part) or raises :class:`~smsbridge.core.errors.SendError`. Session channels (SMPP, phones)
also receive a :class:`ReportSink` in :meth:`Connector.start` to hand delivery reports and
received SMS back; each is durable once ``await sink.report(...)`` / ``sink.inbound(...)``
returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from smsbridge.core.encoding import Encoding, Language
from smsbridge.core.message import Status


@dataclass(frozen=True, slots=True)
class OutboundSms:
    recipient_id: int
    message_id: int
    to: str
    sender: str | None
    text: str
    encoding: Encoding
    parts: tuple[str, ...]
    concat_ref: int
    flash: bool
    priority: int
    attempt: int
    expires_at: int | None  # unix microseconds
    # National shift tables of a GSM 7-bit text (their UDH elements go with every part).
    locking_shift: Language | None = None
    single_shift: Language | None = None
    account_id: int = 0
    device_id: str | None = None  # phones: the device and SIM slot asked for
    sim: int | None = None
    # Binary SMS (encoding BINARY): ``parts`` hold hex octets; ``udh`` is the sender's own
    # header, sent as given in place of the concatenation header.
    udh: bytes | None = None


@dataclass(frozen=True, slots=True)
class SendResult:
    provider_ids: tuple[str, ...]  # one per part, in order (or a single id for the whole SMS)
    # The channel queued it on its side (a phone that pulls its work): the recipient stays
    # ``sending`` until the channel reports it sent.
    queued: bool = False


@dataclass(frozen=True, slots=True)
class StatusReport:
    channel: str
    provider_id: str
    status: Status  # SENT, DELIVERED, FAILED or EXPIRED
    error_code: str | None = None
    at: int | None = None  # unix microseconds; None means "now"


@dataclass(frozen=True, slots=True)
class InboundSms:
    """An SMS a channel received (one part of a concatenated one when ``concat`` is set)."""

    channel: str
    sender: str  # as received: E.164, national digits or an alphanumeric name
    text: str
    to: str | None = None  # the number or SIM it was sent to
    received_at: int | None = None  # unix microseconds; None means "now"
    provider_id: str | None = None  # the channel's own id: a redelivery is stored once
    account_id: int | None = None  # when the channel belongs to one account (a phone)
    device: str | None = None
    sim: int | None = None
    concat: tuple[int, int, int] | None = None  # (reference, total parts, this part's number)


class ReportSink(Protocol):
    """Where a session channel hands what it hears back: status reports and received SMS."""

    async def report(self, report: StatusReport) -> None: ...

    async def report_many(self, reports: Sequence[StatusReport]) -> None: ...

    async def inbound(self, sms: InboundSms) -> int | None:
        """Store a received SMS (durable on return); its id, or None while parts are
        missing."""
        ...


class Connector:
    """Base class with the optional hooks defaulted; subclasses implement :meth:`send`."""

    name: str = "connector"
    window: int = 1000  # how many sends may be in flight at once

    async def start(self, sink: ReportSink) -> None:
        """Open sessions; keep ``sink`` to report status later."""

    async def stop(self) -> None:
        """Close sessions."""

    async def send(self, sms: OutboundSms) -> SendResult:
        raise NotImplementedError

    async def poll_status(self, provider_ids: Sequence[str]) -> list[StatusReport]:
        """Ask the channel for the status of parts whose report never came.

        Channels that cannot be asked return nothing.
        """
        return []
