"""The reload lock and the daily cap per recipient number.

The same text to the same number within the account's reload window (180 s by default) is
refused unless the message says ``no_reload``; an account may also cap the messages per number
per day (in its time zone). The checks run inside the transaction that writes the messages,
for all messages of a group commit at once, each as one statement whose text never changes
(the numbers go in as one parameter: a JSON array on SQLite, an array on PostgreSQL). On SQLite
writers are serialised, so two identical requests can never both pass; on PostgreSQL two
processes committing the same text to the same number in the same instant could.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from smsbridge.core.errors import Conflict, SmsBridgeError, TooManyRequests

_SELECTS = {
    "recent": "SELECT r.to_number, m.text",
    "counts": "SELECT r.to_number, count(*)",
}
_WHERE = {
    "sqlite": (
        " FROM recipients r JOIN messages m ON m.id = r.message_id"
        " WHERE r.account_id = ? AND r.to_number IN (SELECT value FROM json_each(?))"
        " AND r.created_at >= ? AND m.test = 0"
        " AND r.status NOT IN ('rejected', 'draft', 'cancelled')"
    ),
    "postgresql": (
        " FROM recipients r JOIN messages m ON m.id = r.message_id"
        " WHERE r.account_id = $1 AND r.to_number = ANY($2::varchar[])"
        " AND r.created_at >= $3 AND m.test = false"
        " AND r.status NOT IN ('rejected', 'draft', 'cancelled')"
    ),
}


def _sql(conn: AsyncConnection, kind: str) -> str:
    dialect = conn.dialect.name
    group = " GROUP BY r.to_number" if kind == "counts" else ""
    return _SELECTS[kind] + _WHERE[dialect] + group


def _numbers(conn: AsyncConnection, numbers: Sequence[str]) -> object:
    return orjson.dumps(list(numbers)).decode() if conn.dialect.name == "sqlite" else list(numbers)


async def recent_texts(
    conn: AsyncConnection, account_id: int, numbers: Sequence[str], since: int
) -> set[tuple[str, str]]:
    """(number, text) pairs sent (not rejected, not test) since ``since``."""
    result = await conn.exec_driver_sql(
        _sql(conn, "recent"), (account_id, _numbers(conn, numbers), since)
    )
    rows: list[Any] = list(result.all())
    return {(str(row[0]), str(row[1])) for row in rows}


async def counts_since(
    conn: AsyncConnection, account_id: int, numbers: Sequence[str], since: int
) -> dict[str, int]:
    result = await conn.exec_driver_sql(
        _sql(conn, "counts"), (account_id, _numbers(conn, numbers), since)
    )
    rows: list[Any] = list(result.all())
    return {str(row[0]): int(row[1]) for row in rows}


@dataclass(slots=True)
class GuardCheck:
    """Messages of one account to check against its reload lock and daily cap."""

    account_id: int
    reload_window: int  # seconds; 0: off
    daily_cap: int | None
    timezone: str
    # (message id, text, valid numbers, no_reload)
    messages: list[tuple[int, str, tuple[str, ...], bool]] = field(default_factory=list)


async def judge(
    conn: AsyncConnection, checks: Sequence[GuardCheck], now: int
) -> dict[int, SmsBridgeError]:
    """Message id -> why it is refused. Runs inside the transaction that writes the messages,
    so a message accepted a moment ago in this process counts."""
    refused: dict[int, SmsBridgeError] = {}
    by_account: dict[int, list[GuardCheck]] = {}
    for check in checks:
        by_account.setdefault(check.account_id, []).append(check)
    for account_id, group in by_account.items():
        rules = group[0]
        numbers = sorted({n for c in group for _, _, numbers, _ in c.messages for n in numbers})
        if not numbers:
            continue
        sent = (
            await recent_texts(conn, account_id, numbers, now - rules.reload_window * 1_000_000)
            if rules.reload_window
            else set()
        )
        counts = (
            await counts_since(conn, account_id, numbers, _local_midnight(now, rules.timezone))
            if rules.daily_cap
            else {}
        )
        seen: set[tuple[str, str]] = set()
        added: Counter[str] = Counter()
        for check in group:
            for message_id, text, numbers_of, no_reload in check.messages:
                reason = _judge(rules, text, numbers_of, no_reload, sent, seen, counts, added)
                if reason is not None:
                    refused[message_id] = reason
                    continue
                for number in numbers_of:
                    seen.add((number, text))
                    added[number] += 1
    return refused


def _judge(
    rules: GuardCheck,
    text: str,
    numbers: tuple[str, ...],
    no_reload: bool,
    sent: set[tuple[str, str]],
    seen: set[tuple[str, str]],
    counts: dict[str, int],
    added: Counter[str],
) -> SmsBridgeError | None:
    if rules.reload_window and not no_reload:
        for number in numbers:
            if (number, text) in sent or (number, text) in seen:
                return Conflict(
                    f"The same text went to {number} less than {rules.reload_window} s ago; "
                    "set no_reload: true to send it again anyway.",
                    code="reload_lock",
                    details={"to": number, "window_seconds": rules.reload_window},
                )
    cap = rules.daily_cap
    if cap:
        for number in numbers:
            if counts.get(number, 0) + added[number] + 1 > cap:
                return TooManyRequests(
                    f"{number} has had its {cap} messages for today from this account; it can "
                    "receive more tomorrow (the account's time zone), or raise the cap.",
                    code="daily_cap_reached",
                    details={"to": number, "daily_cap": cap},
                )
    return None


def _local_midnight(now: int, timezone: str) -> int:
    local = datetime.fromtimestamp(now / 1_000_000, UTC).astimezone(ZoneInfo(timezone))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return int(midnight.timestamp() * 1_000_000)
