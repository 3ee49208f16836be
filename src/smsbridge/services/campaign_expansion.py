"""Turning a campaign into outbox rows, one chunk per transaction.

A campaign's recipients are streamed from the address book in id order (phase 0: contacts of
its groups and contact list), then its explicit numbers (phase 1). Each chunk is rendered,
paced (throttle, quiet hours), checked against the opt-out list, charged and written in one
transaction together with the campaign's cursor, so a crash never loses or repeats a chunk and
a 100,000-recipient campaign never sits whole in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncConnection

from smsbridge.core.message import Priority, Status
from smsbridge.core.numbers import InvalidNumber, normalize
from smsbridge.core.pricing import PriceList
from smsbridge.core.schedule import Pacing, birthday_suffixes
from smsbridge.core.templates import parse as parse_template
from smsbridge.services.addressing import Target, contact_fields
from smsbridge.services.caller import Caller
from smsbridge.services.message_plan import SendRequest
from smsbridge.services.send import SendService
from smsbridge.store import accounts, audience, billing, journal, optouts
from smsbridge.store import campaigns as store
from smsbridge.store import contacts as contact_store
from smsbridge.store.billing import Charge
from smsbridge.store.bulk import insert_rows
from smsbridge.store.messages import (
    MESSAGE_COLUMNS,
    RECIPIENT_COLUMNS,
    NewMessages,
    reject_opted_out,
)
from smsbridge.store.schema import messages, recipients

CONTACTS, NUMBERS, DONE = 0, 1, 2
_DUE = RECIPIENT_COLUMNS.index("due_at")
_EXPIRES = RECIPIENT_COLUMNS.index("expires_at")
_STATUS = RECIPIENT_COLUMNS.index("status")
_PRICE = RECIPIENT_COLUMNS.index("price")


@dataclass(slots=True)
class Targets:
    groups: list[int] = field(default_factory=list)
    contacts: list[int] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, row: dict[str, Any]) -> Targets:
        data = orjson.loads(row["targets"])
        return cls(data.get("groups", []), data.get("contacts", []), data.get("numbers", []))

    def dump(self) -> str:
        return orjson.dumps(
            {"groups": self.groups, "contacts": self.contacts, "numbers": self.numbers}
        ).decode()


def request_of(row: dict[str, Any]) -> SendRequest:
    """The campaign's template and options as a send request (without recipients)."""
    options = orjson.loads(row["options"])
    return SendRequest(
        to=[],
        text=row["text"],
        sender=options.get("sender"),
        priority=Priority(options.get("priority", 0)),
        ttl=options.get("ttl"),
        test=options.get("test", False),
        label=options.get("label"),
        flash=options.get("flash", False),
        encoding=options.get("encoding", "auto"),
        transactional=options.get("transactional", False),
        missing_fields=options.get("missing_fields", "error"),
        channel=options.get("channel"),
        device_id=options.get("device_id"),
        sim=options.get("sim"),
    )


def pacing_of(row: dict[str, Any], timezone: str) -> Pacing:
    quiet = None
    if row["quiet_start"] is not None and row["quiet_end"] is not None:
        quiet = (row["quiet_start"], row["quiet_end"])
    return Pacing(ZoneInfo(timezone), row["throttle"], quiet)


async def caller_of(conn: AsyncConnection, account_id: int) -> tuple[Caller, str]:
    """The account as a caller (region, sender, shift tables) and its time zone."""
    record = await accounts.by_id(conn, account_id)
    if record is None:
        raise LookupError(f"account {account_id} is gone")
    return Caller.of_account(record), record.timezone


async def next_targets(
    conn: AsyncConnection,
    row: dict[str, Any],
    targets: Targets,
    *,
    limit: int,
    names: tuple[str, ...],
) -> tuple[list[Target], int, int]:
    """The next chunk of the campaign's recipients (with the contact fields the template's
    placeholder ``names`` need), and the phase and cursor after it."""
    personal = bool(names)
    phase, cursor = row["phase"], row["cursor"]
    account_id = row["account_id"]
    if phase == CONTACTS:
        birthday = None
        if row["kind"] == "birthday":
            birthday = birthday_suffixes(date.fromisoformat(row["last_run_day"]))
        found, after = await audience.stream_targets(
            conn, account_id, group_ids=targets.groups, contact_ids=targets.contacts,
            after=cursor, limit=limit, birthday=birthday,
            columns=tuple(n for n in names if n in contact_store.FIELDS),
        )  # fmt: skip
        if "number" in names:
            for c in found:
                c["number"] = c["phone"]
        chunk = [Target(c["phone"], c if personal else None) for c in found]
        if after is None:
            return chunk, (DONE if row["kind"] == "birthday" else NUMBERS), 0
        return chunk, CONTACTS, after
    if phase == NUMBERS:
        numbers = targets.numbers[cursor : cursor + limit]
        chunk = [Target(n) for n in numbers]
        if personal and numbers:
            known = await contact_store.fields_by_phone(conn, account_id, numbers)
            chunk = [Target(n, contact_fields(known[n]) if n in known else None) for n in numbers]
        after = cursor + len(numbers)
        return chunk, (NUMBERS if after < len(targets.numbers) else DONE), after
    return [], DONE, cursor


@dataclass(slots=True)
class ChunkResult:
    written: int = 0
    done: bool = False


SNAPSHOT = ("state", "phase", "cursor", "message_id", "expanded")


@dataclass(slots=True)
class PreparedChunk:
    """The next chunk of a campaign, computed outside the write transaction (reading and
    rendering take most of the time; the writer lock is held only to write)."""

    campaign_id: int
    account_id: int
    snapshot: tuple[Any, ...]  # the campaign's progress it was computed from
    message_id: int
    message_row: tuple[Any, ...] | None  # the run's message, on its first chunk
    rows: NewMessages
    parts: int
    phase: int
    cursor: int
    next_due: int


async def prepare_chunk(
    conn: AsyncConnection,
    send: SendService,
    row: dict[str, Any],
    prices: PriceList,
    now: int,
    *,
    limit: int,
) -> PreparedChunk:
    """Read, render, price and pace the next chunk of ``row`` (a running campaign)."""
    caller, timezone = await caller_of(conn, row["account_id"])
    req = request_of(row)
    names = tuple(dict.fromkeys(parse_template(req.text).names))
    targets = Targets.of(row)
    chunk, phase, cursor = await next_targets(conn, row, targets, limit=limit, names=names)
    plan = send.plan(caller, req, now)
    message_id = row["message_id"]
    message_row = None
    if message_id is None and chunk:
        message_id = send.ids.next_id()
        message_row = plan.message_row(plan.accepted(message_id), campaign_id=row["id"])
    rows = NewMessages()
    message = plan.accepted(message_id or 0)
    seen: set[str] = set()
    if row["phase"] == NUMBERS and chunk and row["message_id"] is not None:
        # Numbers that a contact of the campaign (or an earlier chunk) already covered.
        seen = await store.existing_numbers(
            conn, row["account_id"], message_id, [_e164(t.to, caller, send) for t in chunk]
        )
    plan.add_recipients(
        message, rows, chunk, prices, send.ids.next_id,
        seen=seen, first_position=row["expanded"], reject_missing=True,
    )  # fmt: skip
    clock = max(row["next_due"] or now, now)
    if row["send_at"] is not None:
        clock = max(clock, row["send_at"])
    live = [i for i, r in enumerate(rows.recipients) if r[_DUE] is not None]
    dues, clock = pacing_of(row, timezone).slots(clock, len(live))
    ttl = plan.expires_at - now
    for i, due in zip(live, dues, strict=True):
        r = rows.recipients[i]
        rows.recipients[i] = (*r[:_DUE], due, due + ttl, *r[_EXPIRES + 1 :])
    if req.transactional:
        rows.exempt.add(message.id)
    total = sum(r[_PRICE] for r in rows.recipients)
    if total and not req.test:
        rows.charges.append(Charge(row["account_id"], message.id, total))
    return PreparedChunk(
        campaign_id=row["id"],
        account_id=row["account_id"],
        snapshot=tuple(row[k] for k in SNAPSHOT),
        message_id=message.id,
        message_row=message_row,
        rows=rows,
        parts=max([message.parts, *(r.parts or 0 for r in message.recipients)]),
        phase=phase,
        cursor=cursor,
        next_due=clock,
    )


async def write_chunk(
    conn: AsyncConnection, chunk: PreparedChunk, current: dict[str, Any], now: int
) -> ChunkResult | None:
    """Write a prepared chunk if the campaign (``current``, locked) has not moved since it was
    prepared (None: it has, prepare again). Opt-outs and credit are checked here, in the
    transaction that writes."""
    if tuple(current[k] for k in SNAPSHOT) != chunk.snapshot:
        return None
    rows = chunk.rows
    if chunk.message_row is not None:  # the run's message: its price grows with every chunk
        await insert_rows(conn, messages, MESSAGE_COLUMNS, [chunk.message_row])
    if rows.recipients:
        await reject_opted_out(conn, rows)
        if rows.charges:
            await billing.charge(conn, rows.charges, now)
        await insert_rows(conn, recipients, RECIPIENT_COLUMNS, rows.recipients)
        queued = [r[0] for r in rows.recipients if r[_STATUS] != Status.REJECTED.value]
        await journal.append_queued(conn, {current["account_id"]: (queued, False)}, at=now, key="r")
        await conn.execute(
            update(messages)
            .where(messages.c.id == chunk.message_id)
            .values(
                recipient_count=messages.c.recipient_count + len(rows.recipients),
                price=messages.c.price + sum(c.amount for c in rows.charges),
                parts=func.max(messages.c.parts, chunk.parts)
                if conn.dialect.name == "sqlite"
                else func.greatest(messages.c.parts, chunk.parts),
            )
        )
    await store.set_values(
        conn,
        chunk.campaign_id,
        message_id=chunk.message_id if chunk.message_row else current["message_id"],
        phase=chunk.phase,
        cursor=chunk.cursor,
        expanded=current["expanded"] + len(rows.recipients),
        next_due=chunk.next_due,
        updated_at=now,
    )
    return ChunkResult(written=len(rows.recipients), done=chunk.phase == DONE)


def _e164(raw: str, caller: Caller, send: SendService) -> str:
    try:
        return normalize(raw, caller.default_region or send.settings.default_region)
    except InvalidNumber:
        return raw


@dataclass(slots=True)
class Estimate:
    recipients: int = 0
    rejected: int = 0  # invalid numbers
    opted_out: int = 0
    missing_fields: int = 0
    price: int = 0
    parts: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)  # first few problems


async def estimate(
    conn: AsyncConnection, send: SendService, row: dict[str, Any], prices: PriceList, now: int
) -> Estimate:
    """Count, price and check every recipient the campaign would have, streaming (nothing is
    written): what ``start`` shows and checks before a single message is queued."""
    caller, _ = await caller_of(conn, row["account_id"])
    req = request_of(row)
    names = tuple(dict.fromkeys(parse_template(req.text).names))
    targets = Targets.of(row)
    scan = dict(row, phase=CONTACTS, cursor=0)
    if row["kind"] == "birthday" and not row["last_run_day"]:
        scan["last_run_day"] = date.today().isoformat()
    result = Estimate()
    plan = send.plan(caller, req, now)
    seen: set[str] = set()
    counter = iter(range(1, 1 << 62))
    while True:
        chunk, phase, cursor = await next_targets(conn, scan, targets, limit=5000,
                                                  names=names)  # fmt: skip
        message = plan.accepted(0)
        plan.add_recipients(message, NewMessages(), chunk, prices, counter.__next__, seen=seen,
                            reject_missing=True)  # fmt: skip
        live = [r.to for r in message.recipients if r.error_code is None]
        opted = set() if req.transactional else await optouts.matching(
            conn, row["account_id"], live)  # fmt: skip
        for r in message.recipients:
            if r.error_code is not None:
                if r.error_code == "missing_field":
                    result.missing_fields += 1
                else:
                    result.rejected += 1
                if len(result.examples) < 10:
                    result.examples.append({"to": r.to, "code": r.error_code,
                                            "message": r.error_message})  # fmt: skip
            elif r.to in opted:
                result.opted_out += 1
            else:
                result.recipients += 1
                result.price += r.price
                result.parts += r.parts if r.parts is not None else message.parts
        if phase == DONE or (phase == scan["phase"] and cursor == scan["cursor"]):
            break
        scan.update(phase=phase, cursor=cursor)
    return result


async def quick_check(conn: AsyncConnection, send: SendService, row: dict[str, Any]) -> Estimate:
    """Counts from a few aggregate queries instead of a scan: recipients and how many lack a
    placeholder's value (price not computed). Enough to start a campaign that nobody pays for
    in advance."""
    caller, _ = await caller_of(conn, row["account_id"])
    req = request_of(row)
    names = set(parse_template(req.text).names)
    targets = Targets.of(row)
    account_id = row["account_id"]
    contacts = await audience.count_targets(conn, account_id, targets.groups,
                                                 targets.contacts)  # fmt: skip
    region = caller.default_region or send.settings.default_region
    numbers: set[str] = set()
    invalid = 0
    for raw in targets.numbers:
        try:
            numbers.add(normalize(raw, region))
        except InvalidNumber:
            invalid += 1
    known = await contact_store.fields_by_phone(conn, account_id, sorted(numbers))
    # Numbers of contacts the groups or contact list already cover are sent to once.
    covered = {c["id"] for c in known.values() if c["id"] in targets.contacts}
    covered |= await audience.in_groups(conn, targets.groups, [c["id"] for c in known.values()])
    numbers -= {n for n, c in known.items() if c["id"] in covered}
    result = Estimate(recipients=contacts + len(numbers), rejected=invalid)
    if names and req.missing_fields == "error":
        fields = sorted(names & set(contact_store.FIELDS))
        if names - set(contact_store.FIELDS) - {"phone", "number"}:
            result.missing_fields = result.recipients  # no contact has such a field
        else:
            lacking = await audience.count_targets(
                conn, account_id, targets.groups, targets.contacts, lacking=fields
            ) if fields else 0  # fmt: skip
            lacking += sum(
                1 for n in numbers
                if n not in known or any(not known[n].get(f) for f in fields)
            )  # fmt: skip
            result.missing_fields = lacking
        result.recipients -= result.missing_fields
    return result
