"""Runs campaigns in the background of every dispatcher process: starts scheduled ones when due,
expands running ones chunk by chunk, completes them, and fires birthday greetings each day.

Every step is one transaction on a locked campaign row, so any number of processes may run
this loop over a shared PostgreSQL without expanding a chunk twice.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from smsbridge import tasks
from smsbridge.core.errors import InsufficientCredit
from smsbridge.core.pricing import credits
from smsbridge.services.billing import BillingService
from smsbridge.services.campaign_expansion import (
    CONTACTS,
    DONE,
    caller_of,
    prepare_chunk,
    write_chunk,
)
from smsbridge.services.send import SendService
from smsbridge.store import campaigns as store
from smsbridge.store import journal
from smsbridge.store.db import Database, now_us

log = logging.getLogger(__name__)
CHUNK = 5000  # recipients per transaction: large enough to be fast, small enough not to
# hold the SQLite writer long (urgent messages interleave between chunks)
LEASE_US = 10_000_000  # a dead expander's campaign is taken over after this long
PROGRESS_EVERY_US = 10_000_000  # campaign.progress at most this often per campaign


class CampaignRunner:
    def __init__(
        self,
        db: Database,
        send: SendService,
        billing: BillingService,
        notify: Callable[[], None],
        *,
        poll_seconds: float = 0.2,
    ) -> None:
        self.db = db
        self.send = send
        self.billing = billing
        self.notify = notify
        self.poll_seconds = poll_seconds
        self.name = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._task: asyncio.Task[None] | None = None
        self._reported: dict[int, tuple[int, dict[str, int]]] = {}  # campaign: (at, counts)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        await tasks.cancel(self._task)
        self._task = None

    async def _loop(self) -> None:
        while True:
            busy = False
            try:
                busy = await self.tick()
            except Exception:
                log.exception("campaign runner step failed")
            await asyncio.sleep(0 if busy else self.poll_seconds)

    async def tick(self) -> bool:
        """One step for each campaign that needs one; True if more work is waiting."""
        async with self.db.read() as conn:
            rows = await store.needing_work(conn, now_us())
        busy = False
        for row in rows:
            busy = await self.step(row["id"], row["account_id"]) or busy
        return busy

    async def step(self, campaign_id: int, account_id: int) -> bool:
        prices = (await self.billing.billing(account_id)).prices
        now = now_us()
        prepared = None
        async with self.db.read() as conn:
            row = await store.fetch(conn, campaign_id)
        if row is not None and row["state"] == "running" and row["phase"] != DONE:
            # One process expands a campaign at a time; the others would only prepare the
            # same chunk and lose the race to write it.
            async with self.db.write() as conn:
                mine = await store.take_lease(conn, campaign_id, self.name, now + LEASE_US, now)
            if not mine:
                return False
            async with self.db.read() as conn:
                prepared = await prepare_chunk(conn, self.send, row, prices, now, limit=CHUNK)
        try:
            async with self.db.write() as conn:
                row = await store.lock(conn, campaign_id)
                if row is None:
                    return False
                if row["state"] == "scheduled":
                    if row["send_at"] is not None and row["send_at"] > now:
                        return False
                    await store.set_values(conn, campaign_id, state="running", updated_at=now)
                    return True
                if row["state"] != "running":
                    return False
                await self._progress(conn, row, now)
                if row["phase"] == DONE:
                    if row["kind"] == "birthday":
                        return await self._birthday(conn, row, now)
                    # Test campaigns are never dispatched: expanded is finished.
                    if (
                        row["message_id"] is None
                        or orjson.loads(row["options"]).get("test")
                        or not await store.unfinished(conn, row["message_id"])
                    ):
                        await store.set_values(conn, campaign_id, state="completed",
                                               finished_at=now, updated_at=now)  # fmt: skip
                        await self._announce(conn, row, journal.CAMPAIGN_COMPLETED, now)
                        self.notify()
                    return False
                if prepared is None:
                    return True
                result = await write_chunk(conn, prepared, row, now)
        except InsufficientCredit as exc:
            await self._pause_for_credit(campaign_id, exc)
            return False
        if result is not None and result.written:
            self.notify()
        return True

    async def _progress(self, conn: Any, row: dict[str, Any], now: int) -> None:
        """``campaign.progress`` every few seconds while the counts move."""
        last_at, last_counts = self._reported.get(row["id"], (0, {}))
        if now - last_at < PROGRESS_EVERY_US:
            return
        counts = await self._announce(conn, row, journal.CAMPAIGN_PROGRESS, now, unless=last_counts)
        self._reported[row["id"]] = (now, counts)

    async def _announce(
        self,
        conn: Any,
        row: dict[str, Any],
        kind: str,
        now: int,
        *,
        unless: dict[str, int] | None = None,
    ) -> dict[str, int]:
        """Journal a campaign event with its progress (not when the counts are ``unless``)."""
        counts, cost = await store.progress(conn, row["id"])
        if unless is not None and counts == unless:
            return counts
        state = "completed" if kind == journal.CAMPAIGN_COMPLETED else row["state"]
        await journal.append(
            conn, account_id=row["account_id"], kind=kind, at=now, ref=row["id"],
            data={"campaign_id": row["id"], "name": row["name"], "state": state,
                  "total": row["total"], "expanded": row["expanded"], "counts": counts,
                  "cost": credits(cost)},
        )  # fmt: skip
        if kind == journal.CAMPAIGN_COMPLETED:
            self._reported.pop(row["id"], None)
        return counts

    async def _birthday(self, conn: Any, row: dict[str, Any], now: int) -> bool:
        """Start today's run once the local time reaches the campaign's hour."""
        _, timezone = await caller_of(conn, row["account_id"])
        local = datetime.fromtimestamp(now / 1_000_000, ZoneInfo(timezone))
        today = local.date().isoformat()
        if row["last_run_day"] == today or local.hour * 60 + local.minute < (
            row["birthday_at"] or 0
        ):
            return False
        await store.set_values(
            conn, row["id"], last_run_day=today, message_id=None, phase=CONTACTS, cursor=0,
            expanded=0, next_due=now, updated_at=now,
        )  # fmt: skip
        return True

    async def _pause_for_credit(self, campaign_id: int, exc: InsufficientCredit) -> None:
        now = now_us()
        async with self.db.write() as conn:
            await store.hold(conn, await store.message_ids(conn, campaign_id), now)
            await store.set_values(
                conn, campaign_id, state="paused", state_reason=f"insufficient_credit: "
                f"{exc.message}", updated_at=now,
            )  # fmt: skip
        log.warning("campaign %s paused: %s", campaign_id, exc.message)
