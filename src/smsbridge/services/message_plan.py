"""A message as checked and priced before it is written: the request, its accepted form, and
the plan that turns targets into outbox rows (one send, a draft, a campaign chunk)."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from smsbridge.core.encoding import EncodingError, Language, Segmentation, segment
from smsbridge.core.errors import ValidationFailed
from smsbridge.core.message import Priority, Status
from smsbridge.core.numbers import InvalidNumber, normalize
from smsbridge.core.pricing import PriceList
from smsbridge.core.templates import Missing, MissingField, Template
from smsbridge.services.addressing import Target
from smsbridge.store.messages import OPTED_OUT, NewMessages

_REJECTED = Status.REJECTED.value
DEFAULT_PRICES = PriceList()
# Providers' clients schedule years ahead (seven.io's SDK examples use 2030).
MAX_SCHEDULE_AHEAD_US = 5 * 366 * 24 * 3600 * 1_000_000
# A send_at less than this far ahead is treated as "now".
SCHEDULE_SLACK_US = 1_000_000


@dataclass(slots=True)
class SendRequest:
    to: list[str | Target]  # numbers, group:NAME, group and contact names; Target adds fields
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
    channel: str | None = None  # a configured channel; None: the router's choice
    no_reload: bool = False  # send even if the same text went to a number moments ago
    transactional: bool = False  # sent to opted-out numbers too (one-time codes)
    draft: bool = False  # collect recipients over several calls; queued when closed
    missing_fields: Missing = "error"  # a placeholder without a value: refuse, or leave empty
    callback_url: str | None = None  # status events of this message are POSTed here too
    callback_format: str | None = None  # a provider's payload format for callback_url
    device_id: str | None = None  # phones: this device (the android channel)
    sim: int | None = None  # phones: this SIM slot (1-based)
    ext_id: str | None = None  # the id an SMSGate integrator gave the message
    device_options: dict[str, Any] | None = None  # what only phones read (encrypted, ...)
    verbatim_numbers: bool = False  # numbers go to the phone as given (encrypted, unchecked)
    udh: str | None = None  # binary SMS (encoding "binary"): the sender's own header, hex
    door_data: dict[str, Any] | None = None  # kept for the door's own replies (JSON)


@dataclass(slots=True)
class AcceptedRecipient:
    id: int
    to: str
    status: str
    error_code: str | None = None
    error_message: str | None = None
    text: str | None = None  # personalised text, if the message is a template
    parts: int | None = None
    encoding: str | None = None
    price: int = 0


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
    draft: bool = False
    recipients: list[AcceptedRecipient] = field(default_factory=list)
    price: int = 0  # micro-credits; charged unless test
    balance: int | None = None  # the account's balance once accepted


def concat_reference() -> int:
    """The concatenation reference of a message's parts (one octet, random per message)."""
    return random.getrandbits(8)


@dataclass(slots=True)
class MessagePlan:
    """A checked message waiting for its recipients (one send, a draft, a campaign run)."""

    account_id: int
    request: SendRequest
    template: Template
    seg: Segmentation
    languages: tuple[Language, ...]
    sender: str | None
    now: int
    send_at: int | None
    due: int | None
    expires_at: int
    status: str
    region: str | None
    max_parts: int
    concat_ref: int = field(default_factory=concat_reference)
    shifted: bool = False  # some rendered text needed a national shift table
    _segments: dict[str, Segmentation] = field(default_factory=dict)

    def accepted(self, message_id: int) -> AcceptedMessage:
        req = self.request
        return AcceptedMessage(
            message_id,
            req.text,
            self.sender,
            self.seg.encoding.value,
            self.seg.part_count,
            req.test,
            int(req.priority),
            self.now,
            self.send_at,
            self.expires_at,
            req.foreign_id,
            req.label,
            req.flash,
            draft=req.draft,
        )

    def add_recipients(
        self,
        message: AcceptedMessage,
        rows: NewMessages,
        targets: Sequence[Target],
        prices: PriceList,
        next_id: Callable[[], int],
        *,
        seen: set[str] | None = None,
        first_position: int = 0,
        reject_missing: bool = False,
    ) -> None:
        """Normalise, deduplicate, render and price ``targets`` into ``message`` and ``rows``.
        A placeholder without a value raises :class:`MissingField` (unless told to leave it
        empty): nothing is queued with a hole in it."""
        seen = set() if seen is None else seen
        region = self.region
        account_id = self.account_id
        message_id = message.id
        priority = message.priority
        high = priority == Priority.HIGH
        parts = self.seg.part_count
        due = self.due
        status = self.status
        expires_at = self.expires_at
        now = self.now
        personal = self.template.personal
        verbatim = self.request.verbatim_numbers
        position = first_position
        total = 0
        for target in targets:
            text = encoding = None
            rec_parts = parts
            try:
                number = target.to if verbatim else normalize(target.to, region)
            except InvalidNumber as exc:
                rec = AcceptedRecipient(next_id(), target.to, _REJECTED, exc.code, exc.message)
                rec_due = None
                price = 0
            else:
                if number in seen:
                    continue
                seen.add(number)
                if personal:
                    try:
                        text = self.template.render(
                            target.fields or {}, self.request.missing_fields
                        )
                    except MissingField as exc:
                        if not reject_missing:
                            raise
                        # A campaign skips the one recipient rather than stopping.
                        message.recipients.append(
                            AcceptedRecipient(next_id(), number, _REJECTED, exc.code, exc.message)
                        )
                        rows.recipients.append(
                            (message.recipients[-1].id, message_id, account_id, position, number,
                             0, _REJECTED, exc.code, exc.message, priority, None, expires_at,
                             now, now, None, None, None)
                        )  # fmt: skip
                        position += 1
                        continue
                    seg = self._segment(text)
                    rec_parts = seg.part_count
                    encoding = seg.encoding.value
                price = prices.cost(number, rec_parts, high=high)
                rec = AcceptedRecipient(
                    next_id(), number, status, text=text, parts=rec_parts if personal else None,
                    encoding=encoding, price=price,
                )  # fmt: skip
                rec_due = due
                total += price
            message.recipients.append(rec)
            # Order: RECIPIENT_COLUMNS.
            rows.recipients.append(
                (rec.id, message_id, account_id, position, rec.to, price, rec.status,
                 rec.error_code, rec.error_message, priority, rec_due, expires_at, now, now,
                 text, encoding, rec.parts)
            )  # fmt: skip
            position += 1
        message.price += total

    def _segment(self, text: str) -> Segmentation:
        seg = self._segments.get(text)
        if seg is None:
            try:
                seg = segment(
                    text,
                    self.request.encoding,
                    languages=self.languages,
                    max_parts=self.max_parts,
                    udh=self.request.udh,
                )
            except EncodingError as exc:
                raise ValidationFailed(
                    f"Once its placeholders are filled in: {exc.message}", code=exc.code
                ) from None
            if seg.locking_shift or seg.single_shift:
                self.shifted = True
            if len(self._segments) < 10_000:
                self._segments[text] = seg
        return seg

    def message_row(
        self, message: AcceptedMessage, campaign_id: int | None = None
    ) -> tuple[Any, ...]:
        req = self.request
        shifted = self.shifted or self.seg.locking_shift or self.seg.single_shift
        if self.template.personal and message.recipients:
            message.parts = max((r.parts or 0) for r in message.recipients) or message.parts
        # Order: MESSAGE_COLUMNS.
        return (
            message.id, self.account_id, req.text, self.sender, message.encoding,
            ",".join(self.languages) if shifted else None, message.parts, self.concat_ref,
            message.priority, req.flash, req.test, req.foreign_id, req.label,
            len(message.recipients), 0 if req.draft or req.test else message.price, self.now,
            self.send_at, self.expires_at, req.draft, req.transactional, req.channel,
            orjson.dumps({"encoding": req.encoding, "missing_fields": req.missing_fields,
                          "no_reload": req.no_reload}).decode() if req.draft else None,
            campaign_id, req.callback_url, req.callback_format, req.device_id, req.sim, req.ext_id,
            orjson.dumps(req.device_options).decode() if req.device_options else None, req.udh,
            orjson.dumps(req.door_data).decode() if req.door_data else None,
        )  # fmt: skip


def missing_recipient() -> ValidationFailed:
    return ValidationFailed(
        "No recipient given: set `to` to a number such as +4917612345678.",
        code="missing_recipient",
    )


def no_valid_recipient(errors: list[AcceptedRecipient]) -> ValidationFailed:
    """A message none of whose recipients can be sent to: the reason, or each one's."""
    first = errors[0]
    return ValidationFailed(
        first.error_message or ""
        if len(errors) == 1
        else f"None of the {len(errors)} recipients is a valid number: {first.error_message}",
        code=(first.error_code or "") if len(errors) == 1 else "no_valid_recipient",
        details=[{"to": r.to, "code": r.error_code, "message": r.error_message} for r in errors],
    )


def phone_channel(channel: str | None, device_id: str | None, sim: int | None) -> str | None:
    """The channel of a send that may name a phone or SIM slot: those imply android."""
    if sim is not None and not 1 <= sim <= 8:
        raise ValidationFailed(
            f"`sim` is a SIM slot number from 1 to 8, not {sim}.", code="invalid_sim"
        )
    if device_id is None and sim is None:
        return channel
    if channel not in (None, "android"):
        raise ValidationFailed(
            "`device_id` and `sim` choose a phone: leave `channel` out or set it to android.",
            code="device_needs_android",
        )
    return "android"


def split_targets(to: Sequence[str | Target]) -> list[Target]:
    """Targets from ``to``: strings may hold comma-separated lists."""
    if len(to) == 1 and isinstance(to[0], str) and "," not in to[0]:
        single = to[0].strip()
        return [Target(single)] if single else []
    out: list[Target] = []
    for item in to:
        if isinstance(item, Target):
            out.append(item)
        else:
            out.extend(Target(part) for part in (p.strip() for p in item.split(",")) if part)
    return out


def apply_opt_outs(message: AcceptedMessage, opted_out: set[int]) -> None:
    """Show the recipients the opt-out list rejected while writing (and take their price)."""
    if not opted_out:
        return
    for rec in message.recipients:
        if rec.id in opted_out:
            rec.status = _REJECTED
            rec.error_code, rec.error_message = OPTED_OUT
            message.price -= rec.price
            rec.price = 0


def to_us(value: datetime) -> int:
    if value.tzinfo is None:
        raise ValidationFailed(
            "send_at needs a time zone: write it as 2026-05-01T09:30:00Z or with an offset "
            "such as +02:00, or give a unix timestamp.",
            code="invalid_send_at",
        )
    return int(value.timestamp() * 1_000_000)


def check_send_at(send_at: int, now: int) -> None:
    if send_at - now > MAX_SCHEDULE_AHEAD_US:
        raise ValidationFailed(
            "send_at is more than five years ahead; schedule at most 1830 days in advance.",
            code="send_at_too_far",
        )
