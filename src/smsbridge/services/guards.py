"""The reload lock and the daily cap per recipient number.

The same text to the same number within the account's reload window (180 s by default) is
refused unless the request says ``no_reload``; an account may also cap the messages per number
per day (in its time zone). Checks of concurrent requests are answered together by one query
per account (they sit on the hot path of every send). Two identical requests racing within the
same few milliseconds may both pass: the lock guards against repeated clicks and retries, not
against deliberate parallel duplicates.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from smsbridge.core.errors import Conflict, SmsBridgeError, TooManyRequests
from smsbridge.core.message import Status
from smsbridge.store import guards as repo
from smsbridge.store.billing import Billing
from smsbridge.store.db import Database, now_us
from smsbridge.store.group_commit import GroupCommitter

if TYPE_CHECKING:
    from smsbridge.services.send import AcceptedMessage

_REJECTED = Status.REJECTED.value


@dataclass(slots=True)
class _Check:
    account_id: int
    billing: Billing
    messages: list[tuple[AcceptedMessage, bool]]  # (message, no_reload)
    now: int
    refused: dict[int, SmsBridgeError] = field(default_factory=dict)


class SendGuard:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._reader: GroupCommitter[_Check] = GroupCommitter(
            self._answer, name="send-guards", max_batch=20_000,
            weight=lambda check: len(check.messages),
        )  # fmt: skip

    def start(self) -> None:
        self._reader.start()

    async def stop(self) -> None:
        await self._reader.stop()

    async def check(
        self, account_id: int, billing: Billing, messages: list[tuple[AcceptedMessage, bool]]
    ) -> dict[int, SmsBridgeError]:
        """Message id -> why it is refused, for the messages that break a rule."""
        if not billing.reload_window and not billing.daily_cap:
            return {}
        wanted = [(m, no_reload) for m, no_reload in messages if not m.test]
        if not wanted:
            return {}
        check = _Check(account_id, billing, wanted, now_us())
        await self._reader.submit(check)
        return check.refused

    async def _answer(self, checks: list[_Check]) -> None:
        by_account: dict[int, list[_Check]] = {}
        for check in checks:
            by_account.setdefault(check.account_id, []).append(check)
        for account_id, group in by_account.items():
            billing = group[0].billing
            now = max(c.now for c in group)
            numbers = sorted(
                {r.to for c in group for m, _ in c.messages for r in m.recipients
                 if r.status != _REJECTED}
            )  # fmt: skip
            async with self.db.read() as conn:
                sent = (
                    await repo.recent_texts(
                        conn, account_id, numbers, now - billing.reload_window * 1_000_000
                    )
                    if billing.reload_window
                    else set()
                )
                counts = (
                    await repo.counts_since(
                        conn, account_id, numbers, _local_midnight(now, billing.timezone)
                    )
                    if billing.daily_cap
                    else {}
                )
            seen: set[tuple[str, str]] = set()
            added: Counter[str] = Counter()
            for check in group:
                for message, no_reload in check.messages:
                    refused = _judge(message, no_reload, billing, sent, seen, counts, added)
                    if refused is not None:
                        check.refused[message.id] = refused
                        continue
                    for r in message.recipients:
                        if r.status != _REJECTED:
                            seen.add((r.to, message.text))
                            added[r.to] += 1


def _judge(
    message: AcceptedMessage,
    no_reload: bool,
    billing: Billing,
    sent: set[tuple[str, str]],
    seen: set[tuple[str, str]],
    counts: dict[str, int],
    added: Counter[str],
) -> SmsBridgeError | None:
    numbers = [r.to for r in message.recipients if r.status != _REJECTED]
    if billing.reload_window and not no_reload:
        for number in numbers:
            if (number, message.text) in sent or (number, message.text) in seen:
                return Conflict(
                    f"The same text went to {number} less than {billing.reload_window} s ago; "
                    "set no_reload: true to send it again anyway.",
                    code="reload_lock",
                    details={"to": number, "window_seconds": billing.reload_window},
                )
    cap = billing.daily_cap
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


def _local_midnight(now_us_value: int, timezone: str) -> int:
    zone = ZoneInfo(timezone)
    local = datetime.fromtimestamp(now_us_value / 1_000_000, UTC).astimezone(zone)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return int(midnight.timestamp() * 1_000_000)
