"""Accepting messages: validate, encode, price nothing yet, and commit to the outbox.

A message is accepted only once its rows are committed (group commit batches concurrent
requests into one transaction).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from smsbridge.config import Settings
from smsbridge.connectors.registry import CHANNELS
from smsbridge.core import netguard
from smsbridge.core.encoding import EncodingError, segment
from smsbridge.core.errors import SmsBridgeError, ValidationFailed
from smsbridge.core.ids import IdGenerator
from smsbridge.core.message import Status
from smsbridge.core.pricing import PriceList
from smsbridge.core.sender import validate_sender
from smsbridge.core.templates import parse as parse_template
from smsbridge.services.addressing import AddressBook, Target, needs_lookup
from smsbridge.services.billing import BillingService
from smsbridge.services.caller import Caller
from smsbridge.services.message_plan import (
    DEFAULT_PRICES,
    SCHEDULE_SLACK_US,
    AcceptedMessage,
    MessagePlan,
    SendRequest,
    apply_opt_outs,
    check_send_at,
    missing_recipient,
    no_valid_recipient,
    phone_channel,
    split_targets,
    to_us,
)
from smsbridge.services.plain_batch import PlainMessages, is_plain
from smsbridge.store import optouts
from smsbridge.store.billing import Billing, Charge
from smsbridge.store.db import now_us
from smsbridge.store.group_commit import GroupCommitter
from smsbridge.store.guards import GuardCheck
from smsbridge.store.messages import NewMessages

_REJECTED = Status.REJECTED.value


@dataclass(slots=True)
class BatchError:
    index: int
    error: SmsBridgeError


# A batch item once resolved: a plain request (:func:`is_plain`) as it came, any other with
# the targets its references resolved to (None: its numbers as given), or why it failed.
ResolvedItem = SendRequest | SmsBridgeError | tuple[SendRequest, list[Target] | None]


class SendService:
    def __init__(
        self,
        settings: Settings,
        ids: IdGenerator,
        ingest: GroupCommitter[NewMessages],
        billing: BillingService,
        addresses: AddressBook,
    ) -> None:
        self.addresses = addresses
        self.settings = settings
        self.on_queued: Callable[[], None] = lambda: None  # wakes the dispatcher
        # Refuses a phone (device_id, sim) the account does not have.
        self.check_device: Callable[[int, str, int | None], Awaitable[None]] = _no_check
        self.ids = ids
        self.ingest = ingest
        self.billing = billing
        # One bulk batch at a time per process, from parsing to commit. Preparing the next
        # batch while the database thread writes this one would starve that thread of the
        # interpreter lock and keep the database locked longer; other processes prepare
        # theirs meanwhile.
        self.bulk_turn = asyncio.Lock()

    def prepare(
        self,
        caller: Caller,
        req: SendRequest,
        now: int | None = None,
        prices: PriceList = DEFAULT_PRICES,
        targets: list[Target] | None = None,
    ) -> tuple[AcceptedMessage, NewMessages]:
        """Validate, price and build rows; raises :class:`SmsBridgeError` with the reason.

        ``targets`` are the recipients once group and contact references are resolved
        (default: ``req.to`` as numbers)."""
        now = now or now_us()
        if targets is None:
            targets = split_targets(req.to)
        if not targets:
            raise missing_recipient()
        if len(targets) > self.settings.max_recipients:
            raise ValidationFailed(
                f"{len(targets)} recipients in one message; at most "
                f"{self.settings.max_recipients} are allowed. Split the list over several "
                "messages, use the batch endpoint, or send a campaign.",
                code="too_many_recipients",
            )
        plan = self.plan(caller, req, now)
        accepted = plan.accepted(self.ids.next_id())
        rows = NewMessages()
        plan.add_recipients(accepted, rows, targets, prices, self.ids.next_id)
        if not any(r.status != _REJECTED for r in accepted.recipients):
            raise no_valid_recipient([r for r in accepted.recipients if r.error_code is not None])
        rows.messages.append(plan.message_row(accepted))
        if req.transactional or req.draft:
            rows.exempt.add(accepted.id)
        if not req.test and not req.draft and accepted.price:
            rows.charges.append(Charge(caller.account_id, accepted.id, accepted.price))
        return accepted, rows

    def ingest_committed(self) -> None:
        """Recipients were queued outside the group commit (drafts closed, campaigns)."""
        self.on_queued()

    def plan(self, caller: Caller, req: SendRequest, now: int) -> MessagePlan:
        """Everything about a message except its recipients: checked text, sender, timing."""
        languages = caller.national_languages or tuple(self.settings.national_languages)
        template = parse_template(req.text)
        try:
            # A template is checked as written (placeholders may make it longer or shorter);
            # each rendered text is checked against the part limit.
            seg = segment(
                req.text,
                req.encoding,
                languages=languages,
                max_parts=255 if template.personal else self.settings.max_parts,
                udh=req.udh,
            )
        except EncodingError as exc:
            raise ValidationFailed(exc.message, code=exc.code) from None
        if req.udh is not None and req.encoding != "binary":
            raise ValidationFailed(
                "A user data header (`udh`) goes with a binary SMS: set `encoding` to binary "
                "and give the data as hex in `text`.",
                code="udh_needs_binary",
            )
        sender = req.sender if req.sender is not None else caller.default_sender
        if sender is None:
            sender = self.settings.default_sender
        if sender is not None:
            sender = validate_sender(sender)
        req.channel = phone_channel(req.channel, req.device_id, req.sim)
        if req.channel is not None and req.channel not in CHANNELS:
            raise ValidationFailed(
                f"Unknown channel {req.channel!r}; choose one of {', '.join(CHANNELS)} or leave "
                "`channel` out to let the router choose.",
                code="unknown_channel",
            )
        if req.callback_url is not None:
            target = netguard.parse_url(req.callback_url)
            if not self.settings.webhooks_allow_private:
                netguard.refuse_private_literal(target)
        send_at = to_us(req.send_at) if req.send_at is not None else None
        if send_at is not None:
            check_send_at(send_at, now)
        scheduled = send_at is not None and send_at - now > SCHEDULE_SLACK_US
        start = send_at if scheduled and send_at is not None else now
        ttl = req.ttl if req.ttl is not None else self.settings.default_ttl_seconds
        status = Status.DRAFT if req.draft else Status.SCHEDULED if scheduled else Status.QUEUED
        return MessagePlan(
            account_id=caller.account_id,
            request=req,
            template=template,
            seg=seg,
            languages=languages,
            sender=sender,
            now=now,
            send_at=send_at if scheduled else None,
            due=None if req.test or req.draft else start,
            expires_at=start + ttl * 1_000_000,
            status=status.value,
            region=caller.default_region or self.settings.default_region,
            max_parts=self.settings.max_parts,
        )

    async def targets(self, caller: Caller, req: SendRequest) -> list[Target] | None:
        """Resolved recipients when ``to`` names groups or contacts or the text has
        placeholders; None when ``to`` is plain numbers for a plain text (no lookup)."""
        if req.verbatim_numbers:  # phone numbers (or their ciphertext) exactly as given
            return [t if isinstance(t, Target) else Target(t) for t in req.to]
        targets = split_targets(req.to)
        if not needs_lookup(targets, "{{" in req.text):
            return None
        return await self.addresses.resolve(caller, targets, limit=self.settings.max_recipients)

    async def send(self, caller: Caller, req: SendRequest) -> AcceptedMessage:
        if req.device_id is not None:
            await self.check_device(caller.account_id, req.device_id, req.sim)
        billing = await self.billing.billing(caller.account_id)
        targets = await self.targets(caller, req)
        accepted, rows = self.prepare(caller, req, prices=billing.prices, targets=targets)
        check = None if req.draft else _guard_check(caller.account_id, billing,
                                                    [(accepted, req.no_reload)])  # fmt: skip
        if check is not None:
            rows.checks.append(check)
        await self.ingest.submit(rows)
        if rows.refused:
            raise rows.refused[accepted.id]
        apply_opt_outs(accepted, rows.opted_out)
        accepted.balance = rows.balances.get(caller.account_id)
        return accepted

    async def send_batch(
        self, caller: Caller, items: list[SendRequest | SmsBridgeError]
    ) -> tuple[list[AcceptedMessage], list[BatchError]]:
        """Accept the valid items in one transaction; report the others by index."""
        async with self.bulk_turn:
            billing = await self.billing.billing(caller.account_id)
            resolved = await self.resolve_batch(caller, items)
            staged = self.stage_batch(caller, resolved, billing)
            await self.commit(staged)
        staged.settle()
        return staged.accepted, staged.errors

    async def resolve_batch(
        self, caller: Caller, items: list[SendRequest | SmsBridgeError]
    ) -> list[ResolvedItem]:
        """Resolve group and contact references item by item (a failure is that item's)."""
        out: list[ResolvedItem] = []
        for item in items:
            if isinstance(item, SendRequest) and not is_plain(item):
                try:
                    if item.device_id is not None:
                        await self.check_device(caller.account_id, item.device_id, item.sim)
                    out.append((item, await self.targets(caller, item)))
                except SmsBridgeError as exc:
                    out.append(exc)
                continue
            out.append(item)
        return out

    async def preview(
        self, caller: Caller, req: SendRequest, sample: int | None = None
    ) -> AcceptedMessage:
        """What a send would do (rendered texts, encodings, parts, prices, rejections), without
        writing anything; ``sample`` limits it to the first recipients."""
        billing = await self.billing.billing(caller.account_id)
        resolved = await self.targets(caller, req)
        targets = split_targets(req.to) if resolved is None else resolved
        if sample is not None:
            targets = targets[:sample]
        accepted, _ = self.prepare(caller, req, prices=billing.prices, targets=targets)
        if not req.transactional:
            numbers = [r.to for r in accepted.recipients if r.status != _REJECTED]
            async with self.billing.db.read() as conn:
                opted = await optouts.matching(conn, caller.account_id, numbers)
            apply_opt_outs(accepted, {r.id for r in accepted.recipients if r.to in opted})
        return accepted

    def stage_batch(
        self,
        caller: Caller,
        items: Sequence[ResolvedItem],
        billing: Billing,
    ) -> StagedBatch:
        """Validate, price and build the rows of a batch (as :meth:`resolve_batch` leaves it)
        without writing them yet."""
        staged = StagedBatch()
        now = now_us()
        simple = [isinstance(entry, SendRequest) for entry in items]
        plain = self.plain_messages(caller, now, billing.prices, sum(simple))
        for index, entry in enumerate(items):
            if isinstance(entry, SmsBridgeError):
                staged.errors.append(BatchError(index, entry))
                continue
            item, targets = entry if isinstance(entry, tuple) else (entry, None)
            try:
                if simple[index]:
                    message = plain.prepare(item, staged.rows)
                else:
                    message, rows = self.prepare(caller, item, now, billing.prices, targets)
                    staged.rows.extend(rows)
            except SmsBridgeError as exc:
                staged.errors.append(BatchError(index, exc))
                continue
            staged.accepted.append(message)
            staged.indexes.append(index)
            staged.no_reload.append(item.no_reload)
        check = _guard_check(
            caller.account_id, billing, list(zip(staged.accepted, staged.no_reload, strict=True))
        )
        if check is not None:
            staged.rows.checks.append(check)
        return staged

    def plain_messages(
        self, caller: Caller, now: int, prices: PriceList, count: int = 1
    ) -> PlainMessages:
        """Prepares a batch's (``count``) plain messages as :meth:`prepare` would, faster."""
        settings = self.settings
        return PlainMessages(
            account_id=caller.account_id,
            default_sender=caller.default_sender
            if caller.default_sender is not None
            else settings.default_sender,
            languages=caller.national_languages or tuple(settings.national_languages),
            region=caller.default_region or settings.default_region,
            now=now,
            ttl_seconds=settings.default_ttl_seconds,
            max_parts=settings.max_parts,
            prices=prices,
            next_id=self.ids.reserve(2 * count),  # a message and its recipient each
        )

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
        """Once written: move the messages the checks refused from accepted to errors, and mark
        opted-out recipients."""
        if self.rows.opted_out:
            for message in self.accepted:
                apply_opt_outs(message, self.rows.opted_out)
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


def _guard_check(
    account_id: int, billing: Billing, messages: list[tuple[AcceptedMessage, bool]]
) -> GuardCheck | None:
    """What the reload lock and the daily cap must look at (None: nothing to check)."""
    if not billing.reload_window and not billing.daily_cap:
        return None
    check = GuardCheck(account_id, billing.reload_window, billing.daily_cap, billing.timezone)
    for message, no_reload in messages:
        if message.test or message.draft:
            continue
        recipients = message.recipients
        if len(recipients) == 1:  # most messages: no generator needed
            only = recipients[0]
            numbers: tuple[str, ...] = () if only.status == _REJECTED else (only.to,)
        else:
            numbers = tuple(r.to for r in recipients if r.status != _REJECTED)
        check.messages.append((message.id, message.text, numbers, no_reload))
    return check if check.messages else None


async def _no_check(_account_id: int, _device_id: str, _sim: int | None) -> None:
    return None
