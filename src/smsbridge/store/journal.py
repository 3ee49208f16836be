"""The journal: events other than a recipient's state change, written in the transaction that
makes them true (see ``schema.journal``)."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from smsbridge.store.schema import journal

QUEUED = "queued"  # data: {"m": [message ids]} or {"r": [recipient ids]}, "cb": any callback
INBOUND = "inbound"  # ref: inbound message id
CAMPAIGN_PROGRESS = "campaign.progress"  # ref: campaign id; data: the progress
CAMPAIGN_COMPLETED = "campaign.completed"
DEVICE_ONLINE = "device.online"  # ref: device id
DEVICE_OFFLINE = "device.offline"
LINK_CLICKED = "link.clicked"  # ref: message id; data: the link and its counts


async def append(
    conn: AsyncConnection,
    *,
    account_id: int,
    kind: str,
    at: int,
    ref: int | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        insert(journal).values(
            account_id=account_id,
            kind=kind,
            ref=ref,
            data=orjson.dumps(data).decode() if data is not None else None,
            at=at,
        )
    )


async def append_queued(
    conn: AsyncConnection,
    per_account: dict[int, tuple[list[int], bool]],
    *,
    at: int,
    key: str = "m",
) -> None:
    """One row per account: the messages (``key="m"``) or recipients (``"r"``) just queued,
    and whether any of them has a callback URL."""
    rows = [
        {
            "account_id": account_id,
            "kind": QUEUED,
            "ref": None,
            "data": orjson.dumps({key: ids, "cb": callback}).decode(),
            "at": at,
        }
        for account_id, (ids, callback) in per_account.items()
        if ids
    ]
    if rows:
        await conn.execute(insert(journal), rows)


async def prune(conn: AsyncConnection, *, before: int) -> int:
    result = await conn.execute(delete(journal).where(journal.c.at < before))
    return int(result.rowcount or 0)
