"""The simulator channel: the default, for trying smsbridge out and for tests.

It behaves like a well-run carrier: configurable latency per message, a failure rate, and
delivery reports after a delay with a configurable mix of outcomes, all seedable. Its handsets
answer a share of delivered messages and write in unasked, long texts in concatenated parts
arriving out of order, so inbound SMS, conversations and keywords work locally too. Like a
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
import time
import uuid
from collections import Counter, deque
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

from smsbridge.connectors.base import (
    Connector,
    InboundSms,
    OutboundSms,
    ReportSink,
    SendResult,
    StatusReport,
)
from smsbridge.core.encoding import EncodingError, segment
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
        reply_rate: float = 0.0,
        reply_delay_ms: float = 1000.0,
        reply_texts: Sequence[str] = ("Thanks!",),
        inbound_per_minute: float = 0.0,
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
        self.reply_rate = reply_rate
        self.reply_delay = reply_delay_ms / 1000
        self.reply_texts = list(reply_texts) or ["Thanks!"]
        self.inbound_per_minute = inbound_per_minute
        self._recent: deque[tuple[str, str | None]] = deque(maxlen=1000)  # (number, sender)
        self._writer: asyncio.Task[None] | None = None

    async def start(self, sink: ReportSink) -> None:
        self._sink = sink
        if self.inbound_per_minute > 0:
            self._writer = asyncio.get_running_loop().create_task(self._write_in())

    async def stop(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            self._writer = None
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
            self._recent.append((sms.to, sms.sender))
            replies = outcome is Status.DELIVERED and self.reply_rate > 0
            if replies and self._rng.random() < self.reply_rate:
                self._spawn(self._reply(sms.to, sms.sender))
        return SendResult(ids)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _reply(self, number: str, to: str | None) -> None:
        await asyncio.sleep(self.dlr_delay + self.reply_delay)
        await self._receive_logged(number, self._rng.choice(self.reply_texts), to)

    async def _write_in(self) -> None:
        """Unsolicited SMS from numbers messaged before, at about ``inbound_per_minute``."""
        while True:
            await asyncio.sleep(self._rng.expovariate(self.inbound_per_minute / 60))
            if self._recent:
                number, to = self._rng.choice(self._recent)
                await self._receive_logged(number, self._rng.choice(self.reply_texts), to)

    async def _receive_logged(self, number: str, text: str, to: str | None) -> None:
        try:
            await self.receive(number, text, to=to)
        except Exception:
            log.exception("simulated inbound SMS from %s not accepted", number)

    async def receive(
        self,
        sender: str,
        text: str,
        *,
        to: str | None = None,
        account_id: int | None = None,
    ) -> int | None:
        """A handset sends ``text``: long texts go as concatenated parts, last part first
        (networks do not keep the order). Returns the stored inbound id."""
        if self._sink is None:
            raise RuntimeError("the simulator is not started")
        now = time.time_ns() // 1000
        try:
            parts = segment(text, "auto", max_parts=255).parts
        except EncodingError:
            parts = (text,)
        base = f"{self._id_prefix}in{next(self._counter):x}"
        if len(parts) == 1:
            return await self._sink.inbound(
                InboundSms(self.name, sender, text, to, now, base, account_id)
            )
        ref = self._rng.randrange(256)
        stored: int | None = None
        for seq in reversed(range(1, len(parts) + 1)):
            result = await self._sink.inbound(
                InboundSms(
                    self.name,
                    sender,
                    parts[seq - 1],
                    to,
                    now,
                    None,
                    account_id,
                    concat=(ref, len(parts), seq),
                )
            )
            stored = result if result is not None else stored
        return stored

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
