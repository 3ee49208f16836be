"""Drafts (messaggisms "transactions"): a message that collects recipients over several calls,
may change its send time, and is priced and queued only when closed. Also rescheduling a
message that has not left yet."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsbridge.core.errors import Conflict, NotFound, ValidationFailed
from smsbridge.core.message import Priority, Status
from smsbridge.services.addressing import Target
from smsbridge.services.caller import Caller
from smsbridge.services.message_plan import (
    SCHEDULE_SLACK_US,
    SendRequest,
    check_send_at,
    split_targets,
    to_us,
)
from smsbridge.services.send import SendService
from smsbridge.store import billing, guards, journal, optouts
from smsbridge.store.billing import Charge
from smsbridge.store.bulk import insert_rows
from smsbridge.store.db import now_us
from smsbridge.store.guards import GuardCheck
from smsbridge.store.messages import OPTED_OUT, RECIPIENT_COLUMNS, NewMessages
from smsbridge.store.schema import messages, recipients


class DraftService:
    def __init__(self, send: SendService) -> None:
        self.send = send
        self.db = send.billing.db

    async def _message(self, conn: AsyncConnection, caller: Caller, message_id: int) -> Any:
        row = (
            (
                await conn.execute(
                    select(messages).where(
                        messages.c.id == message_id, messages.c.account_id == caller.account_id
                    )
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound(f"No message {message_id} in this account.", code="message_not_found")
        return row

    async def _draft(self, conn: AsyncConnection, caller: Caller, message_id: int) -> Any:
        row = await self._message(conn, caller, message_id)
        if not row["draft"]:
            raise Conflict(
                "The message is not a draft (any more): recipients can only be added before it "
                "is closed. Send a new message instead.",
                code="not_a_draft",
            )
        return row

    async def add_recipients(
        self, caller: Caller, message_id: int, to: Sequence[str | Target]
    ) -> int:
        """Add recipients (numbers, groups, contacts; duplicates skipped); returns how many."""
        send = self.send
        prices = (await send.billing.billing(caller.account_id)).prices
        async with self.db.read() as conn:
            row = await self._draft(conn, caller, message_id)
        options = orjson.loads(row["draft_options"] or "{}")
        req = SendRequest(
            to=list(to),
            text=row["text"],
            sender=row["sender"],
            priority=Priority(row["priority"]),
            test=row["test"],
            draft=True,
            transactional=row["transactional"],
            channel=row["channel"],
            encoding=options.get("encoding", "auto"),
            missing_fields=options.get("missing_fields", "error"),
            udh=row["udh"],
        )
        resolved = await send.targets(caller, req)
        targets = split_targets(req.to) if resolved is None else resolved
        if not targets:
            raise ValidationFailed("No recipient given in `to`.", code="missing_recipient")
        now = now_us()
        async with self.db.write() as conn:
            row = await self._draft(conn, caller, message_id)
            count = row["recipient_count"]
            if count + len(targets) > send.settings.max_recipients:
                raise ValidationFailed(
                    f"A message takes at most {send.settings.max_recipients} recipients.",
                    code="too_many_recipients",
                )
            existing = (
                await conn.execute(
                    select(recipients.c.to_number).where(recipients.c.message_id == message_id)
                )
            ).scalars()
            plan = send.plan(caller, req, now)
            plan.expires_at = row["expires_at"]
            plan.send_at = row["send_at"]
            accepted = plan.accepted(message_id)
            rows = NewMessages()
            plan.add_recipients(
                accepted, rows, targets, prices, send.ids.next_id,
                seen=set(existing), first_position=count,
            )  # fmt: skip
            await insert_rows(conn, recipients, RECIPIENT_COLUMNS, rows.recipients)
            parts = max([row["parts"], *(r.parts or 0 for r in accepted.recipients)])
            await conn.execute(
                update(messages)
                .where(messages.c.id == message_id)
                .values(recipient_count=count + len(rows.recipients), parts=parts)
            )
        return len(rows.recipients)

    async def close(self, caller: Caller, message_id: int) -> None:
        """Price the draft, take out opted-out numbers, charge and queue it."""
        now = now_us()
        async with self.db.write() as conn:
            row = await self._draft(conn, caller, message_id)
            rcpts = (
                await conn.execute(
                    select(recipients.c.id, recipients.c.to_number, recipients.c.price).where(
                        recipients.c.message_id == message_id,
                        recipients.c.status == Status.DRAFT.value,
                    )
                )
            ).all()
            if not rcpts:
                raise Conflict(
                    "The draft has no recipients yet; add some with POST "
                    f"/api/v1/messages/{message_id}/recipients before closing it.",
                    code="no_recipients",
                )
            if not row["test"]:
                await self._guards(conn, caller, row, [r[1] for r in rcpts], now)
            opted: set[str] = set()
            if not row["transactional"]:
                opted = await optouts.matching(conn, caller.account_id, [r[1] for r in rcpts])
            if opted:
                await conn.execute(
                    update(recipients)
                    .where(
                        recipients.c.message_id == message_id,
                        recipients.c.status == Status.DRAFT.value,
                        recipients.c.to_number.in_(sorted(opted)),
                    )
                    .values(
                        status=Status.REJECTED.value,
                        error_code=OPTED_OUT[0],
                        error_message=OPTED_OUT[1],
                        price=0,
                        updated_at=now,
                    )
                )
            total = sum(r[2] for r in rcpts if r[1] not in opted)
            start, status, send_at = _timing(row["send_at"], now)
            expires_at = start + (row["expires_at"] - (row["send_at"] or row["created_at"]))
            if total and not row["test"]:
                await billing.charge(conn, [Charge(caller.account_id, message_id, total)], now)
            await conn.execute(
                update(recipients)
                .where(
                    recipients.c.message_id == message_id,
                    recipients.c.status == Status.DRAFT.value,
                )
                .values(
                    status=status.value,
                    due_at=None if row["test"] else start,
                    expires_at=expires_at,
                    updated_at=now,
                )
            )
            await conn.execute(
                update(messages)
                .where(messages.c.id == message_id)
                .values(
                    draft=False,
                    price=0 if row["test"] else total,
                    send_at=send_at,
                    expires_at=expires_at,
                )
            )
            await journal.append_queued(
                conn,
                {caller.account_id: ([message_id], row["callback_url"] is not None)},
                at=now,
            )
        self.send.ingest_committed()

    async def _guards(
        self, conn: AsyncConnection, caller: Caller, row: Any, numbers: list[str], now: int
    ) -> None:
        """The reload lock and daily cap apply when a draft is closed, as when it is sent."""
        bill = await self.send.billing.billing(caller.account_id)
        if not bill.reload_window and not bill.daily_cap:
            return
        options = orjson.loads(row["draft_options"] or "{}")
        check = GuardCheck(caller.account_id, bill.reload_window, bill.daily_cap, bill.timezone)
        check.messages.append(
            (row["id"], row["text"], tuple(numbers), bool(options.get("no_reload")))
        )
        refused = await guards.judge(conn, [check], now)
        if row["id"] in refused:
            raise refused[row["id"]]

    async def reschedule(self, caller: Caller, message_id: int, when: datetime | None) -> None:
        """Change when a draft or a not-yet-sent message goes out (None: now)."""
        now = now_us()
        target = to_us(when) if when is not None else now
        check_send_at(target, now)
        async with self.db.write() as conn:
            row = await self._message(conn, caller, message_id)
            start, status, send_at = _timing(target, now)
            ttl = row["expires_at"] - (row["send_at"] or row["created_at"])
            if row["draft"]:
                await conn.execute(
                    update(messages)
                    .where(messages.c.id == message_id)
                    .values(send_at=send_at, expires_at=start + ttl)
                )
                return
            result = await conn.execute(
                update(recipients)
                .where(
                    recipients.c.message_id == message_id,
                    recipients.c.status.in_([Status.QUEUED.value, Status.SCHEDULED.value]),
                    recipients.c.attempts == 0,
                    recipients.c.due_at.is_not(None),
                )
                .values(status=status.value, due_at=start, expires_at=start + ttl, updated_at=now)
            )
            if not result.rowcount:
                raise Conflict(
                    "Too late to reschedule: no recipient of this message is still waiting.",
                    code="already_sent",
                )
            await conn.execute(
                update(messages)
                .where(messages.c.id == message_id)
                .values(send_at=send_at, expires_at=start + ttl)
            )
        self.send.ingest_committed()


def _timing(send_at: int | None, now: int) -> tuple[int, Status, int | None]:
    """(start, status, send_at to keep) for a message due at ``send_at``."""
    if send_at is not None and send_at - now > SCHEDULE_SLACK_US:
        return send_at, Status.SCHEDULED, send_at
    return now, Status.QUEUED, None
