"""The sink connectors hand status reports to: batched, durable once acknowledged."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from smsbridge.connectors.base import StatusReport
from smsbridge.store import reports as store_reports
from smsbridge.store.db import Database, now_us
from smsbridge.store.group_commit import GroupCommitter


class ReportWriter:
    def __init__(self, db: Database, on_commit: Callable[[], None] | None = None) -> None:
        self.db = db
        self.committer: GroupCommitter[list[store_reports.Report]] = GroupCommitter(
            self._flush, name="reports", max_batch=2000, weight=len, on_commit=on_commit
        )
        self.applied = 0

    async def report(self, report: StatusReport) -> None:
        await self.report_many([report])

    async def report_many(self, reports: Sequence[StatusReport]) -> None:
        now = now_us()
        await self.committer.submit(
            [
                store_reports.Report(r.channel, r.provider_id, r.status, r.error_code, r.at or now)
                for r in reports
            ]
        )

    async def _flush(self, batches: list[list[store_reports.Report]]) -> None:
        reports = [report for batch in batches for report in batch]
        async with self.db.write(fresh_plans=True) as conn:
            self.applied += await store_reports.apply_reports(conn, reports)
