"""The ``android`` channel: Android phones running the SMSGate app.

Sending a recipient puts it on a phone's queue (a database row) and wakes the phone's event
stream; the phone pulls it, sends it from a SIM and reports back through the device API, whose
reports flow into the core like any channel's. The recipient stays ``sending`` until then.

A message names its phone (``device_id``) and SIM, or the router picks one of the account's
online phones by the configured strategy: ``least_loaded`` (fewest messages waiting),
``round_robin``, or ``sim_round_robin`` (every SIM of every phone in turn).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from smsbridge.connectors.base import Connector, OutboundSms, SendResult
from smsbridge.core.encoding import Encoding
from smsbridge.core.errors import SendError
from smsbridge.dispatch.device_hub import MESSAGE_ENQUEUED, DeviceEvent
from smsbridge.store import device_queue
from smsbridge.store import devices as device_store
from smsbridge.store.db import Database, now_us

SNAPSHOT_SECONDS = 1.0  # how long a view of an account's online phones is reused
DEFAULT_VALIDITY_US = 24 * 3600 * 1_000_000


@dataclass(slots=True)
class _Phone:
    id: str
    sims: tuple[int, ...]  # SIM numbers (1-based slots)
    load: int


@dataclass(slots=True)
class _Fleet:
    """An account's online phones as last read, with the load handed out since."""

    phones: list[_Phone]
    read_at: float
    turn: itertools.count[int] = field(default_factory=itertools.count)


def sim_numbers(sims: list[dict[str, Any]]) -> tuple[int, ...]:
    numbers = []
    for sim in sims:
        number = sim.get("simNumber")
        if number is None and isinstance(sim.get("slotIndex"), int):
            number = sim["slotIndex"] + 1
        if isinstance(number, int) and number > 0:
            numbers.append(number)
    return tuple(sorted(set(numbers))) or (1,)


class AndroidConnector(Connector):
    name = "android"
    window = 2000

    def __init__(
        self,
        db: Database,
        *,
        strategy: str,
        notify: Callable[[str, DeviceEvent], None],
    ) -> None:
        self.db = db
        self.strategy = strategy
        self.notify = notify
        self._fleets: dict[int, _Fleet] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self._turns: dict[int, itertools.count[int]] = {}

    async def send(self, sms: OutboundSms) -> SendResult:
        if sms.encoding is Encoding.BINARY:
            # The app sends text, or data to a port (SMSGate's dataMessage), never raw UDH.
            raise SendError(
                "Phones cannot send a binary SMS with its own header; send text, or data to a "
                "port through the SMSGate API's dataMessage.",
                code="binary_unsupported",
                retryable=False,
            )
        now = now_us()
        valid_until = sms.expires_at if sms.expires_at is not None else now + DEFAULT_VALIDITY_US
        if sms.device_id is not None:
            async with self.db.read() as conn:
                device = await device_store.get(conn, sms.account_id, sms.device_id)
            if device is None:
                raise SendError(
                    f"Phone {sms.device_id!r} is not registered to this account (removed?).",
                    code="device_not_found",
                    retryable=False,
                )
            device_id, sim = sms.device_id, sms.sim
        else:
            device_id, sim = await self._route(sms)
        async with self.db.write() as conn:
            row_id = await device_queue.enqueue(
                conn,
                recipient_id=sms.recipient_id,
                device_id=device_id,
                sim=sim,
                valid_until=valid_until,
                now=now,
            )
        self.notify(device_id, DeviceEvent(MESSAGE_ENQUEUED, queue_id=row_id))
        return SendResult((str(row_id),), queued=True)

    async def _route(self, sms: OutboundSms) -> tuple[str, int | None]:
        fleet = await self._fleet(sms.account_id)
        phones = [p for p in fleet.phones if sms.sim is None or sms.sim in p.sims]
        if not phones:
            self._fleets.pop(sms.account_id, None)
            which = "" if sms.sim is None else f" with a SIM in slot {sms.sim}"
            raise SendError(
                f"No phone{which} of this account is online; the message is retried until its "
                "validity ends. Check the app on your phones (smsbridge devices list).",
                code="no_device_online",
                retryable=True,
            )
        turn = next(fleet.turn)
        if self.strategy == "sim_round_robin" and sms.sim is None:
            pairs = [(p, s) for p in phones for s in p.sims]
            phone, sim = pairs[turn % len(pairs)]
            phone.load += 1
            return phone.id, sim
        if self.strategy == "round_robin":
            phone = phones[turn % len(phones)]
        else:
            least = min(p.load for p in phones)
            tied = [p for p in phones if p.load == least]
            phone = tied[turn % len(tied)]
        phone.load += 1
        return phone.id, sms.sim

    async def _fleet(self, account_id: int) -> _Fleet:
        fleet = self._fleets.get(account_id)
        if fleet is not None and time.monotonic() - fleet.read_at <= SNAPSHOT_SECONDS:
            return fleet
        # One read per account at a time: a burst of sends shares it (and its load counts)
        # instead of each routing on a copy of its own.
        lock = self._locks.setdefault(account_id, asyncio.Lock())
        async with lock:
            fleet = self._fleets.get(account_id)
            if fleet is not None and time.monotonic() - fleet.read_at <= SNAPSHOT_SECONDS:
                return fleet
            async with self.db.read() as conn:
                rows = await device_store.online_for(conn, account_id)
            phones = [_Phone(r["id"], sim_numbers(r["sims"]), int(r["queued"])) for r in rows]
            turn = self._turns.setdefault(account_id, itertools.count())
            fleet = _Fleet(phones, time.monotonic(), turn)
            self._fleets[account_id] = fleet
            return fleet

    def forget(self, account_id: int | None = None) -> None:
        """Phones came or went: read the fleet again at the next send."""
        if account_id is None:
            self._fleets.clear()
        else:
            self._fleets.pop(account_id, None)
