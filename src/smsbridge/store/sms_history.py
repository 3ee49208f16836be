"""One account's SMS in both directions, one row per recipient or received SMS, with the
filters the hosted providers' "list all SMS" methods offer (device, SIM, state, customer id,
number, time window) and a count that honours the same filters.

Outgoing rows join the recipient with its message, its campaign (if any), the phone it went
to (the newest phone-queue row) and the time it was sent; incoming rows are the inbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from smsbridge.store.schema import (
    campaigns,
    device_messages,
    inbound_messages,
    messages,
    recipient_events,
    recipients,
)

Row = dict[str, Any]


@dataclass(slots=True)
class OutgoingFilter:
    """Conditions on outgoing SMS; None: no condition."""

    statuses: tuple[str, ...] | None = None  # recipient states
    error_codes: tuple[str, ...] | None = None  # only these error codes
    other_error_codes: tuple[str, ...] | None = None  # none of these (NULL counts as other)
    phone_pending: bool | None = None  # on a phone's queue, not pulled yet (or the opposite)
    device: str | None = None  # asked for or handed to this phone
    channel: str | None = None  # went (or goes) through this channel ...
    default_channel: str | None = None  # ... where a message not routed yet goes here
    sim: int | None = None  # SIM slot, 1-based (asked for or used)
    foreign_id: str | None = None
    to: str | None = None
    since: int | None = None  # created at or after (unix microseconds)
    until: int | None = None  # created before


@dataclass(slots=True)
class IncomingFilter:
    device: str | None = None
    channel: str | None = None
    sim: int | None = None
    from_number: str | None = None
    since: int | None = None
    until: int | None = None


def _phone_pending() -> ColumnElement[bool]:
    return exists(
        select(device_messages.c.id).where(
            device_messages.c.recipient_id == recipients.c.id,
            device_messages.c.state == "Pending",
        )
    )


def _outgoing_where(account_id: int, flt: OutgoingFilter) -> list[ColumnElement[bool]]:
    r, m = recipients, messages
    conds: list[ColumnElement[bool]] = [r.c.account_id == account_id]
    if flt.statuses is not None:
        conds.append(r.c.status.in_(flt.statuses))
    if flt.error_codes is not None:
        conds.append(r.c.error_code.in_(flt.error_codes))
    if flt.other_error_codes is not None:
        conds.append(or_(r.c.error_code.is_(None), r.c.error_code.not_in(flt.other_error_codes)))
    if flt.phone_pending is not None:
        conds.append(_phone_pending() if flt.phone_pending else ~_phone_pending())
    if flt.device is not None:
        handed = exists(
            select(device_messages.c.id).where(
                device_messages.c.recipient_id == r.c.id,
                device_messages.c.device_id == flt.device,
            )
        )
        conds.append(or_(m.c.device_id == flt.device, handed))
    if flt.channel is not None:
        fallback = literal(flt.default_channel) if flt.default_channel else m.c.channel
        conds.append(func.coalesce(r.c.channel, m.c.channel, fallback) == flt.channel)
    if flt.sim is not None:
        used = exists(
            select(device_messages.c.id).where(
                device_messages.c.recipient_id == r.c.id, device_messages.c.sim == flt.sim
            )
        )
        conds.append(or_(m.c.sim == flt.sim, used))
    if flt.foreign_id is not None:
        conds.append(m.c.foreign_id == flt.foreign_id)
    if flt.to is not None:
        conds.append(r.c.to_number == flt.to)
    if flt.since is not None:
        conds.append(r.c.created_at >= flt.since)
    if flt.until is not None:
        conds.append(r.c.created_at < flt.until)
    return conds


def _incoming_where(account_id: int, flt: IncomingFilter) -> list[ColumnElement[bool]]:
    i = inbound_messages
    conds: list[ColumnElement[bool]] = [i.c.account_id == account_id]
    if flt.device is not None:
        conds.append(i.c.device == flt.device)
    if flt.channel is not None:
        conds.append(i.c.channel == flt.channel)
    if flt.sim is not None:
        conds.append(i.c.sim == flt.sim)
    if flt.from_number is not None:
        conds.append(i.c.from_number == flt.from_number)
    if flt.since is not None:
        conds.append(i.c.received_at >= flt.since)
    if flt.until is not None:
        conds.append(i.c.received_at < flt.until)
    return conds


def _outgoing_select() -> Select[Any]:
    r, m, c = recipients, messages, campaigns
    return select(
        r.c.id,
        r.c.message_id,
        r.c.to_number,
        r.c.status,
        r.c.error_code,
        r.c.error_message,
        r.c.channel,
        r.c.priority,
        r.c.created_at,
        r.c.updated_at,
        func.coalesce(r.c.text, m.c.text).label("text"),
        m.c.channel.label("message_channel"),
        m.c.foreign_id,
        m.c.device_id,
        m.c.sim,
        m.c.send_at,
        m.c.campaign_id,
        c.c.name.label("campaign_name"),
        c.c.text.label("campaign_text"),
    ).select_from(r.join(m, m.c.id == r.c.message_id).outerjoin(c, c.c.id == m.c.campaign_id))


async def _with_phone_and_sent(conn: AsyncConnection, rows: list[Row]) -> list[Row]:
    """Add each row's phone-queue row (``phone``, ``phone_state``, ``phone_sim``) and the time
    it was sent (``sent_at``)."""
    if not rows:
        return rows
    ids = [row["id"] for row in rows]
    phones: dict[int, Row] = {}
    sent: dict[int, int] = {}
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        result = await conn.execute(
            select(
                device_messages.c.recipient_id,
                device_messages.c.device_id,
                device_messages.c.state,
                device_messages.c.sim,
            )
            .where(device_messages.c.recipient_id.in_(chunk))
            .order_by(device_messages.c.id)
        )
        for item in result.mappings():
            phones[item["recipient_id"]] = dict(item)
        result = await conn.execute(
            select(recipient_events.c.recipient_id, func.min(recipient_events.c.at))
            .where(
                recipient_events.c.recipient_id.in_(chunk),
                recipient_events.c.status.in_(("sent", "delivered")),
            )
            .group_by(recipient_events.c.recipient_id)
        )
        sent.update({int(row[0]): int(row[1]) for row in result.all()})
    for row in rows:
        phone = phones.get(row["id"])
        row["phone"] = phone["device_id"] if phone else None
        row["phone_state"] = phone["state"] if phone else None
        row["phone_sim"] = phone["sim"] if phone else None
        row["sent_at"] = sent.get(row["id"])
    return rows


async def outgoing(
    conn: AsyncConnection, account_id: int, flt: OutgoingFilter, *, desc: bool, limit: int
) -> list[Row]:
    order = recipients.c.id.desc() if desc else recipients.c.id
    query = _outgoing_select().where(and_(*_outgoing_where(account_id, flt)))
    result = await conn.execute(query.order_by(order).limit(limit))
    return await _with_phone_and_sent(conn, [dict(r) for r in result.mappings()])


async def count_outgoing(conn: AsyncConnection, account_id: int, flt: OutgoingFilter) -> int:
    query = (
        select(func.count())
        .select_from(recipients.join(messages, messages.c.id == recipients.c.message_id))
        .where(and_(*_outgoing_where(account_id, flt)))
    )
    return int((await conn.execute(query)).scalar() or 0)


async def outgoing_by_ids(conn: AsyncConnection, account_id: int, ids: Sequence[int]) -> list[Row]:
    """Recipients of the account by id (unknown ids are left out)."""
    if not ids:
        return []
    query = _outgoing_select().where(
        recipients.c.account_id == account_id, recipients.c.id.in_(list(ids))
    )
    result = await conn.execute(query.order_by(recipients.c.id))
    return await _with_phone_and_sent(conn, [dict(r) for r in result.mappings()])


async def incoming(
    conn: AsyncConnection, account_id: int, flt: IncomingFilter, *, desc: bool, limit: int
) -> list[Row]:
    i = inbound_messages
    order = i.c.id.desc() if desc else i.c.id
    query = select(i).where(and_(*_incoming_where(account_id, flt)))
    result = await conn.execute(query.order_by(order).limit(limit))
    return [dict(r) for r in result.mappings()]


async def count_incoming(conn: AsyncConnection, account_id: int, flt: IncomingFilter) -> int:
    query = select(func.count()).select_from(inbound_messages)
    query = query.where(and_(*_incoming_where(account_id, flt)))
    return int((await conn.execute(query)).scalar() or 0)


async def incoming_by_id(conn: AsyncConnection, account_id: int, inbound_id: int) -> Row | None:
    i = inbound_messages
    result = await conn.execute(select(i).where(i.c.account_id == account_id, i.c.id == inbound_id))
    row = result.mappings().first()
    return dict(row) if row is not None else None
