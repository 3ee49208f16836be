"""The simulator channel: the default, for trying smsbridge out and for tests.

It behaves like a well-run carrier: configurable latency per message, a failure rate, and
delivery reports after a delay with a configurable mix of outcomes, all seedable. Like a
carrier's SMSC it can be asked later for the status of anything it accepted
(:meth:`poll_status`), so a report lost in a crash is recovered. It records every send so tests
can count sends and duplicates; with ``journal`` set it appends each send to a JSON-lines file
so sends from several processes can be counted too.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import logging
import os
import random
import uuid
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from smsbridge.connectors.base import (
    Connector,
    OutboundSms,
    ReportSink,
    SendResult,
    StatusReport,
)
from smsbridge.core.errors import SendError
from smsbridge.core.message import Status

log = logging.getLogger(__name__)

_OUTCOMES = {"delivered": Status.DELIVERED, "failed": Status.FAILED, "expired": Status.EXPIRED}


class SimulatorConnector(Connector):
    window = 5000

    def __init__(
        self,
        *,
        name: str = "simulator",
        latency_ms: float = 0.0,
        fail_rate: float = 0.0,
        dlr_delay_ms: float = 50.0,
        outcomes: dict[str, float] | None = None,
        seed: int | None = None,
        journal: str | Path | None = None,
    ) -> None:
        self.name = name
        self.latency = latency_ms / 1000
        self.fail_rate = fail_rate
        self.dlr_delay = dlr_delay_ms / 1000
        mix = outcomes or {"delivered": 1.0}
        self._outcomes = [_OUTCOMES[k] for k in mix]
        self._weights = list(mix.values())
        self._seed = seed
        self._rng = random.Random(seed)
        self._sink: ReportSink | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self._due: list[StatusReport] = []
        # Ids unique across processes and restarts: a random prefix and a counter.
        self._id_prefix = uuid.uuid4().hex[:12]
        self._counter = itertools.count(1)
        self._flusher: asyncio.Task[None] | None = None
        self._journal = open(journal, "a", buffering=1) if journal else None  # noqa: SIM115
        self.sent: list[OutboundSms] = []
        self.sends_per_recipient: Counter[int] = Counter()

    async def start(self, sink: ReportSink) -> None:
        self._sink = sink

    async def stop(self) -> None:
        for task in list(self._pending):
            task.cancel()
        self._pending.clear()
        if self._journal:
            self._journal.close()
            self._journal = None

    async def send(self, sms: OutboundSms) -> SendResult:
        if self.latency:
            await asyncio.sleep(self.latency)
        if self.fail_rate and self._rng.random() < self.fail_rate:
            raise SendError(
                "the simulated carrier refused the message",
                code="simulated_failure",
                retryable=False,
            )
        base = f"{self._id_prefix}{next(self._counter):x}"
        ids = tuple(f"{base}-{seq}" for seq in range(1, len(sms.parts) + 1))
        self.sent.append(sms)
        self.sends_per_recipient[sms.recipient_id] += 1
        if self._journal:
            record = {"recipient_id": sms.recipient_id, "to": sms.to, "pid": os.getpid()}
            self._journal.write(json.dumps(record) + "\n")
        if self._sink is not None:
            outcome = (
                self._outcomes[0]
                if len(self._outcomes) == 1
                else self._rng.choices(self._outcomes, self._weights)[0]
            )
            reports = [StatusReport(self.name, pid, outcome, _code(outcome)) for pid in ids]
            if self.dlr_delay:
                asyncio.get_running_loop().call_later(self.dlr_delay, self._enqueue, reports)
            else:
                self._enqueue(reports)
        return SendResult(ids)

    def _enqueue(self, reports: list[StatusReport]) -> None:
        self._due.extend(reports)
        self._flush_soon()

    def _flush_soon(self) -> None:
        # One task hands every report that fell due meanwhile to the sink, as a carrier
        # session would deliver a burst of receipts.
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())
            self._pending.add(self._flusher)
            self._flusher.add_done_callback(self._pending.discard)

    async def _flush(self) -> None:
        assert self._sink is not None
        while self._due:
            batch, self._due = self._due, []
            try:
                await self._sink.report_many(batch)
            except Exception:
                # Like a carrier whose receipt was not acknowledged: deliver it again later.
                log.exception("status reports not accepted; retrying in 1 s")
                self._due = batch + self._due
                await asyncio.sleep(1)

    async def poll_status(self, provider_ids: Sequence[str]) -> list[StatusReport]:
        # A stable outcome per id, so asking twice gives the same answer.
        reports = []
        for provider_id in provider_ids:
            digest = hashlib.sha256(f"{self._seed}:{provider_id}".encode()).digest()
            rng = random.Random(digest)
            outcome = rng.choices(self._outcomes, self._weights)[0]
            reports.append(StatusReport(self.name, provider_id, outcome, _code(outcome)))
        return reports

    @property
    def duplicates(self) -> int:
        return sum(n - 1 for n in self.sends_per_recipient.values() if n > 1)


def _code(status: Status) -> str | None:
    return {Status.FAILED: "simulated_undeliverable", Status.EXPIRED: "simulated_expired"}.get(
        status
    )
