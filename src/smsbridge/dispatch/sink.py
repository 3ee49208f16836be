"""What connectors report to: status reports to the report writer, received SMS to the inbound
handler (the service layer, given by the gateway)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from smsbridge.connectors.base import InboundSms, StatusReport
from smsbridge.dispatch.reports import ReportWriter


class InboundHandler(Protocol):
    async def receive(self, sms: InboundSms) -> int | None: ...


class ChannelSink:
    def __init__(self, reports: ReportWriter, inbound: InboundHandler) -> None:
        self.reports = reports
        self._inbound = inbound

    async def report(self, report: StatusReport) -> None:
        await self.reports.report(report)

    async def report_many(self, reports: Sequence[StatusReport]) -> None:
        await self.reports.report_many(reports)

    async def inbound(self, sms: InboundSms) -> int | None:
        return await self._inbound.receive(sms)
