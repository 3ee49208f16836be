"""The webhook outbox: deliveries waiting, claimed, retried, done or dead-lettered.

A delivery is claimed like a recipient in the message outbox: its ``due_at`` moves to the end
of a lease, and if the process dies mid-attempt the lease runs out and another process tries
again. Deliveries sharing an order key (one recipient's events, to one target) go one at a
time: a new one waits while an earlier one is open, and finishing one (delivered or dead)
readies the next. Queueing and finishing take one advisory lock on PostgreSQL, so a delivery
queued behind one being finished at that moment is either seen by the finish or sees it
finished (SQLite has one writer anyway).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, delete, exists, func, null, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from smsbridge.store.bulk import executemany, insert_rows, one_of
from smsbridge.store.schema import webhook_attempts, webhook_deliveries

Row = dict[str, Any]
WAITING, READY, DONE, DEAD = "waiting", "ready", "done", "dead"
GONE = "gone"  # a result only: the subscription was deleted, the delivery goes with it
# Spelled as in the partial index, so both databases use it.
_OPEN = text("webhook_deliveries.state IN ('waiting', 'ready')")
d = webhook_deliveries


@dataclass(frozen=True, slots=True)
class NewDelivery:
    account_id: int
    webhook_id: int  # 0: the message's callback_url
    url: str | None
    event_id: str
    event_type: str
    order_key: int  # 0: unordered
    payload: str
    format: str | None = None  # a provider's payload format; None: smsbridge's own


_COLUMNS = (
    "account_id", "webhook_id", "url", "event_id", "event_type", "order_key", "payload", "state",
    "due_at", "give_up_at", "created_at", "format",
)  # fmt: skip


async def add(
    conn: AsyncConnection, items: Sequence[NewDelivery], *, now: int, give_up_at: int
) -> None:
    """Queue deliveries; ordered ones wait behind an open delivery with the same key."""
    if not items:
        return
    if any(item.order_key for item in items):
        await _serialize(conn)
    busy = await _open_keys(conn, items)
    rows = []
    for item in items:
        key = (item.webhook_id, item.order_key)
        waiting = item.order_key != 0 and key in busy
        if item.order_key:
            busy.add(key)
        rows.append(
            (item.account_id, item.webhook_id, item.url, item.event_id, item.event_type,
             item.order_key, item.payload, WAITING if waiting else READY,
             None if waiting else now, give_up_at, now, item.format)
        )  # fmt: skip
    await insert_rows(conn, d, _COLUMNS, rows)


async def _open_keys(conn: AsyncConnection, items: Sequence[NewDelivery]) -> set[tuple[int, int]]:
    per_target: dict[int, set[int]] = {}
    for item in items:
        if item.order_key:
            per_target.setdefault(item.webhook_id, set()).add(item.order_key)
    busy: set[tuple[int, int]] = set()
    for webhook_id, keys in per_target.items():
        ordered = sorted(keys)
        for start in range(0, len(ordered), 500):
            query = select(d.c.webhook_id, d.c.order_key).where(
                _OPEN,
                d.c.webhook_id == webhook_id,
                one_of(conn, d.c.order_key, ordered[start : start + 500]),
            )
            busy.update((r[0], r[1]) for r in (await conn.execute(query)).all())
    return busy


_ORDER_LOCK = 0x5EB400C5  # pg_advisory_xact_lock key: queueing vs finishing ordered deliveries


async def _serialize(conn: AsyncConnection) -> None:
    if conn.dialect.name == "postgresql":
        await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_ORDER_LOCK})")


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    account_id: int
    webhook_id: int
    url: str | None
    event_id: str
    event_type: str
    order_key: int
    payload: str
    attempt: int
    give_up_at: int
    format: str | None = None


async def claim(conn: AsyncConnection, *, now: int, lease_until: int, limit: int) -> list[Claimed]:
    due = select(d.c.id).where(d.c.due_at.is_not(None), d.c.due_at <= now)
    due = due.order_by(d.c.due_at).limit(limit)
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = [r[0] for r in (await conn.execute(due)).all()]
    if not ids:
        return []
    result = await conn.execute(
        update(d)
        .where(one_of(conn, d.c.id, ids))
        .values(due_at=lease_until, attempts=d.c.attempts + 1, last_attempt_at=now)
        .returning(
            d.c.id, d.c.account_id, d.c.webhook_id, d.c.url, d.c.event_id, d.c.event_type,
            d.c.order_key, d.c.payload, d.c.attempts, d.c.give_up_at, d.c.format,
        )
    )  # fmt: skip
    return sorted((Claimed(*row) for row in result.all()), key=lambda c: c.id)


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome of one attempt."""

    delivery_id: int
    webhook_id: int
    order_key: int
    attempt: int
    at: int
    status_code: int | None
    latency_ms: int | None
    error: str | None
    state: str  # DONE, READY (try again at retry_at) or DEAD
    retry_at: int | None = None


_finish = (
    update(d)
    .where(d.c.id == bindparam("did"))
    .values(
        state=bindparam("new_state"), due_at=bindparam("new_due"), done_at=bindparam("new_done"),
        status_code=bindparam("code"), latency_ms=bindparam("latency"), error=bindparam("err"),
    )
)  # fmt: skip
_FINISH_BINDS = ("new_state", "new_due", "new_done", "code", "latency", "err", "did")
_ATTEMPT_COLUMNS = ("delivery_id", "attempt", "at", "status_code", "latency_ms", "error")


async def finish(conn: AsyncConnection, results: Sequence[Result], *, now: int) -> None:
    gone = [r.delivery_id for r in results if r.state == GONE]
    if gone:
        await conn.execute(delete(d).where(one_of(conn, d.c.id, gone)))
        results = [r for r in results if r.state != GONE]
    if not results:
        return
    results = sorted(results, key=lambda r: r.delivery_id)  # rows locked in one order
    await executemany(
        conn,
        _finish,
        _FINISH_BINDS,
        [
            (r.state, r.retry_at if r.state == READY else None,
             r.at if r.state != READY else None, r.status_code, r.latency_ms, r.error,
             r.delivery_id)
            for r in results
        ],
    )  # fmt: skip
    failed = [r for r in results if r.state != DONE]
    if failed:  # not for deliveries deleted meanwhile with their subscription
        result = await conn.execute(
            select(d.c.id).where(one_of(conn, d.c.id, [r.delivery_id for r in failed]))
        )
        present = {row[0] for row in result.all()}
        failed = [r for r in failed if r.delivery_id in present]
    await insert_rows(
        conn,
        webhook_attempts,
        _ATTEMPT_COLUMNS,
        [(r.delivery_id, r.attempt, r.at, r.status_code, r.latency_ms, r.error) for r in failed],
    )
    closed = [r for r in results if r.state != READY and r.order_key]
    if closed:
        await _serialize(conn)
        await _ready_next(conn, {(r.webhook_id, r.order_key) for r in closed}, now)


async def _ready_next(conn: AsyncConnection, keys: set[tuple[int, int]], now: int) -> None:
    per_target: dict[int, list[int]] = {}
    for webhook_id, order_key in keys:
        per_target.setdefault(webhook_id, []).append(order_key)
    first: dict[tuple[int, int], int] = {}
    for webhook_id, order_keys in per_target.items():
        for start in range(0, len(order_keys), 500):
            result = await conn.execute(
                select(d.c.order_key, d.c.id, d.c.state).where(
                    _OPEN,
                    d.c.webhook_id == webhook_id,
                    one_of(conn, d.c.order_key, order_keys[start : start + 500]),
                )
            )
            for order_key, delivery_id, state in result.all():
                key = (webhook_id, order_key)
                if state == READY:
                    first[key] = -1  # one is open already
                elif key not in first or (first[key] != -1 and delivery_id < first[key]):
                    first[key] = delivery_id
    ids = [i for i in first.values() if i > 0]
    if ids:
        await conn.execute(
            update(d).where(one_of(conn, d.c.id, ids)).values(state=READY, due_at=now)
        )


async def ready_stranded(conn: AsyncConnection, *, now: int) -> int:
    """Ready waiting deliveries with nothing open before them (a safety net for a finish that
    raced with the publisher)."""
    await _serialize(conn)
    earlier = aliased(d)
    blocked = exists().where(
        earlier.c.webhook_id == d.c.webhook_id,
        earlier.c.order_key == d.c.order_key,
        earlier.c.state.in_([WAITING, READY]),
        earlier.c.id < d.c.id,
    )
    result = await conn.execute(
        update(d).where(d.c.state == WAITING, ~blocked).values(state=READY, due_at=now)
    )
    return int(result.rowcount or 0)


async def page(
    conn: AsyncConnection,
    webhook_id: int,
    *,
    state: str | None,
    before_id: int | None,
    limit: int,
) -> list[Row]:
    query = select(d).where(d.c.webhook_id == webhook_id)
    if state is not None:
        query = query.where(d.c.state == state)
    if before_id is not None:
        query = query.where(d.c.id < before_id)
    rows = [
        dict(r) for r in (await conn.execute(query.order_by(d.c.id.desc()).limit(limit))).mappings()
    ]
    if rows:
        result = await conn.execute(
            select(webhook_attempts)
            .where(one_of(conn, webhook_attempts.c.delivery_id, [r["id"] for r in rows]))
            .order_by(webhook_attempts.c.id)
        )
        failures: dict[int, list[Row]] = {}
        for a in result.mappings():
            failures.setdefault(a["delivery_id"], []).append(dict(a))
        for r in rows:
            r["failures"] = failures.get(r["id"], [])
    return rows


async def get(conn: AsyncConnection, webhook_id: int, delivery_id: int) -> Row | None:
    result = await conn.execute(
        select(d).where(d.c.id == delivery_id, d.c.webhook_id == webhook_id)
    )
    row = result.mappings().first()
    return dict(row) if row is not None else None


async def redeliver(
    conn: AsyncConnection,
    webhook_id: int,
    *,
    now: int,
    give_up_at: int,
    delivery_id: int | None = None,
) -> int:
    """Send again: one delivery (dead or done), or every dead letter of the subscription."""
    cond = and_(d.c.webhook_id == webhook_id)
    if delivery_id is not None:
        cond = and_(cond, d.c.id == delivery_id, d.c.state.in_([DONE, DEAD]))
    else:
        cond = and_(cond, d.c.state == DEAD)
    result = await conn.execute(
        update(d).where(cond).values(state=READY, due_at=now, give_up_at=give_up_at, done_at=null())
    )
    return int(result.rowcount or 0)


async def release(conn: AsyncConnection, ids: Sequence[int], *, now: int) -> None:
    """Hand back claimed deliveries that were not attempted (their attempt is not counted)."""
    await conn.execute(
        update(d)
        .where(one_of(conn, d.c.id, list(ids)), d.c.state == READY, d.c.due_at > now)
        .values(due_at=now, attempts=d.c.attempts - 1)
    )


async def prune(conn: AsyncConnection, *, before: int, limit: int = 10_000) -> int:
    """Forget finished deliveries older than ``before``."""
    ids = [
        r[0]
        for r in (
            await conn.execute(
                select(d.c.id).where(d.c.done_at.is_not(None), d.c.done_at < before).limit(limit)
            )
        ).all()
    ]
    if ids:
        await conn.execute(
            delete(webhook_attempts).where(one_of(conn, webhook_attempts.c.delivery_id, ids))
        )
        await conn.execute(delete(d).where(one_of(conn, d.c.id, ids)))
    # Attempts recorded after their delivery was deleted with its subscription.
    await conn.execute(
        delete(webhook_attempts).where(~exists().where(d.c.id == webhook_attempts.c.delivery_id))
    )
    return len(ids)


async def counts(conn: AsyncConnection, webhook_id: int) -> dict[str, int]:
    result = await conn.execute(
        select(d.c.state, func.count()).where(d.c.webhook_id == webhook_id).group_by(d.c.state)
    )
    return {state: int(n) for state, n in result.all()}


async def claim_event(conn: AsyncConnection, webhook_id: int, event_id: str, *, now: int) -> int:
    """Take a just-queued delivery out of the queue to attempt it inline (webhook tests)."""
    delivery_id = (
        await conn.execute(
            select(d.c.id)
            .where(d.c.webhook_id == webhook_id, d.c.event_id == event_id)
            .order_by(d.c.id.desc())
            .limit(1)
        )
    ).scalar_one()
    await conn.execute(
        update(d)
        .where(d.c.id == delivery_id)
        .values(due_at=null(), attempts=1, last_attempt_at=now)
    )
    return int(delivery_id)
