"""Accepting messages: validate, encode, price nothing yet, and commit to the outbox.

A message is accepted only once its rows are committed (group commit batches concurrent
requests into one transaction).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import datetime

from smsbridge.config import Settings
from smsbridge.core.encoding import EncodingError, segment
from smsbridge.core.errors import SmsBridgeError, ValidationFailed
from smsbridge.core.ids import IdGenerator
from smsbridge.core.message import Priority, Status
from smsbridge.core.numbers import InvalidNumber, normalize
from smsbridge.core.pricing import PriceList
from smsbridge.core.sender import validate_sender
from smsbridge.services.billing import BillingService
from smsbridge.services.caller import Caller
from smsbridge.store.billing import Billing, Charge
from smsbridge.store.db import now_us
from smsbridge.store.group_commit import GroupCommitter
from smsbridge.store.guards import GuardCheck
from smsbridge.store.messages import NewMessages

_REJECTED = Status.REJECTED.value
DEFAULT_PRICES = PriceList()
MAX_SCHEDULE_AHEAD_US = 366 * 24 * 3600 * 1_000_000
# A send_at less than this far ahead is treated as "now".
SCHEDULE_SLACK_US = 1_000_000


@dataclass(slots=True)
class SendRequest:
    to: list[str]
    text: str
    sender: str | None = None
    send_at: datetime | None = None
    priority: Priority = Priority.NORMAL
    ttl: int | None = None
    test: bool = False
    foreign_id: str | None = None
    label: str | None = None
    flash: bool = False
    encoding: str = "auto"
    no_reload: bool = False  # send even if the same text went to a number moments ago


@dataclass(slots=True)
class AcceptedRecipient:
    id: int
    to: str
    status: str
    error_code: str | None = None
    error_message: str | None = None


@dataclass(slots=True)
class AcceptedMessage:
    id: int
    text: str
    sender: str | None
    encoding: str
    parts: int
    test: bool
    priority: int
    created_at: int
    send_at: int | None
    expires_at: int | None
    foreign_id: str | None
    label: str | None
    flash: bool
    recipients: list[AcceptedRecipient] = field(default_factory=list)
    price: int = 0  # micro-credits; charged unless test
    balance: int | None = None  # the account's balance once accepted


@dataclass(slots=True)
class BatchError:
    index: int
    error: SmsBridgeError


class SendService:
    def __init__(
        self,
        settings: Settings,
        ids: IdGenerator,
        ingest: GroupCommitter[NewMessages],
        billing: BillingService,
    ) -> None:
        self.settings = settings
        self.ids = ids
        self.ingest = ingest
        self.billing = billing

    def prepare(
        self,
        caller: Caller,
        req: SendRequest,
        now: int | None = None,
        prices: PriceList = DEFAULT_PRICES,
    ) -> tuple[AcceptedMessage, NewMessages]:
        """Validate, price and build rows; raises :class:`SmsBridgeError` with the reason."""
        now = now or now_us()
        targets = _split_targets(req.to)
        if not targets:
            raise ValidationFailed(
                "No recipient given: set `to` to a number such as +4917612345678.",
                code="missing_recipient",
            )
        if len(targets) > self.settings.max_recipients:
            raise ValidationFailed(
                f"{len(targets)} recipients in one message; at most "
                f"{self.settings.max_recipients} are allowed. Split the list over several "
                "messages or use the batch endpoint.",
                code="too_many_recipients",
            )
        try:
            languages = caller.national_languages or tuple(self.settings.national_languages)
            seg = segment(
                req.text, req.encoding, languages=languages, max_parts=self.settings.max_parts
            )
        except EncodingError as exc:
            raise ValidationFailed(exc.message, code=exc.code) from None
        sender = req.sender if req.sender is not None else caller.default_sender
        if sender is None:
            sender = self.settings.default_sender
        if sender is not None:
            sender = validate_sender(sender)
        send_at = _to_us(req.send_at) if req.send_at is not None else None
        if send_at is not None and send_at - now > MAX_SCHEDULE_AHEAD_US:
            raise ValidationFailed(
                "send_at is more than a year ahead; schedule at most 366 days in advance.",
                code="send_at_too_far",
            )
        scheduled = send_at is not None and send_at - now > SCHEDULE_SLACK_US
        start = send_at if scheduled and send_at is not None else now
        ttl = req.ttl if req.ttl is not None else self.settings.default_ttl_seconds
        expires_at = start + ttl * 1_000_000
        status = Status.SCHEDULED if scheduled else Status.QUEUED
        region = caller.default_region or self.settings.default_region

        message_id = self.ids.next_id()
        priority = int(req.priority)
        created_send_at = send_at if scheduled else None
        accepted = AcceptedMessage(
            message_id,
            req.text,
            sender,
            seg.encoding.value,
            seg.part_count,
            req.test,
            priority,
            now,
            created_send_at,
            expires_at,
            req.foreign_id,
            req.label,
            req.flash,
        )
        rows = NewMessages()
        account_id = caller.account_id
        due = None if req.test else start
        status_value = status.value
        high = req.priority is Priority.HIGH
        parts = seg.part_count
        total = 0
        seen: set[str] = set()
        errors: list[dict[str, str]] = []
        next_id = self.ids.next_id
        for raw in targets:
            try:
                number = normalize(raw, region)
            except InvalidNumber as exc:
                rec = AcceptedRecipient(next_id(), raw, _REJECTED, exc.code, exc.message)
                errors.append({"to": raw, "code": exc.code, "message": exc.message})
                rec_due = None
                price = 0
            else:
                if number in seen:
                    continue
                seen.add(number)
                rec = AcceptedRecipient(next_id(), number, status_value)
                rec_due = due
                price = prices.cost(number, parts, high=high)
                total += price
            accepted.recipients.append(rec)
            # Order: RECIPIENT_COLUMNS.
            rows.recipients.append(
                (
                    rec.id,
                    message_id,
                    account_id,
                    len(rows.recipients),
                    rec.to,
                    price,
                    rec.status,
                    rec.error_code,
                    rec.error_message,
                    priority,
                    rec_due,
                    expires_at,
                    now,
                    now,
                )
            )
        if not seen:
            first = errors[0]
            raise ValidationFailed(
                first["message"]
                if len(errors) == 1
                else f"None of the {len(errors)} recipients is a valid number: {first['message']}",
                code=first["code"] if len(errors) == 1 else "no_valid_recipient",
                details=errors,
            )
        # Order: MESSAGE_COLUMNS.
        rows.messages.append(
            (
                message_id,
                account_id,
                req.text,
                sender,
                seg.encoding.value,
                ",".join(languages) if seg.locking_shift or seg.single_shift else None,
                seg.part_count,
                random.getrandbits(8),
                priority,
                req.flash,
                req.test,
                req.foreign_id,
                req.label,
                len(rows.recipients),
                total,
                now,
                created_send_at,
                expires_at,
            )
        )
        accepted.price = total
        if not req.test and total:
            rows.charges.append(Charge(account_id, message_id, total))
        return accepted, rows

    async def send(self, caller: Caller, req: SendRequest) -> AcceptedMessage:
        billing = await self.billing.billing(caller.account_id)
        accepted, rows = self.prepare(caller, req, prices=billing.prices)
        check = _guard_check(caller.account_id, billing, [(accepted, req.no_reload)])
        if check is not None:
            rows.checks.append(check)
        await self.ingest.submit(rows)
        if rows.refused:
            raise rows.refused[accepted.id]
        accepted.balance = rows.balances.get(caller.account_id)
        return accepted

    async def send_batch(
        self, caller: Caller, items: list[SendRequest | SmsBridgeError]
    ) -> tuple[list[AcceptedMessage], list[BatchError]]:
        """Accept the valid items in one transaction; report the others by index."""
        billing = await self.billing.billing(caller.account_id)
        staged = self.stage_batch(caller, items, billing)
        await self.commit(staged)
        staged.settle()
        return staged.accepted, staged.errors

    def stage_batch(
        self,
        caller: Caller,
        items: list[SendRequest | SmsBridgeError],
        billing: Billing,
    ) -> StagedBatch:
        """Validate, price and build the rows of a batch without writing them yet."""
        staged = StagedBatch()
        now = now_us()
        for index, item in enumerate(items):
            if isinstance(item, SmsBridgeError):
                staged.errors.append(BatchError(index, item))
                continue
            try:
                message, rows = self.prepare(caller, item, now, billing.prices)
            except SmsBridgeError as exc:
                staged.errors.append(BatchError(index, exc))
                continue
            staged.accepted.append(message)
            staged.indexes.append(index)
            staged.no_reload.append(item.no_reload)
            staged.rows.extend(rows)
        check = _guard_check(
            caller.account_id, billing, list(zip(staged.accepted, staged.no_reload, strict=True))
        )
        if check is not None:
            staged.rows.checks.append(check)
        return staged

    def commit(self, staged: StagedBatch) -> Awaitable[None]:
        """Start writing a staged batch; the messages are accepted once this resolves. The
        caller may do other work (e.g. render the reply) while the database writes."""
        if not staged.rows.messages:
            return asyncio.sleep(0)
        return self.ingest.submit_or_flush(staged.rows)


@dataclass(slots=True)
class StagedBatch:
    accepted: list[AcceptedMessage] = field(default_factory=list)
    indexes: list[int] = field(default_factory=list)  # request position of each accepted one
    no_reload: list[bool] = field(default_factory=list)
    errors: list[BatchError] = field(default_factory=list)
    rows: NewMessages = field(default_factory=NewMessages)

    def settle(self) -> None:
        """Once written: move the messages the checks refused from accepted to errors."""
        refused = self.rows.refused
        if not refused:
            return
        keep = [i for i, m in enumerate(self.accepted) if m.id not in refused]
        for i, message in enumerate(self.accepted):
            if message.id in refused:
                self.errors.append(BatchError(self.indexes[i], refused[message.id]))
        self.errors.sort(key=lambda e: e.index)
        self.accepted = [self.accepted[i] for i in keep]
        self.indexes = [self.indexes[i] for i in keep]
        self.no_reload = [self.no_reload[i] for i in keep]


def _split_targets(to: list[str]) -> list[str]:
    if len(to) == 1 and "," not in to[0]:
        single = to[0].strip()
        return [single] if single else []
    out: list[str] = []
    for item in to:
        out.extend(part for part in (p.strip() for p in item.split(",")) if part)
    return out


def _to_us(value: datetime) -> int:
    if value.tzinfo is None:
        raise ValidationFailed(
            "send_at needs a time zone: write it as 2026-05-01T09:30:00Z or with an offset "
            "such as +02:00, or give a unix timestamp.",
            code="invalid_send_at",
        )
    return int(value.timestamp() * 1_000_000)


def _guard_check(
    account_id: int, billing: Billing, messages: list[tuple[AcceptedMessage, bool]]
) -> GuardCheck | None:
    """What the reload lock and the daily cap must look at (None: nothing to check)."""
    if not billing.reload_window and not billing.daily_cap:
        return None
    check = GuardCheck(account_id, billing.reload_window, billing.daily_cap, billing.timezone)
    for message, no_reload in messages:
        if message.test:
            continue
        numbers = tuple(r.to for r in message.recipients if r.status != _REJECTED)
        check.messages.append((message.id, message.text, numbers, no_reload))
    return check if check.messages else None
