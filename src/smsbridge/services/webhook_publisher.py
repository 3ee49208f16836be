"""The webhook publisher: follows the event feed and queues a delivery for every subscription
(and message callback URL) an event matches.

One process at a time publishes (a lease); its position in the feed is saved in the same
transaction as the deliveries it queued, so a crash neither loses nor duplicates an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsbridge import tasks
from smsbridge.config import Settings
from smsbridge.services import webhook_formats
from smsbridge.services.events import MESSAGE_QUEUED, Event, EventFeed
from smsbridge.store import deliveries, journal, leases, webhooks
from smsbridge.store.db import Database, now_us
from smsbridge.store.deliveries import NewDelivery
from smsbridge.store.feed import FeedCursor
from smsbridge.store.schema import feed_cursors
from smsbridge.store.upsert import insert_ignore

log = logging.getLogger(__name__)
LEASE = "webhook-publisher"
CURSOR = "webhooks"
_LEASE_US = 15_000_000
_HOUR_US = 3_600_000_000


class Subscriptions:
    """The enabled subscriptions, by account, as one publishing round sees them."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.by_account: dict[int, list[dict[str, Any]]] = {}
        for row in rows:
            row["_types"] = set(row["events"].split(","))
            self.by_account.setdefault(row["account_id"], []).append(row)

        # Accounts with a subscription to ``message.queued``.
        self.queued_accounts = {
            account_id
            for account_id, subs in self.by_account.items()
            if any("*" in s["_types"] or MESSAGE_QUEUED in s["_types"] for s in subs)
        }

    def wants_queued(self, account_id: int, callback: bool) -> bool:
        return callback or account_id in self.queued_accounts

    def matching(self, event: Event) -> list[dict[str, Any]]:
        out = []
        for sub in self.by_account.get(event.account_id, ()):
            if event.type not in sub["_types"] and "*" not in sub["_types"]:
                continue
            if sub["label"] is not None and event.label != sub["label"]:
                continue
            if sub["campaign_id"] is not None and event.campaign_id != sub["campaign_id"]:
                continue
            if event.at < sub["created_at"]:
                continue  # it happened before the subscription existed
            out.append(sub)
        return out


def targets(event: Event, subs: Subscriptions) -> list[NewDelivery]:
    out = []
    rendered: dict[str | None, str | None] = {}

    def payload(format_: str | None) -> str | None:
        """The event's body in ``format_``, rendered once per event and format."""
        if format_ not in rendered:
            rendered[format_] = (
                event.body.decode()
                if format_ in (None, webhook_formats.NATIVE)
                else webhook_formats.render(format_, event.type, event.data)
            )
        return rendered[format_]

    for sub in subs.matching(event):
        fmt = sub["format"] if sub["format"] != webhook_formats.NATIVE else None
        body = payload(fmt)
        if body is not None:
            out.append(NewDelivery(event.account_id, sub["id"], None, event.id, event.type,
                                   event.order_key, body, fmt))  # fmt: skip
    if event.callback_url and event.type.startswith("message."):
        body = payload(event.callback_format)
        if body is not None:
            out.append(
                NewDelivery(event.account_id, 0, event.callback_url, event.id, event.type,
                            event.order_key, body, event.callback_format)
            )  # fmt: skip
    return out


class WebhookPublisher:
    def __init__(
        self, db: Database, settings: Settings, on_published: Callable[[], None] = lambda: None
    ) -> None:
        self.db = db
        self.settings = settings
        self.feed = EventFeed(db)
        self.on_published = on_published
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lease_until = 0
        self._next_chores = 0
        self.published = 0

    def notify(self) -> None:
        """Something was committed in this process that may be an event."""
        self.wake.set()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="webhook-publisher")

    async def stop(self) -> None:
        await tasks.cancel(self._task)
        self._task = None
        with contextlib.suppress(Exception):
            async with self.db.write() as conn:
                await leases.release(conn, LEASE, self.holder)

    async def _run(self) -> None:
        idle = self.settings.webhooks_poll_interval_ms / 1000
        while True:
            more = False
            try:
                if await self._hold_lease():
                    more = await self.publish_once()
                    await self._chores()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("publishing webhook events failed; trying again")
                await asyncio.sleep(1)
            if not more:
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(idle):
                        await self.wake.wait()

    async def _hold_lease(self) -> bool:
        now = now_us()
        if self._lease_until - now > _LEASE_US // 2:
            return True
        async with self.db.write() as conn:
            held = await leases.take(conn, LEASE, self.holder, now=now, until=now + _LEASE_US)
        self._lease_until = now + _LEASE_US if held else 0
        return held

    async def publish_once(self, limit: int = 1000) -> bool:
        """Publish the next batch of events; True when more are waiting."""
        async with self.db.read() as conn:
            start = await _load_cursor(conn)
            before = Subscriptions(await webhooks.all_enabled(conn))
        events, cursor, more = await self.feed.read(
            start, limit=limit, wants_queued=before.wants_queued
        )
        if cursor == start:
            return False
        # Subscriptions as of after the read: one created meanwhile gets the events of this
        # batch that happened after it was created.
        async with self.db.read() as conn:
            subs = Subscriptions(await webhooks.all_enabled(conn))
        if subs.queued_accounts - before.queued_accounts:
            return True  # queued batches were read without expanding them: read them again
        items = [item for event in events for item in targets(event, subs)]
        now = now_us()
        give_up = now + int(self.settings.webhooks_give_up_hours * _HOUR_US)
        async with self.db.write() as conn:
            if not await _move_cursor(conn, start, cursor):
                return False  # another publisher took over meanwhile
            # A subscription deleted or disabled since it was read gets nothing.
            live = await webhooks.enabled_ids(conn, {item.webhook_id for item in items} - {0})
            items = [item for item in items if not item.webhook_id or item.webhook_id in live]
            await deliveries.add(conn, items, now=now, give_up_at=give_up)
        self.published += len(items)
        if items:
            self.on_published()
        return more

    async def _chores(self) -> None:
        now = now_us()
        if now < self._next_chores:
            return
        self._next_chores = now + 30_000_000
        retention = int(self.settings.webhooks_retention_days * 24 * _HOUR_US)
        async with self.db.write() as conn:
            await deliveries.ready_stranded(conn, now=now)
            await deliveries.prune(conn, before=now - retention)
            await journal.prune(conn, before=now - retention)


async def _load_cursor(conn: AsyncConnection) -> FeedCursor:
    value = (
        await conn.execute(select(feed_cursors.c.position).where(feed_cursors.c.name == CURSOR))
    ).scalar()
    return FeedCursor.decode(value) if value else FeedCursor()


async def _move_cursor(conn: AsyncConnection, start: FeedCursor, cursor: FeedCursor) -> bool:
    await conn.execute(
        insert_ignore(conn, feed_cursors).values(name=CURSOR, position=FeedCursor().encode())
    )
    result = await conn.execute(
        update(feed_cursors)
        .where(feed_cursors.c.name == CURSOR, feed_cursors.c.position == start.encode())
        .values(position=cursor.encode())
    )
    return bool(result.rowcount)
