"""The connector interface every channel implements.

A connector turns one :class:`OutboundSms` into a :class:`SendResult` (the channel's own id for
each part) or raises :class:`~smsbridge.core.errors.SendError`. Session channels (SMPP, phones)
also receive a :class:`ReportSink` in :meth:`Connector.start` to hand delivery reports back; a
report is durable once ``await sink.report(...)`` returns.
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


@dataclass(frozen=True, slots=True)
class SendResult:
    provider_ids: tuple[str, ...]  # one per part, in order (or a single id for the whole SMS)


@dataclass(frozen=True, slots=True)
class StatusReport:
    channel: str
    provider_id: str
    status: Status  # SENT, DELIVERED, FAILED or EXPIRED
    error_code: str | None = None
    at: int | None = None  # unix microseconds; None means "now"


class ReportSink(Protocol):
    async def report(self, report: StatusReport) -> None: ...

    async def report_many(self, reports: Sequence[StatusReport]) -> None: ...


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
