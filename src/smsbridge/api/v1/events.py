"""/api/v1/events: the account's events as Server-Sent Events, live.

Each event's SSE ``id`` is a feed position: reconnecting with ``Last-Event-ID`` (browsers do it
by themselves) resumes after it, so nothing is missed across a reconnect; an event may come
twice around one, never not at all (its ``id`` inside ``data`` tells duplicates apart).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query
from starlette.responses import StreamingResponse

from smsbridge.api.deps import GatewayDep, ReadCaller
from smsbridge.api.v1.schemas import ErrorOut
from smsbridge.core.errors import ValidationFailed
from smsbridge.services.events import EVENT_TYPES, MESSAGE_QUEUED, Event
from smsbridge.store.feed import FeedCursor, Position

router = APIRouter(
    prefix="/api/v1/events",
    tags=["events"],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
HEARTBEAT_SECONDS = 15.0


def _types(raw: str | None) -> set[str] | None:
    if not raw:
        return None
    wanted = {t.strip() for t in raw.split(",") if t.strip()}
    unknown = wanted - set(EVENT_TYPES) - {"*"}
    if unknown:
        raise ValidationFailed(
            f"Unknown event type(s) {', '.join(sorted(unknown))}; choose from "
            f"{', '.join(EVENT_TYPES)}.",
            code="unknown_event",
        )
    return None if "*" in wanted else wanted


def _cursor(raw: str) -> FeedCursor:
    try:
        return FeedCursor.decode(raw)
    except ValueError:
        raise ValidationFailed(
            "Invalid Last-Event-ID / after: pass the `id` of an event from this stream.",
            code="invalid_cursor",
        ) from None


def _after(event: Event, start: FeedCursor, end: FeedCursor) -> FeedCursor:
    """The position just after ``event``'s row within a batch read from ``start`` to ``end``."""
    kind, txid, ident = event.source
    if kind == "j":
        return FeedCursor(Position(txid, ident), start.events)
    return FeedCursor(end.journal, Position(txid, ident))


@router.get(
    "",
    summary="Live events (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream_events(
    gw: GatewayDep,
    caller: ReadCaller,
    types: Annotated[
        str | None, Query(description="Comma-separated event types (default: all)")
    ] = None,
    after: Annotated[str | None, Query(description="Resume after this event id")] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    """Streams `message.*`, `campaign.*` and `device.*` events of the account as they happen:
    `event:` is the type, `data:` the same JSON a webhook receives. Comments (`: ping`) keep
    the connection open while nothing happens."""
    wanted = _types(types)
    resume = last_event_id or after
    start = _cursor(resume) if resume else await gw.events.head()
    poll = gw.settings.events_poll_interval_ms / 1000
    queued_wanted = wanted is None or MESSAGE_QUEUED in wanted

    async def frames() -> AsyncIterator[bytes]:
        cursor = start
        yield b"retry: 2000\n: connected\n\n"
        beat = time.monotonic()
        while True:
            events, end, more = await gw.events.read(
                cursor,
                account_id=caller.account_id,
                wants_queued=lambda _account, _callback: queued_wanted,
            )
            out: list[bytes] = []
            for index, event in enumerate(events):
                # Several events can come from one row (a batch queued): only the last one
                # moves the resume position past the row.
                following = events[index + 1] if index + 1 < len(events) else None
                last_of_row = following is None or following.source != event.source
                position = _after(event, cursor, end) if last_of_row else None
                if wanted is not None and event.type not in wanted:
                    continue
                head = f"id: {position.encode()}\n" if position is not None else ""
                out.append(f"{head}event: {event.type}\ndata: ".encode() + event.body + b"\n\n")
            cursor = end
            if out:
                yield b"".join(out)
                beat = time.monotonic()
            elif time.monotonic() - beat > HEARTBEAT_SECONDS:
                yield b": ping\n\n"
                beat = time.monotonic()
            if not more:
                await asyncio.sleep(poll)

    return StreamingResponse(
        frames(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
