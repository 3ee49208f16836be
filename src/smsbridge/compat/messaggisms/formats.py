"""messaggisms objects from smsbridge rows: ids, numbers, states, messages and recipients.

- Ids are 24 hex digits, like the MongoDB ObjectIds of the real API: our integer id,
  zero-padded (``5`` -> ``000000000000000000000005``), so they convert back exactly.
- Numbers are shown as the API writes them, ``+<country code>-<national number>``.
- Times are unix milliseconds as strings (``"1559743507600"``); a recipient's send and delivery
  times are MongoDB extended JSON (``{"$date": {"$numberLong": "..."}}``) as the API shows them.
- A recipient's ``state`` is the status group of its delivery report (``PENDING``,
  ``DELIVERED``, ``UNDELIVERABLE``, ``EXPIRED``, ``REJECTED``) or ``CANCELLED``;
  ``state_description`` the status name (``DELIVERED_TO_HANDSET``); see :data:`STATES`.
- A message's ``state``: 0 an open transaction, 1 waiting to be sent (queued, scheduled or being
  handed over), 2 processed (no recipient waits any more), 3 cancelled (see :func:`message_state`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, NamedTuple

import orjson
import phonenumbers

from smsbridge.core.encoding import Encoding, EncodingError, segment
from smsbridge.core.message import Priority, Status
from smsbridge.core.pricing import credits
from smsbridge.core.timefmt import iso
from smsbridge.store.messages import OPTED_OUT, MessageRecord, Row

_HEX_ID = re.compile(r"[0-9a-fA-F]{24}")
# Rejections that mean "not a valid number" (the message's `recipients.invalid`), as opposed
# to valid numbers the gateway would not send to (opted out).
_NOT_A_NUMBER = frozenset({"invalid_number", "invalid_country_code", "region_required"})


def hex_id(value: int) -> str:
    return f"{value:024x}"


def parse_id(raw: str) -> int | None:
    """Our integer id from a 24-hex id; None when it is not one."""
    if not _HEX_ID.fullmatch(raw):
        return None
    value = int(raw, 16)
    return value if 0 < value < 2**63 else None


def ms(us: int | None) -> str | None:
    return None if us is None else str(us // 1000)


def mongo_date(us: int | None) -> dict[str, Any] | None:
    return None if us is None else {"$date": {"$numberLong": str(us // 1000)}}


@lru_cache(maxsize=65536)
def split_number(e164: str) -> tuple[str, str]:
    """``+393471234567`` -> (``+39``, ``+39-3471234567``); unparseable text stays as it is."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return "", e164
    prefix = f"+{number.country_code}"
    national = e164[len(prefix) :] if e164.startswith(prefix) else str(number.national_number)
    return prefix, f"{prefix}-{national}"


class State(NamedTuple):
    state: str  # the status group: what clients compare
    name: str  # state_description
    detail: str  # state_detail
    id: int
    group_id: int


# Modelled on the delivery report statuses the real API passes through (groups 1 PENDING,
# 2 UNDELIVERABLE, 3 DELIVERED, 4 EXPIRED, 5 REJECTED); ids 100+ are smsbridge's own.
STATES: dict[str, State] = {
    Status.DRAFT: State("PENDING", "PENDING_TRANSACTION",
                        "Transaction open: sent once the message is closed", 100, 1),
    Status.QUEUED: State("PENDING", "PENDING_ACCEPTED",
                         "Message accepted, pending for delivery", 26, 1),
    Status.SCHEDULED: State("PENDING", "PENDING_SCHEDULED",
                            "Message scheduled for timestamp_send", 101, 1),
    Status.SENDING: State("PENDING", "PENDING_ENROUTE", "Message sent to next instance", 7, 1),
    Status.SENT: State("PENDING", "PENDING_WAITING_DELIVERY",
                       "Message sent, waiting for delivery report", 3, 1),
    Status.DELIVERED: State("DELIVERED", "DELIVERED_TO_HANDSET",
                            "Message delivered to handset", 5, 3),
    Status.FAILED: State("UNDELIVERABLE", "UNDELIVERABLE_NOT_DELIVERED",
                         "Message sent not delivered", 9, 2),
    Status.EXPIRED: State("EXPIRED", "EXPIRED_EXPIRED", "Message expired", 15, 4),
    Status.CANCELLED: State("CANCELLED", "CANCELLED",
                            "Message cancelled before it was sent", 102, 5),
    Status.REJECTED: State("REJECTED", "REJECTED_DESTINATION", "Invalid destination address",
                           51, 5),
}  # fmt: skip
_OPTED_OUT_STATE = State("REJECTED", "REJECTED_OPTED_OUT", OPTED_OUT[1], 103, 5)
_LEFT = frozenset({Status.SENT, Status.DELIVERED, Status.FAILED, Status.EXPIRED})
_WAITING = frozenset({Status.QUEUED, Status.SCHEDULED, Status.SENDING})
_NO_ERROR = {
    "id": 0,
    "name": "NO_ERROR",
    "description": "No Error",
    "groupId": 0,
    "groupName": "OK",
    "permanent": False,
}


def state_of(status: str, error_code: str | None) -> State:
    if status == Status.REJECTED and error_code == OPTED_OUT[0]:
        return _OPTED_OUT_STATE
    return STATES.get(status, STATES[Status.QUEUED])


def is_invalid(row: dict[str, Any]) -> bool:
    """A recipient rejected because its number is not one (the message's invalid list)."""
    return row["status"] == Status.REJECTED and row.get("error_code") in _NOT_A_NUMBER


def message_state(draft: bool, statuses: list[str]) -> int:
    if draft:
        return 0
    valid = [s for s in statuses if s != Status.REJECTED]
    if any(s in _WAITING for s in valid):
        return 1
    if valid and all(s == Status.CANCELLED for s in valid):
        return 3
    return 2


def priority_of(row: Row) -> float:
    """The priority asked for; for messages sent through other doors 1 normal, 2 for one
    that jumped the queue."""
    kept = door_data(row).get("priority")
    if isinstance(kept, int | float):
        return float(kept)
    return 2.0 if row["priority"] == Priority.HIGH else 1.0


def door_data(row: Row) -> dict[str, Any]:
    """What this door kept about the message (read-only: it is shared between calls)."""
    raw = row.get("door_data")
    return _parsed(raw) if raw else {}


@lru_cache(maxsize=16)
def _parsed(raw: str) -> dict[str, Any]:
    # Every recipient of a message asks for the same text: parse it once.
    data = orjson.loads(raw)
    return data if isinstance(data, dict) else {}


def _remaining(text: str, encoding: str) -> int:
    """Characters left in the last part, as the API reports ``remaining_chr``."""
    try:
        seg = segment(text, encoding, max_parts=255)
    except EncodingError:
        return 0
    single, multi = (160, 153) if seg.encoding == Encoding.GSM7 else (70, 67)
    capacity = single if seg.part_count == 1 else multi * seg.part_count
    return max(capacity - seg.units, 0)


def message_object(
    record: MessageRecord,
    *,
    high_surcharge: int = 0,
    invalid: list[str] | None = None,
    priority: float | None = None,
) -> dict[str, Any]:
    """A message as GET /messages/{id} shows it. ``invalid`` adds recipients refused before
    they reached the gateway (a POST's wrongly written numbers), ``priority`` the value asked
    for (known while answering the POST)."""
    row = record.message
    rcpts = record.recipients
    bad = [r["to_number"] for r in rcpts if is_invalid(r)] + list(invalid or [])
    valid = [r for r in rcpts if not is_invalid(r)]
    statuses = [r["status"] for r in rcpts]
    charged = [r for r in valid if r["status"] != Status.REJECTED]
    price = sum(r["price"] for r in charged)
    sms_total = sum((r["parts"] or row["parts"]) for r in charged if r["status"] != "cancelled")
    base = price
    if row["priority"] == Priority.HIGH:
        base -= high_surcharge * sum((r["parts"] or row["parts"]) for r in charged)
    delivered = sum(1 for r in valid if r["status"] == Status.DELIVERED)
    sent = sum(1 for r in valid if r["status"] in _LEFT)
    errors = sum(
        1 for r in valid if r["status"] in (Status.FAILED, Status.EXPIRED, Status.REJECTED)
    )
    updated = max((r["updated_at"] for r in rcpts), default=row["created_at"])
    send_at = row["send_at"]
    return {
        "id": hex_id(row["id"]),
        "test": bool(row["test"]),
        "sender": row["sender"],
        "body": row["text"],
        "recipients": {
            "valid": {"count": len(valid)},
            "invalid": {"total": len(bad), "list": bad},
        },
        "priority": priority if priority is not None else priority_of(row),
        "options": {
            "flash": bool(row["flash"]),
            "timestamp_send": ms(send_at),
            "callback_url": row.get("callback_url"),
            "transaction": bool(row["draft"]),
        },
        "transaction": bool(row["draft"]),
        "statistics": {
            "error": errors,
            "sent": sent,
            "delivered": delivered,
            "total": len(valid),
            "sms_total": sms_total,
        },
        "base_price": credits(max(base, 0)),
        "price": credits(price),
        "timestamp": ms(row["created_at"]),
        "last_update": ms(updated),
        "state": message_state(bool(row["draft"]), statuses),
    }


def listed_message(row: dict[str, Any], rcpts: list[dict[str, Any]]) -> dict[str, Any]:
    """A message as GET /messages/ lists it."""
    return {
        "id": hex_id(row["id"]),
        "sender": row["sender"],
        "timestamp": ms(row["created_at"]),
        "body": row["text"],
        "test": bool(row["test"]),
        "transaction": bool(row["draft"]),
        "state": message_state(bool(row["draft"]), [r["status"] for r in rcpts]),
    }


def recipient_object(record: MessageRecord, r: dict[str, Any]) -> dict[str, Any]:
    """One recipient as GET /messages/{id}/recipients/ shows it, with its delivery report once
    it has left the gateway."""
    row = record.message
    msg_id = hex_id(row["id"])
    prefix, number = split_number(r["to_number"])
    state = state_of(r["status"], r["error_code"])
    text = r["text"] if r["text"] is not None else row["text"]
    parts = r["parts"] or row["parts"]
    send_id = f"{msg_id}_{r['position']}"
    events = record.events.get(r["id"], [])
    sent_at = next((e["at"] for e in events if e["status"] == Status.SENT), None)
    done_at = next(
        (e["at"] for e in events if e["status"] in (Status.DELIVERED, Status.FAILED,
                                                     Status.EXPIRED)),
        None,
    )  # fmt: skip
    report = None
    if r["status"] in _LEFT:
        report = {
            "price": {"pricePerMessage": credits(r["price"]), "currency": "CREDITS"},
            "status": {
                "id": state.id,
                "groupId": state.group_id,
                "groupName": state.state,
                "name": state.name,
                "description": state.detail,
            },
            "error": error_object(r["status"], r["error_code"], r["error_message"]),
            "messageId": send_id,
            "doneAt": iso(done_at),
            "smsCount": parts,
            "sentAt": iso(sent_at),
            "to": r["to_number"].lstrip("+"),
        }
    return {
        "number": number,
        "prefix": prefix,
        "send_id": send_id,
        "body": text,
        "sms": parts,
        "remaining_chr": _remaining(text, r["encoding"] or row["encoding"]),
        "state": state.state,
        "state_description": state.name,
        "price": credits(r["price"]),
        "fields": door_data(row).get("fields", {}).get(r["to_number"]) or [],
        "message_id": msg_id,
        "i": r["position"],
        "state_detail": r["error_message"] or state.detail,
        "timestamp_sent": mongo_date(sent_at),
        "real_cost": credits(r["price"]) if r["status"] in _LEFT else 0,
        "report": report,
        "timestamp_delivery": mongo_date(done_at),
        "id": hex_id(r["id"]),
    }


def error_object(status: str, code: str | None, message: str | None) -> dict[str, Any]:
    if not code:
        return dict(_NO_ERROR)
    return {
        "id": 1,
        "name": code.upper(),
        "description": message or code,
        "groupId": 1,
        "groupName": "ERROR",
        "permanent": status in (Status.FAILED, Status.REJECTED),
    }
