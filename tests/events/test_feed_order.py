"""The event feed never skips a row that commits after a later one, and a publisher that fails
mid-round neither loses nor repeats events."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from smsbridge.services import webhook_publisher
from smsbridge.store import feed, journal
from smsbridge.store.db import Database
from smsbridge.store.feed import FeedCursor
from smsbridge.store.schema import webhook_deliveries
from smsbridge.testing.webhook_receiver import WebhookReceiver
from tests.conftest import truncate_pg, wait_for


async def test_a_late_commit_is_not_skipped(pg_database: str) -> None:
    """PostgreSQL only: SQLite writes one transaction at a time, so its ids are commit order."""
    truncate_pg(pg_database)
    db = Database(pg_database)
    try:
        early = await db.writer.connect()
        await early.begin()
        await journal.append(early, account_id=1, kind="test", at=1, ref=1)  # not committed
        async with db.write() as late:
            await journal.append(late, account_id=1, kind="test", at=2, ref=2)
        async with db.read() as conn:
            batch = await feed.read(conn, FeedCursor(), limit=100)
        # The later row is committed, but reading it now would move the position past the
        # earlier transaction's row for good.
        assert [e["ref"] for e in batch.journal] == []
        await early.commit()
        await early.close()
        async with db.read() as conn:
            batch = await feed.read(conn, FeedCursor(), limit=100)
        assert [e["ref"] for e in batch.journal] == [1, 2]
        async with db.read() as conn:
            again = await feed.read(conn, batch.cursor, limit=100)
        assert again.journal == [] and again.cursor == batch.cursor
    finally:
        await db.dispose()


async def test_failed_round_publishes_everything_once(
    live_factory: Any, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = await WebhookReceiver().start()
    try:
        live = await live_factory(
            database_url, webhooks_allow_private=True, webhooks_poll_interval_ms=20
        )
        r = await live.client.post(
            "/api/v1/webhooks", json={"url": receiver.url, "events": ["*"]}, headers=live.headers
        )
        assert r.status_code == 201
        failures = {"left": 3}
        original = webhook_publisher.deliveries.add

        async def flaky(*args: Any, **kwargs: Any) -> None:
            if failures["left"]:
                failures["left"] -= 1
                raise RuntimeError("the database went away mid-round")
            await original(*args, **kwargs)

        monkeypatch.setattr(webhook_publisher.deliveries, "add", flaky)
        for i in range(5):
            r = await live.client.post(
                "/api/v1/messages", json={"to": f"+49176123456{i:02d}", "text": "hi"},
                headers=live.headers,
            )  # fmt: skip
            assert r.status_code == 202

        async def all_arrived() -> bool:
            return len(receiver.accepted()) >= 15

        await wait_for(all_arrived, timeout=20)
        assert failures["left"] == 0
        async with live.gateway.db.read() as conn:
            total = await conn.execute(select(func.count()).select_from(webhook_deliveries))
            distinct = await conn.execute(
                select(func.count(func.distinct(webhook_deliveries.c.event_id)))
            )
            assert total.scalar_one() == distinct.scalar_one() == 15
    finally:
        await receiver.stop()
