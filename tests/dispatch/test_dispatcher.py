"""The dispatcher against a real database with scripted channels: retries, failures, expiry,
delivery reports in any order, reports before the send is recorded, and status polling."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from sqlalchemy import select

from smsbridge.connectors.base import Connector, OutboundSms, SendResult, StatusReport
from smsbridge.connectors.simulator import SimulatorConnector
from smsbridge.core.errors import SendError
from smsbridge.core.message import Status
from smsbridge.gateway import Gateway
from smsbridge.services.caller import Caller
from smsbridge.services.message_plan import SendRequest
from smsbridge.store.schema import orphan_reports, parts, recipients
from tests.conftest import make_settings, wait_for

CALLER = Caller(account_id=1, key_id=None)


class Scripted(Connector):
    """Fails the first ``failures`` sends of each recipient, then accepts; reports nothing."""

    name = "simulator"

    def __init__(self, failures: int = 0, retryable: bool = True) -> None:
        self.failures = failures
        self.retryable = retryable
        self.calls: dict[int, int] = {}
        self.sent: list[OutboundSms] = []
        self.sink: Any = None
        self.polled: list[str] = []

    async def start(self, sink: Any) -> None:
        self.sink = sink

    async def send(self, sms: OutboundSms) -> SendResult:
        n = self.calls[sms.recipient_id] = self.calls.get(sms.recipient_id, 0) + 1
        if n <= self.failures:
            raise SendError("carrier busy", code="busy", retryable=self.retryable)
        self.sent.append(sms)
        return SendResult(tuple(f"r{sms.recipient_id}-{i}" for i in range(len(sms.parts))))

    async def poll_status(self, provider_ids: Sequence[str]) -> list[StatusReport]:
        self.polled.extend(provider_ids)
        return [StatusReport(self.name, pid, Status.DELIVERED) for pid in provider_ids]


@pytest.fixture
async def gateway_factory(database_url: str) -> AsyncIterator[Any]:
    started: list[Gateway] = []

    async def factory(connector: Connector | None, **overrides: Any) -> Gateway:
        gw = Gateway(make_settings(database_url, **overrides))
        await gw.start(
            dispatch=connector is not None,
            migrate=False,
            connectors={"simulator": connector} if connector else None,
        )
        started.append(gw)
        return gw

    yield factory
    for gw in started:
        await gw.stop()


async def statuses(gw: Gateway) -> dict[int, str]:
    async with gw.db.read() as conn:
        rows = (await conn.execute(select(recipients.c.id, recipients.c.status))).all()
    return {rid: status for rid, status in rows}


async def send(gw: Gateway, text: str = "hello", **kwargs: Any) -> int:
    accepted = await gw.send.send(CALLER, SendRequest(to=["+4917612345678"], text=text, **kwargs))
    return accepted.recipients[0].id


async def test_retryable_failures_are_retried_then_sent(gateway_factory: Any) -> None:
    connector = Scripted(failures=2)
    gw = await gateway_factory(connector, retry_base_seconds=0.05, retry_max_seconds=0.1)
    rid = await send(gw)
    await wait_for(lambda: _has(gw, rid, "sent"))
    assert connector.calls[rid] == 3
    record = await gw.messages.get(CALLER, (await _message_of(gw, rid)))
    history = [e["status"] for e in record.events[rid]]
    assert history == ["sending", "queued", "sending", "queued", "sending", "sent"]
    assert record.recipients[0]["attempts"] == 3


async def test_attempts_are_capped(gateway_factory: Any) -> None:
    connector = Scripted(failures=99)
    gw = await gateway_factory(connector, retry_base_seconds=0.02, max_attempts=3)
    rid = await send(gw)
    await wait_for(lambda: _has(gw, rid, "failed"))
    assert connector.calls[rid] == 3


async def test_permanent_failure_is_not_retried(gateway_factory: Any) -> None:
    connector = Scripted(failures=1, retryable=False)
    gw = await gateway_factory(connector)
    rid = await send(gw)
    await wait_for(lambda: _has(gw, rid, "failed"))
    await asyncio.sleep(0.2)
    assert connector.calls[rid] == 1
    async with gw.db.read() as conn:
        row = (await conn.execute(select(recipients).where(recipients.c.id == rid))).first()
    assert row is not None and row.error_code == "busy"


async def test_reports_in_any_order_never_move_back(gateway_factory: Any) -> None:
    connector = Scripted()
    gw = await gateway_factory(connector)
    rid = await send(gw, text="x" * 200)  # two parts
    await wait_for(lambda: _has(gw, rid, "sent"))
    sink = connector.sink
    await sink.report(StatusReport("simulator", f"r{rid}-0", Status.DELIVERED))
    assert (await statuses(gw))[rid] == "sent"  # one part of two
    await sink.report(StatusReport("simulator", f"r{rid}-1", Status.DELIVERED))
    assert (await statuses(gw))[rid] == "delivered"
    # late and duplicate reports change nothing
    await sink.report(StatusReport("simulator", f"r{rid}-1", Status.SENT))
    await sink.report(StatusReport("simulator", f"r{rid}-0", Status.DELIVERED))
    await sink.report(StatusReport("simulator", f"r{rid}-0", Status.FAILED, "late"))
    assert (await statuses(gw))[rid] == "delivered"
    async with gw.db.read() as conn:
        states = await conn.execute(select(parts.c.status).where(parts.c.recipient_id == rid))
        assert sorted(s for (s,) in states) == ["delivered", "delivered"]


async def test_failed_part_fails_the_recipient(gateway_factory: Any) -> None:
    connector = Scripted()
    gw = await gateway_factory(connector)
    rid = await send(gw, text="x" * 200)
    await wait_for(lambda: _has(gw, rid, "sent"))
    await connector.sink.report(StatusReport("simulator", f"r{rid}-0", Status.DELIVERED))
    await connector.sink.report(StatusReport("simulator", f"r{rid}-1", Status.FAILED, "absent"))
    assert (await statuses(gw))[rid] == "failed"


async def test_report_before_the_send_is_recorded(gateway_factory: Any) -> None:
    connector = Scripted()
    gw = await gateway_factory(None)
    # A report for an id nobody has recorded yet is kept...
    writer_gw = await gateway_factory(connector)
    await connector.sink.report(StatusReport("simulator", "early-0", Status.DELIVERED))
    async with gw.db.read() as conn:
        assert len((await conn.execute(select(orphan_reports))).all()) == 1

    # ...and applied when a send with that id is recorded.
    class Early(Scripted):
        async def send(self, sms: OutboundSms) -> SendResult:
            return SendResult(("early-0",))

    await writer_gw.stop()
    early = Early()
    gw2 = await gateway_factory(early)
    rid = await send(gw2)
    await wait_for(lambda: _has(gw2, rid, "delivered"))
    async with gw2.db.read() as conn:
        assert (await conn.execute(select(orphan_reports))).all() == []


async def test_status_polling_recovers_missing_reports(gateway_factory: Any) -> None:
    connector = Scripted()
    gw = await gateway_factory(connector, report_poll_after_seconds=0.5)
    rid = await send(gw)
    await wait_for(lambda: _has(gw, rid, "delivered"), timeout=15)
    assert connector.polled == [f"r{rid}-0"]


async def test_expired_before_sending(gateway_factory: Any) -> None:
    idle = await gateway_factory(None)
    rid = await send(idle, ttl=1)
    await asyncio.sleep(1.1)
    connector = Scripted()
    gw = await gateway_factory(connector)
    await wait_for(lambda: _has(gw, rid, "expired"))
    assert connector.sent == []


async def test_lease_expiry_resends_claimed_work(gateway_factory: Any) -> None:
    """A dispatcher that claimed work and vanished: the lease runs out, another sends it."""

    class Stuck(Scripted):
        async def send(self, sms: OutboundSms) -> SendResult:
            await asyncio.Event().wait()
            raise AssertionError

    stuck_gw = await gateway_factory(Stuck(), lease_seconds=1)
    rid = await send(stuck_gw)
    await wait_for(lambda: _has(stuck_gw, rid, "sending"))
    assert stuck_gw.dispatcher is not None
    for task in list(stuck_gw.dispatcher._tasks):  # the process "dies": no more claims
        task.cancel()
    connector = Scripted()
    gw = await gateway_factory(connector, lease_seconds=1)
    await wait_for(lambda: _has(gw, rid, "sent"), timeout=10)
    assert [s.recipient_id for s in connector.sent] == [rid]


async def test_simulator_knobs(gateway_factory: Any) -> None:
    sim = SimulatorConnector(
        latency_ms=5, fail_rate=0.3, dlr_delay_ms=5, seed=7,
        outcomes={"delivered": 0.5, "failed": 0.25, "expired": 0.25},
    )  # fmt: skip
    gw = await gateway_factory(sim)
    reqs = [SendRequest(to=[f"+49176{n:08d}"], text="hi") for n in range(200)]
    await gw.send.send_batch(CALLER, list(reqs))

    async def settled() -> dict[str, int] | None:
        counts: dict[str, int] = {}
        for status in (await statuses(gw)).values():
            counts[status] = counts.get(status, 0) + 1
        return (
            counts
            if sum(counts.get(s, 0) for s in ("delivered", "failed", "expired")) == 200
            else None
        )

    counts = await wait_for(settled, timeout=20)
    assert set(counts) == {"delivered", "failed", "expired"}
    assert 40 < counts["failed"] < 140  # 30 % refused at send + 25 % of the rest failed later
    assert sim.duplicates == 0
    async with gw.db.read() as conn:
        refused = (
            await conn.execute(
                select(recipients.c.id).where(recipients.c.error_code == "simulated_failure")
            )
        ).all()
    assert len(refused) == 200 - len(sim.sent)  # refused at send time, never retried


async def test_national_shift_tables(gateway_factory: Any) -> None:
    connector = Scripted()
    gw = await gateway_factory(connector, national_languages="turkish")
    text = "Şişli'de güzel bir gün; İstanbul'da ağaçlar çiçek açtı, ışıklar yandı. " * 2
    accepted = await gw.send.send(CALLER, SendRequest(to=["+905321234567"], text=text))
    assert accepted.encoding == "gsm7"
    plain = Gateway(make_settings(gw.settings.database_url))
    ucs2, _ = plain.send.prepare(CALLER, SendRequest(to=["+905321234567"], text=text))
    assert ucs2.encoding == "ucs2" and accepted.parts < ucs2.parts
    await wait_for(lambda: _has(gw, accepted.recipients[0].id, "sent"))
    sms = connector.sent[0]
    assert sms.locking_shift == "turkish"
    assert "".join(sms.parts) == text


async def _has(gw: Gateway, rid: int, status: str) -> bool:
    return (await statuses(gw)).get(rid) == status


async def _message_of(gw: Gateway, rid: int) -> int:
    async with gw.db.read() as conn:
        row = await conn.execute(select(recipients.c.message_id).where(recipients.c.id == rid))
        return int(row.scalar_one())


async def test_unsent_failures_are_refunded(gateway_factory: Any) -> None:
    connector = Scripted(failures=1, retryable=False)
    gw = await gateway_factory(connector)
    account = await gw.accounts.create("refundme")
    await gw.billing.configure(account.id, prepaid=True, actor="test")
    await gw.billing.credit(account.id, "3", note=None, actor="test")
    caller = Caller(account_id=account.id, key_id=None)
    accepted = await gw.send.send(caller, SendRequest(to=["+4917612345678"], text="x"))
    assert accepted.balance == 2_000_000
    rid = accepted.recipients[0].id
    await wait_for(lambda: _has(gw, rid, "failed"))

    async def refunded() -> bool:
        return (await gw.billing.balance(account.id))[0] == 3_000_000

    await wait_for(refunded)
