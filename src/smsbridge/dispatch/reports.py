"""The sink connectors hand status reports to: batched, durable once acknowledged."""

from __future__ import annotations

from smsbridge.connectors.base import StatusReport
from smsbridge.store import outbox
from smsbridge.store.db import Database, now_us
from smsbridge.store.group_commit import GroupCommitter


class ReportWriter:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.committer: GroupCommitter[outbox.Report] = GroupCommitter(
            self._flush, name="reports", max_batch=2000
        )
        self.applied = 0

    async def report(self, report: StatusReport) -> None:
        await self.committer.submit(
            outbox.Report(
                report.channel,
                report.provider_id,
                report.status,
                report.error_code,
                report.at or now_us(),
            )
        )

    async def _flush(self, reports: list[outbox.Report]) -> None:
        async with self.db.write() as conn:
            self.applied += await outbox.apply_reports(conn, reports)
