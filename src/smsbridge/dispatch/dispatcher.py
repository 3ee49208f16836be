"""The dispatcher: claim due recipients, send them through their connector, record outcomes.

It runs as a pipeline: the claimer keeps up to ``max_inflight`` sends in flight, each send
runs as its own task (so a slow channel never blocks the others), and outcomes are recorded by
a group committer in large transactions. A sweeper asks channels about reports that never came.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import uuid
from collections.abc import Callable

from smsbridge.config import Settings
from smsbridge.connectors.base import Connector, OutboundSms
from smsbridge.core.encoding import Encoding, parse_languages, segment
from smsbridge.core.errors import SendError
from smsbridge.core.message import Status
from smsbridge.dispatch.retry import backoff_seconds
from smsbridge.dispatch.router import Router
from smsbridge.dispatch.sink import ChannelSink
from smsbridge.store import outbox
from smsbridge.store import reports as report_store
from smsbridge.store.db import Database, now_us
from smsbridge.store.group_commit import GroupCommitter

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(
        self,
        db: Database,
        router: Router,
        settings: Settings,
        sink: ChannelSink,
        on_recorded: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.router = router
        self.settings = settings
        self.sink = sink
        self.reports = sink.reports
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.wake = asyncio.Event()
        self._slots = asyncio.Semaphore(settings.max_inflight)
        self._inflight: set[asyncio.Task[None]] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._rng = random.Random()
        self._messages: dict[int, outbox.Row] = {}
        self.outcomes: GroupCommitter[outbox.Outcome] = GroupCommitter(
            self._record, name="outcomes", max_batch=2000, on_commit=on_recorded
        )
        self.sent = 0

    def notify(self) -> None:
        """New work was committed in this process."""
        self.wake.set()

    async def start(self) -> None:
        for connector in self.router.connectors.values():
            await connector.start(self.sink)
        self.reports.committer.start()
        self.outcomes.start()
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._claim_loop(), name="claimer"),
            loop.create_task(self._sweep_loop(), name="sweeper"),
        ]

    async def stop(self) -> None:
        """Finish the sends in flight and record them; claimed rows not sent fall back to
        the outbox when their lease ends."""
        self._stopping = True
        self.wake.set()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._inflight:
            await asyncio.wait(self._inflight, timeout=10)
        await self.outcomes.stop()
        for connector in self.router.connectors.values():
            await connector.stop()
        await self.reports.committer.stop()

    async def _claim_loop(self) -> None:
        poll = self.settings.poll_interval_ms / 1000
        while not self._stopping:
            try:
                claimed = await self._claim()
            except Exception:
                log.exception("claim failed; retrying")
                await asyncio.sleep(1)
                continue
            if not claimed:
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), poll)

    async def _claim(self) -> int:
        room = self.settings.max_inflight - len(self._inflight)
        if room <= 0:
            await asyncio.sleep(0.001)
            return 1
        now = now_us()
        lease_until = now + int(self.settings.lease_seconds * 1_000_000)
        async with self.db.write(fresh_plans=True) as conn:
            claimed = await outbox.claim(
                conn,
                now=now,
                lease_until=lease_until,
                worker=self.worker,
                limit=min(room, self.settings.claim_batch),
                lock=not self.db.is_sqlite,
            )
            missing = {c.message_id for c in claimed} - self._messages.keys()
            if missing:
                self._messages.update(await outbox.load_messages(conn, missing))
        loop = asyncio.get_running_loop()
        for item in claimed:
            if item.expires_at is not None and item.expires_at <= now:
                self.outcomes.submit_nowait(
                    outbox.Outcome(
                        item.id,
                        now,
                        now,
                        Status.EXPIRED,
                        error_code="expired",
                        error_message="validity (ttl) ran out before sending",
                    )
                )
                continue
            task = loop.create_task(self._send(item, now))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
        if len(self._messages) > 50_000:
            self._messages.clear()
        return len(claimed)

    async def _send(self, item: outbox.Claimed, claimed_at: int) -> None:
        message = self._messages.get(item.message_id)
        if message is None:
            async with self.db.read() as conn:
                message = (await outbox.load_messages(conn, [item.message_id]))[item.message_id]
        connector = self.router.route(item.to_number, message["channel"])
        try:
            sms = _outbound(item, message)
            result = await connector.send(sms)
        except SendError as exc:
            outcome = self._failure(item, claimed_at, connector, exc)
        except Exception as exc:
            log.exception("connector %s crashed on recipient %s", connector.name, item.id)
            outcome = self._failure(
                item,
                claimed_at,
                connector,
                SendError(f"internal error in channel: {exc!r}", code="channel_error"),
            )
        else:
            self.sent += 1
            outcome = outbox.Outcome(
                item.id,
                claimed_at,
                now_us(),
                Status.SENDING if result.queued else Status.SENT,
                channel=connector.name,
                provider_ids=result.provider_ids,
            )
        self.outcomes.submit_nowait(outcome)

    def _failure(
        self, item: outbox.Claimed, claimed_at: int, connector: Connector, exc: SendError
    ) -> outbox.Outcome:
        now = now_us()
        if exc.retryable and item.attempts < self.settings.max_attempts:
            delay = backoff_seconds(
                item.attempts,
                base=self.settings.retry_base_seconds,
                cap=self.settings.retry_max_seconds,
                rng=self._rng,
            )
            retry_at = now + int(delay * 1_000_000)
            if item.expires_at is None or retry_at < item.expires_at:
                return outbox.Outcome(
                    item.id,
                    claimed_at,
                    now,
                    Status.QUEUED,
                    channel=connector.name,
                    error_code=exc.code,
                    error_message=exc.message,
                    retry_at=retry_at,
                )
        return outbox.Outcome(
            item.id,
            claimed_at,
            now,
            Status.FAILED,
            channel=connector.name,
            error_code=exc.code,
            error_message=exc.message,
        )

    async def _record(self, outcomes: list[outbox.Outcome]) -> None:
        async with self.db.write(fresh_plans=True) as conn:
            await outbox.record_outcomes(conn, outcomes, self.worker)
        if any(o.status is Status.QUEUED for o in outcomes):
            self.wake.set()

    async def _sweep_loop(self) -> None:
        poll_every = min(30.0, max(0.5, self.settings.report_poll_after_seconds / 4))
        next_poll = 0.0
        loop = asyncio.get_running_loop()
        while not self._stopping:
            try:
                async with self.db.read() as conn:
                    waiting = await report_store.has_orphans(conn)
                if waiting:
                    async with self.db.write(fresh_plans=True) as conn:
                        await report_store.adopt_waiting_orphans(conn)
                if loop.time() >= next_poll:
                    next_poll = loop.time() + poll_every
                    await self._poll_stale()
            except Exception:
                log.exception("status sweep failed")
            await asyncio.sleep(0.25)

    async def _poll_stale(self) -> None:
        now = now_us()
        older = now - int(self.settings.report_poll_after_seconds * 1_000_000)
        async with self.db.read() as conn:
            stale = await report_store.stale_sent(conn, older_than=older, limit=1000)
        if not stale:
            return
        by_channel: dict[str, list[str]] = {}
        for _, channel, provider_id in stale:
            by_channel.setdefault(channel, []).append(provider_id)
        for channel, ids in by_channel.items():
            connector = self.router.connectors.get(channel)
            if connector is None:
                continue
            reports = await connector.poll_status(ids)
            await asyncio.gather(*(self.reports.report(report) for report in reports))
        async with self.db.write() as conn:
            await report_store.touch_recipients(conn, sorted({rid for rid, _, _ in stale}), now)


def _outbound(item: outbox.Claimed, message: outbox.Row) -> OutboundSms:
    text = item.text if item.text is not None else message["text"]
    encoding = Encoding(item.encoding or message["encoding"])
    seg = segment(
        text,
        encoding.value,
        languages=parse_languages(message["languages"]),
        max_parts=255,
        udh=message["udh"],
    )
    return OutboundSms(
        recipient_id=item.id,
        message_id=item.message_id,
        to=item.to_number,
        sender=message["sender"],
        text=text,
        encoding=encoding,
        parts=seg.parts,
        concat_ref=message["concat_ref"],
        flash=bool(message["flash"]),
        priority=item.priority,
        attempt=item.attempts,
        expires_at=item.expires_at,
        locking_shift=seg.locking_shift,
        single_shift=seg.single_shift,
        account_id=message["account_id"],
        device_id=message["device_id"],
        sim=message["sim"],
        udh=bytes.fromhex(message["udh"]) if message["udh"] else None,
    )
