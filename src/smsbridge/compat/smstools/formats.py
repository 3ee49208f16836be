"""Smstools' shapes, typed as its Python SDK (pydantic, strict types) parses them.

Ids of contacts are strings and of groups, outbox and inbox entries integers, as the SDK's
models declare them; phone numbers are international digits without ``+`` (``32470123456``);
times are ``yyyy-MM-dd HH:mm:ss`` in the account's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from smsbridge.compat.params import Params
from smsbridge.core.errors import ValidationFailed

MAX_LIMIT = 2000
DEFAULT_LIMIT = 25
CONTACT_FIELDS = (
    "firstname",
    "lastname",
    "email",
    "birthday",
    *(f"extra{i}" for i in range(1, 11)),
)


@dataclass(frozen=True, slots=True)
class Paging:
    page: int
    limit: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit

    def wrap(self, total: int, key: str, items: list[Any]) -> dict[str, Any]:
        return {
            "total": total,
            "shown": len(items),
            "page": self.page,
            "limit": self.limit,
            key: items,
        }


def paging(params: Params) -> Paging:
    limit = params.integer("limit", low=1, high=MAX_LIMIT)
    page = params.integer("page", low=1, high=10**9)
    return Paging(page or 1, limit or DEFAULT_LIMIT)


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def when(us: int | None, tz: ZoneInfo, *, seconds: bool = True) -> str | None:
    """Unix microseconds as ``2030-01-01 12:00:00`` in ``tz``."""
    if us is None:
        return None
    local = datetime.fromtimestamp(us / 1_000_000, UTC).astimezone(tz)
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def parse_when(value: str, tz: ZoneInfo) -> datetime:
    """``yyyy-MM-dd HH:mm`` (seconds optional) in the account's time zone, or ISO 8601 with an
    offset."""
    text = value.strip()
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=tz)
        except ValueError:
            pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(
            f"date {value!r} is not a date and time: write it as yyyy-MM-dd HH:mm "
            "(e.g. 2030-01-01 12:00).",
            code="invalid_date",
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)


def digits(number: str | None) -> str | None:
    """E.164 as Smstools writes numbers: international digits without ``+``."""
    return None if number is None else number.lstrip("+")


def contact(row: dict[str, Any]) -> dict[str, Any]:
    groups = row.get("groups") or []
    out: dict[str, Any] = {
        "ID": str(row["id"]),
        "phone": digits(row["phone"]),
        "groupid": str(groups[0]["id"]) if groups else "",
        "unsubscribed": bool(row.get("unsubscribed")),
        "memo": None,
    }
    for name in CONTACT_FIELDS:
        value = row.get(name)
        out[name] = None if value is None else str(value)
    return out


def group(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "ID": int(row["id"]),
        "name": row["name"],
        "locked": 0,
        "whatsapp": 0,
    }


def inbox(row: dict[str, Any], tz: ZoneInfo) -> dict[str, Any]:
    return {
        "ID": int(row["id"]),
        "message": row["text"],
        "sender": digits(row["from_number"]),
        "receiver": digits(row["to_number"]),
        "type": "sms",
        "date": when(row["received_at"], tz),
    }


def outbox(
    message: dict[str, Any], recipients: list[dict[str, Any]], tz: ZoneInfo
) -> dict[str, Any]:
    return {
        "ID": int(message["id"]),
        "messageid": str(message["id"]),
        "message": message["text"],
        "sender": message.get("sender"),
        "to": ",".join(digits(r["to_number"]) or "" for r in recipients),
        "type": "sms",
        "date": when(message.get("send_at") or message.get("created_at"), tz, seconds=False),
        "reference": message.get("foreign_id"),
    }


# What Smstools' logging and delivery reports call each of our recipient states.
STATUS = {
    "draft": "SCHEDULED",
    "queued": "QUEUED",
    "scheduled": "SCHEDULED",
    "sending": "QUEUED",
    "sent": "SUBMITTED",
    "delivered": "DELIVERED",
    "failed": "NOT DELIVERED",
    "expired": "NOT DELIVERED",
    "cancelled": "CANCELLED",
    "rejected": "REJECTED",
}


def logging_entry(
    message: dict[str, Any], recipient: dict[str, Any], tz: ZoneInfo
) -> dict[str, Any]:
    return {
        "ID": str(recipient["id"]),
        "message_ID": str(message["id"]),
        "message": message["text"],
        "to": digits(recipient["to_number"]),
        "sender": message.get("sender"),
        "date": when(message.get("send_at") or message.get("created_at"), tz),
        "type": "sms",
        "status": STATUS.get(str(recipient["status"]), "UNKNOWN"),
        "reference": message.get("foreign_id"),
    }
