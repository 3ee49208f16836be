"""Events: what webhooks and the live stream carry, built from the event feed.

Every event has a stable id derived from the row it comes from (``evt_s<n>`` a state change,
``evt_q<n>`` a recipient queued, ``evt_j<n>`` a journal entry), so a receiver can drop
duplicates of an at-least-once delivery by id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from smsbridge.core.reasons import reason_for
from smsbridge.core.timefmt import iso
from smsbridge.store import feed, inbound, journal
from smsbridge.store.db import Database
from smsbridge.store.feed import FeedCursor

MESSAGE_QUEUED = "message.queued"
MESSAGE_SENT = "message.sent"
MESSAGE_DELIVERED = "message.delivered"
MESSAGE_FAILED = "message.failed"
MESSAGE_EXPIRED = "message.expired"
MESSAGE_CANCELLED = "message.cancelled"
MESSAGE_INBOUND = "message.inbound"
CAMPAIGN_PROGRESS = "campaign.progress"
CAMPAIGN_COMPLETED = "campaign.completed"
DEVICE_OFFLINE = "device.offline"
DEVICE_ONLINE = "device.online"
WEBHOOK_TEST = "webhook.test"
LINK_CLICKED = "link.clicked"

EVENT_TYPES = (
    MESSAGE_QUEUED, MESSAGE_SENT, MESSAGE_DELIVERED, MESSAGE_FAILED, MESSAGE_EXPIRED,
    MESSAGE_CANCELLED, MESSAGE_INBOUND, CAMPAIGN_PROGRESS, CAMPAIGN_COMPLETED, DEVICE_OFFLINE,
    DEVICE_ONLINE, LINK_CLICKED,
)  # fmt: skip
_BY_STATUS = {
    "sent": MESSAGE_SENT,
    "delivered": MESSAGE_DELIVERED,
    "failed": MESSAGE_FAILED,
    "expired": MESSAGE_EXPIRED,
    "cancelled": MESSAGE_CANCELLED,
}
_JOURNAL_TYPES = {
    journal.CAMPAIGN_PROGRESS: CAMPAIGN_PROGRESS,
    journal.CAMPAIGN_COMPLETED: CAMPAIGN_COMPLETED,
    journal.DEVICE_ONLINE: DEVICE_ONLINE,
    journal.DEVICE_OFFLINE: DEVICE_OFFLINE,
    journal.LINK_CLICKED: LINK_CLICKED,
}


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    account_id: int
    at: int  # unix microseconds
    data: dict[str, Any]
    order_key: int = 0  # events with the same key are delivered in order (one recipient's)
    label: str | None = None
    campaign_id: int | None = None
    callback_url: str | None = None
    callback_format: str | None = None  # a provider's payload format for callback_url
    # Where it comes from in the feed: ("j" journal | "s" state change, txid, row id).
    source: tuple[str, int, int] = field(default=("", 0, 0), compare=False)

    @cached_property
    def body(self) -> bytes:
        """The JSON sent; encoded once, and only for events someone receives."""
        body = {"id": self.id, "type": self.type, "created_at": iso(self.at), "data": self.data}
        return orjson.dumps(body)


def _message_data(row: dict[str, Any], status: str, at: int) -> dict[str, Any]:
    code = row.get("error_code") if status in ("failed", "expired") else None
    campaign = row.get("campaign_id")
    return {
        "message_id": str(row["message_id"]),
        "recipient_id": str(row["recipient_id"]),
        "to": row["to_number"],
        "status": status,
        "error": (
            {
                "code": code,
                "message": row.get("error_message") or row.get("detail") or code,
                "reason": reason_for(row.get("channel"), code),
            }
            if code
            else None
        ),
        "foreign_id": row.get("foreign_id"),
        "label": row.get("label"),
        "campaign_id": campaign,  # as in the campaigns API
        "channel": row.get("channel"),
        "parts": row.get("parts") or row.get("message_parts"),
        "test": bool(row.get("test")),
        "at": iso(at),
    }


def _message_event(prefix: str, ident: int, type_: str, row: dict[str, Any], status: str,
                   at: int, source: tuple[str, int, int]) -> Event:  # fmt: skip
    return Event(
        f"evt_{prefix}{ident}",
        type_,
        row["account_id"],
        at,
        _message_data(row, status, at),
        order_key=row["recipient_id"],
        label=row.get("label"),
        campaign_id=row.get("campaign_id"),
        callback_url=row.get("callback_url"),
        callback_format=row.get("callback_format"),
        source=source,
    )


# Whether anyone wants ``message.queued`` of an account (and whether a message of the batch
# has a callback URL): expanding a queued batch costs a read of its recipients.
WantsQueued = Callable[[int, bool], bool]


async def build(
    conn: AsyncConnection, batch: feed.FeedBatch, wants_queued: WantsQueued
) -> list[Event]:
    events: list[Event] = []
    inbound_ids = [e["ref"] for e in batch.journal if e["kind"] == journal.INBOUND]
    received = await inbound.get_many(conn, inbound_ids) if inbound_ids else {}
    for entry in batch.journal:
        kind = entry["kind"]
        source = ("j", int(entry["txid"] or 0), int(entry["id"]))
        data = orjson.loads(entry["data"]) if entry["data"] else {}
        if kind == journal.QUEUED:
            if not wants_queued(entry["account_id"], bool(data.get("cb"))):
                continue
            rows = await feed.queued_recipients(
                conn, message_ids=data.get("m", ()), recipient_ids=data.get("r", ())
            )
            for row in rows:
                status = "scheduled" if row["send_at"] else "queued"
                events.append(
                    _message_event(
                        "q", row["recipient_id"], MESSAGE_QUEUED, row, status, entry["at"], source
                    )
                )
        elif kind == journal.INBOUND:
            sms = received.get(entry["ref"])
            if sms is not None:
                events.append(
                    Event(
                        f"evt_j{entry['id']}",
                        MESSAGE_INBOUND,
                        entry["account_id"],
                        entry["at"],
                        inbound_data(sms),
                        source=source,
                    )
                )
        elif kind in _JOURNAL_TYPES:
            campaign = entry["ref"] if kind.startswith("campaign.") else None
            events.append(
                Event(
                    f"evt_j{entry['id']}",
                    _JOURNAL_TYPES[kind],
                    entry["account_id"],
                    entry["at"],
                    data,
                    campaign_id=campaign,
                    order_key=-campaign if campaign else 0,
                    source=source,
                )
            )
    for row in batch.changes:
        type_ = _BY_STATUS.get(row["status"])
        if type_ is not None:
            source = ("s", int(row["txid"] or 0), int(row["event_id"]))
            events.append(
                _message_event("s", row["event_id"], type_, row, row["status"], row["at"], source)
            )
    return events


def inbound_data(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "inbound_id": str(row["id"]),
        "from": row["from_number"],
        "to": row["to_number"],
        "text": row["text"],
        "parts": row["parts"],
        "incomplete": bool(row["incomplete"]),
        "channel": row["channel"],
        "device": row["device"],
        "sim": row["sim"],
        "received_at": iso(row["received_at"]),
        "reply_to": str(row["reply_to"]) if row["reply_to"] is not None else None,
        "keyword": row["keyword"],
    }


class EventFeed:
    """Reads events in order from a cursor: for the webhook publisher and live streams."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def head(self) -> FeedCursor:
        async with self.db.read() as conn:
            return await feed.head(conn)

    async def read(
        self,
        cursor: FeedCursor,
        *,
        limit: int = 500,
        account_id: int | None = None,
        wants_queued: WantsQueued = lambda _account, _callback: True,
    ) -> tuple[list[Event], FeedCursor, bool]:
        async with self.db.read() as conn:
            batch = await feed.read(conn, cursor, limit=limit, account_id=account_id)
            events = await build(conn, batch, wants_queued)
        return events, batch.cursor, batch.more
