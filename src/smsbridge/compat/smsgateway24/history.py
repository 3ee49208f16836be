"""getallsms and getsmsstatus: the account's SMS both ways as SmsGateway24 lists them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from smsbridge.compat.smsgateway24 import status
from smsbridge.compat.smsgateway24.devices import Device, number_of
from smsbridge.compat.smsgateway24.formats import Zone, int_or_text
from smsbridge.store import sms_history as store
from smsbridge.store.db import Database

MAX_ROWS = 1000  # SMS per getallsms answer (count has them all); narrow the dates for more


@dataclass(slots=True)
class Query:
    account_id: int
    device: Device | None = None
    code: int | None = None
    since: int | None = None
    until: int | None = None
    sim: int | None = None  # 1-based
    customer: str | None = None
    number: str | None = None
    desc: bool = False
    default_channel: str = "simulator"


def _outgoing_filters(q: Query) -> list[store.OutgoingFilter]:
    base = store.OutgoingFilter(
        sim=q.sim, foreign_id=q.customer, to=q.number, since=q.since, until=q.until
    )
    if q.device is not None:
        if q.device.phone_id is not None:
            base.device = q.device.phone_id
        else:
            base.channel = q.device.channel
            base.default_channel = q.default_channel
    if q.code is None:
        return [base]
    return [
        replace(
            base,
            statuses=alt.states,
            error_codes=alt.error_codes,
            other_error_codes=alt.other_error_codes,
            phone_pending=alt.phone_pending,
        )
        for alt in status.query_of(q.code)
    ]


def _incoming_filter(q: Query) -> store.IncomingFilter | None:
    if q.customer is not None or (q.code is not None and q.code != status.INCOMING):
        return None
    flt = store.IncomingFilter(sim=q.sim, from_number=q.number, since=q.since, until=q.until)
    if q.device is not None:
        if q.device.phone_id is not None:
            flt.device = q.device.phone_id
        else:
            flt.channel = q.device.channel
    return flt


async def count(db: Database, q: Query) -> int:
    total = 0
    incoming = _incoming_filter(q)
    async with db.read() as conn:
        for flt in _outgoing_filters(q):
            total += await store.count_outgoing(conn, q.account_id, flt)
        if incoming is not None:
            total += await store.count_incoming(conn, q.account_id, incoming)
    return total


async def rows(db: Database, q: Query, zone: Zone) -> dict[str, dict[str, Any]]:
    """Up to MAX_ROWS SMS, oldest first (newest first with ``desc``), keyed by id."""
    found: list[tuple[int, dict[str, Any]]] = []
    incoming = _incoming_filter(q)
    async with db.read() as conn:
        for flt in _outgoing_filters(q):
            for row in await store.outgoing(conn, q.account_id, flt, desc=q.desc, limit=MAX_ROWS):
                found.append((row["created_at"], outgoing_json(row, zone, q.default_channel)))
        if incoming is not None:
            for row in await store.incoming(
                conn, q.account_id, incoming, desc=q.desc, limit=MAX_ROWS
            ):
                found.append((row["received_at"], incoming_json(row, zone)))
    found.sort(key=lambda item: (item[0], item[1]["id"]), reverse=q.desc)
    return {str(item["id"]): item for _, item in found[:MAX_ROWS]}


def code_of(row: dict[str, Any]) -> int:
    return status.code_of(row["status"], row["error_code"], row["phone_state"])


def device_number(row: dict[str, Any], default_channel: str) -> int | None:
    phone = row["phone"] or row["device_id"]
    channel = row["channel"] or row["message_channel"] or default_channel
    return number_of(channel, phone)


def outgoing_json(row: dict[str, Any], zone: Zone, default_channel: str) -> dict[str, Any]:
    code = code_of(row)
    sim = row["phone_sim"] if row["phone_sim"] is not None else row["sim"]
    return {
        "id": row["id"],
        "sendto": row["to_number"],
        "body": row["text"],
        "customerid": int_or_text(row["foreign_id"]),
        "status": code,
        "statustitle": status.title(code),
        "deviceid": device_number(row, default_channel),
        "urgent": 1 if row["priority"] else 0,
        "created": zone.php(row["created_at"]),
        "senttime": zone.php(row["sent_at"]),
        "timetosend": zone.php(row["send_at"]),
        "sim": sim - 1 if sim is not None else None,
        "paketid": row["campaign_id"],
        "pakettitle": row["campaign_name"],
        "paketbody": row["campaign_text"],
        "message_id": row["message_id"],
        "error_code": row["error_code"],
        "error_message": row["error_message"],
    }


def incoming_json(row: dict[str, Any], zone: Zone) -> dict[str, Any]:
    return {
        "id": row["id"],
        "sendto": row["from_number"],
        "body": row["text"],
        "customerid": None,
        "status": status.INCOMING,
        "statustitle": status.title(status.INCOMING),
        "deviceid": number_of(row["channel"], row["device"]),
        "urgent": 0,
        "created": zone.php(row["received_at"]),
        "senttime": None,
        "timetosend": None,
        "sim": row["sim"] - 1 if row["sim"] is not None else None,
        "paketid": None,
        "pakettitle": None,
        "paketbody": None,
        "to": row["to_number"],
    }


async def one(db: Database, account_id: int, sms_id: int) -> tuple[int, dict[str, Any]] | None:
    """(status code, row) of one SMS by id: an outgoing one (a recipient) or a received one."""
    async with db.read() as conn:
        found = await store.outgoing_by_ids(conn, account_id, [sms_id])
        if found:
            return code_of(found[0]), found[0]
        received = await store.incoming_by_id(conn, account_id, sms_id)
    if received is not None:
        return status.INCOMING, received
    return None
