"""GET /api/v1/events: the account's events as Server-Sent Events, read over a real socket."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from tests.conftest import Live, wait_for

FAST = {"events_poll_interval_ms": 20, "simulator_dlr_delay_ms": 10, "poll_interval_ms": 20}
LIFECYCLE = ["message.queued", "message.sent", "message.delivered"]


@dataclass
class Frame:
    event: str | None
    data: dict[str, Any] | None
    id: str | None
    comments: list[str]
    retry: int | None = None


class Stream:
    """An open event stream, read frame by frame (a frame ends at a blank line)."""

    def __init__(self, lines: AsyncIterator[str]) -> None:
        self._lines = lines
        self.frames: list[Frame] = []  # every event frame read so far

    async def frame(self) -> Frame:
        event = data = ident = retry = None
        comments: list[str] = []
        data_lines: list[str] = []
        async for line in self._lines:
            if line == "":
                if data_lines:
                    data = orjson.loads("\n".join(data_lines))
                frame = Frame(event, data, ident, comments, retry)
                if event is not None:
                    self.frames.append(frame)
                return frame
            if line.startswith(":"):
                comments.append(line[1:].strip())
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "event":
                event = value
            elif name == "data":
                data_lines.append(value)
            elif name == "id":
                ident = value
            elif name == "retry":
                retry = int(value)
        raise AssertionError("the stream ended")

    async def until(
        self, done: Callable[[list[Frame]], bool], timeout: float = 10.0
    ) -> list[Frame]:
        """Read event frames until ``done(frames read so far)``."""
        async with asyncio.timeout(timeout):
            while not done(self.frames):
                await self.frame()
        return self.frames

    async def quiet_for(self, seconds: float) -> list[Frame]:
        """Read whatever comes within ``seconds``."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while True:
                    await self.frame()
        return self.frames


@contextlib.asynccontextmanager
async def open_stream(
    live: Live,
    headers: dict[str, str] | None = None,
    **params: str,
) -> AsyncIterator[Stream]:
    async with live.client.stream(
        "GET", "/api/v1/events", params=params, headers=headers or live.headers
    ) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        stream = Stream(response.aiter_lines())
        hello = await asyncio.wait_for(stream.frame(), 5)
        assert hello.retry == 2000 and "connected" in hello.comments
        yield stream


async def send(live: Live, to: str, text: str, headers: dict[str, str] | None = None) -> str:
    r = await live.client.post(
        "/api/v1/messages", json={"to": to, "text": text}, headers=headers or live.headers
    )
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


def of_message(frames: list[Frame], message_id: str) -> list[Frame]:
    return [f for f in frames if f.data and f.data["data"].get("message_id") == message_id]


def delivered(*message_ids: str) -> Callable[[list[Frame]], bool]:
    def check(frames: list[Frame]) -> bool:
        return all(
            any(f.event == "message.delivered" for f in of_message(frames, m)) for m in message_ids
        )

    return check


async def test_a_message_lifecycle_arrives_as_frames(live_factory: Any, database_url: str) -> None:
    live = await live_factory(database_url, **FAST)
    async with open_stream(live) as stream:
        message_id = await send(live, "+4917612345678", "hello stream")
        await stream.until(delivered(message_id))
    frames = of_message(stream.frames, message_id)
    assert [f.event for f in frames] == LIFECYCLE
    for frame in frames:
        assert frame.data is not None
        assert frame.data["type"] == frame.event
        assert frame.data["id"].startswith("evt_")
        assert frame.data["created_at"].endswith("Z")
        data = frame.data["data"]
        assert data["to"] == "+4917612345678"
        assert data["status"] == frame.event.removeprefix("message.")
        assert frame.id is not None and frame.id.count("-") == 1  # a feed position
    ids = [f.data["id"] for f in frames if f.data]
    assert len(set(ids)) == 3
    assert frames[0].data and frames[0].data["id"].startswith("evt_q")


async def test_several_messages_each_in_order(live_factory: Any, database_url: str) -> None:
    live = await live_factory(database_url, **FAST)
    async with open_stream(live) as stream:
        ids = [await send(live, f"+49176123456{n:02d}", f"text {n}") for n in range(5)]
        await stream.until(delivered(*ids))
    for message_id in ids:
        assert [f.event for f in of_message(stream.frames, message_id)] == LIFECYCLE
    event_ids = [f.data["id"] for f in stream.frames if f.data]
    assert len(event_ids) == len(set(event_ids))  # nothing twice on one connection


async def test_types_filter(live_factory: Any, database_url: str) -> None:
    live = await live_factory(database_url, **FAST)
    async with (
        open_stream(live, types="message.delivered") as only_delivered,
        open_stream(live, types="message.sent, message.delivered") as two,
        open_stream(live, types="*") as everything,
    ):
        message_id = await send(live, "+4917612345678", "filtered")
        await only_delivered.until(delivered(message_id))
        await two.until(delivered(message_id))
        await everything.until(delivered(message_id))
        r = await live.client.post(
            "/api/v1/simulator/inbound",
            json={"from": "+4917612345678", "text": "hi back"},
            headers=live.headers,
        )
        assert r.status_code == 201

        def inbound(frames: list[Frame]) -> bool:
            return any(f.event == "message.inbound" for f in frames)

        await everything.until(inbound)
        await only_delivered.quiet_for(0.3)
    assert {f.event for f in only_delivered.frames} == {"message.delivered"}
    assert [f.event for f in of_message(only_delivered.frames, message_id)] == ["message.delivered"]
    assert all(f.id for f in only_delivered.frames)
    assert [f.event for f in of_message(two.frames, message_id)] == LIFECYCLE[1:]
    assert {f.event for f in two.frames} <= {"message.sent", "message.delivered"}
    assert [f.event for f in of_message(everything.frames, message_id)] == LIFECYCLE
    inbound_frame = next(f for f in everything.frames if f.event == "message.inbound")
    assert inbound_frame.data is not None
    assert inbound_frame.data["data"]["text"] == "hi back"
    assert inbound_frame.data["data"]["reply_to"] == message_id


async def test_reconnecting_with_last_event_id_resumes_exactly(
    live_factory: Any, database_url: str
) -> None:
    live = await live_factory(database_url, **FAST)
    async with open_stream(live) as stream:
        ids = [await send(live, f"+49176123457{n:02d}", f"resume {n}") for n in range(4)]
        await stream.until(delivered(*ids))
    frames = [f for f in stream.frames if f.data and f.data["data"].get("message_id") in ids]
    assert len(frames) == 12
    # resume after each frame that carries an id: nothing up to it again, all after it
    for index in (0, 3, 6, 10):
        cut = next(i for i in range(index, len(frames)) if frames[i].id)
        last_id = frames[cut].id
        assert last_id is not None
        before = {f.data["id"] for f in frames[: cut + 1] if f.data}
        after = [f.data["id"] for f in frames[cut + 1 :] if f.data]
        async with open_stream(live, headers={**live.headers, "Last-Event-ID": last_id}) as again:
            await again.until(lambda fs, n=len(after): len(fs) >= n, timeout=5)
            await again.quiet_for(0.2)
        resumed = [f.data["id"] for f in again.frames if f.data]
        assert not set(resumed) & before, (cut, resumed)
        # a replay reads in bigger batches than the live stream did, so events of different
        # messages may interleave differently; each message's own events keep their order
        assert sorted(resumed) == sorted(after), (cut, resumed, after)
        for message_id in ids:
            original = [f.data["id"] for f in of_message(frames[cut + 1 :], message_id) if f.data]
            replayed = [f.data["id"] for f in of_message(again.frames, message_id) if f.data]
            assert replayed == original


async def test_resume_with_the_after_parameter_and_header_precedence(
    live_factory: Any, database_url: str
) -> None:
    live = await live_factory(database_url, **FAST)
    async with open_stream(live) as stream:
        message_id = await send(live, "+4917612345678", "after param")
        await stream.until(delivered(message_id))
    frames = of_message(stream.frames, message_id)
    queued, sent, _delivered = frames
    assert queued.id and sent.id
    async with open_stream(live, after=queued.id) as again:
        await again.until(delivered(message_id), timeout=5)
    assert [f.event for f in of_message(again.frames, message_id)] == LIFECYCLE[1:]
    # Last-Event-ID (what a browser sends) wins over ?after=
    headers = {**live.headers, "Last-Event-ID": sent.id}
    async with open_stream(live, headers=headers, after=queued.id) as again:
        await again.until(delivered(message_id), timeout=5)
    assert [f.event for f in of_message(again.frames, message_id)] == ["message.delivered"]


async def test_a_new_stream_starts_now(live_factory: Any, database_url: str) -> None:
    live = await live_factory(database_url, **FAST)
    old = await send(live, "+4917612345678", "before the stream")

    async def done() -> bool:
        r = await live.client.get(f"/api/v1/messages/{old}", headers=live.headers)
        return bool(r.json()["status"] == "delivered")

    await wait_for(done)
    async with open_stream(live) as stream:
        new = await send(live, "+4917612345679", "during the stream")
        await stream.until(delivered(new))
    assert [f.event for f in of_message(stream.frames, new)] == LIFECYCLE
    if database_url.startswith("sqlite"):
        assert of_message(stream.frames, old) == []
    # On PostgreSQL a stream starts below the oldest transaction still running anywhere in
    # the cluster (pg_snapshot_xmin), so while another database's transaction is open, events
    # committed shortly before connecting can come too: more, never fewer.


INVALID_IDS = [
    "garbage",
    "1.2",
    "1.2-3",
    "1-2",
    "1.2.3-4.5",
    "a.b-c.d",
    "1.2-3.4-5.6",
    "-1.0-0.0",
    "0.-1-0.0",
    "evt_q12345",
    "0.0--1.0",
]


async def test_an_invalid_last_event_id_is_refused(live_factory: Any, database_url: str) -> None:
    live = await live_factory(database_url, **FAST)
    for value in INVALID_IDS:
        headers = {**live.headers, "Last-Event-ID": value}
        r = await live.client.get("/api/v1/events", headers=headers, timeout=5)
        assert r.status_code == 422, (value, r.text)
        assert r.json()["error"]["code"] == "invalid_cursor"
        r = await live.client.get(
            "/api/v1/events", params={"after": value}, headers=live.headers, timeout=5
        )
        assert r.status_code == 422, (value, r.text)
        assert r.json()["error"]["code"] == "invalid_cursor"


async def test_a_position_beyond_64_bits_is_an_invalid_cursor(
    live_factory: Any, database_url: str
) -> None:
    # No feed position is that large. Accepting it starts a 200 stream whose first read fails
    # in the database driver (int64 overflow): the client sees a broken stream, not a 422.
    live = await live_factory(database_url, **FAST)
    for value in (
        "99999999999999999999.0-0.0",
        "0.9223372036854775808-0.0",
        "0.0-0.18446744073709551616",
    ):
        async with (
            asyncio.timeout(5),
            live.client.stream(
                "GET", "/api/v1/events", headers={**live.headers, "Last-Event-ID": value}
            ) as response,
        ):
            body = await response.aread() if response.status_code != 200 else b""
        assert response.status_code == 422, value
        assert orjson.loads(body)["error"]["code"] == "invalid_cursor"


async def test_an_unknown_type_is_refused(live_factory: Any, database_url: str) -> None:
    live = await live_factory(database_url, **FAST)
    for types in ("message.nope", "message.delivered,bogus", "MESSAGE.DELIVERED", "webhook.test"):
        r = await live.client.get(
            "/api/v1/events", params={"types": types}, headers=live.headers, timeout=5
        )
        assert r.status_code == 422, (types, r.text)
        error = r.json()["error"]
        assert error["code"] == "unknown_event"
        assert "message.delivered" in error["message"]  # it lists what can be chosen


async def test_the_stream_needs_a_key(live_factory: Any, database_url: str) -> None:
    live = await live_factory(database_url, **FAST)
    r = await live.client.get("/api/v1/events", timeout=5)
    assert r.status_code == 401
    r = await live.client.get("/api/v1/events", headers={"Authorization": "Bearer nope"}, timeout=5)
    assert r.status_code == 401


async def test_events_of_another_account_never_appear(live_factory: Any, database_url: str) -> None:
    live = await live_factory(database_url, **FAST)
    gw = live.gateway
    await gw.accounts.create("other")
    other = {"Authorization": f"Bearer {(await gw.keys.create(account='other')).key}"}
    async with (
        open_stream(live) as mine,
        open_stream(live, headers=other) as theirs,
        open_stream(live, headers=other, after="0.0-0.0") as theirs_from_start,
    ):
        their_message = await send(live, "+4917612340001", "theirs", headers=other)
        r = await live.client.post(
            "/api/v1/simulator/inbound",
            json={"from": "+4917612340001", "text": "to them"},
            headers=other,
        )
        assert r.status_code == 201
        their_inbound = r.json()["inbound_id"]
        await theirs.until(delivered(their_message))
        my_message = await send(live, "+4917612340002", "mine")
        r = await live.client.post(
            "/api/v1/simulator/inbound",
            json={"from": "+4917612340002", "text": "to me"},
            headers=live.headers,
        )
        my_inbound = r.json()["inbound_id"]

        def mine_done(frames: list[Frame]) -> bool:
            return delivered(my_message)(frames) and any(
                f.event == "message.inbound"
                and f.data
                and f.data["data"]["inbound_id"] == my_inbound
                for f in frames
            )

        await mine.until(mine_done)
        await theirs_from_start.until(delivered(their_message))
        await theirs.quiet_for(0.3)
        await theirs_from_start.quiet_for(0.1)
    for frame in mine.frames:
        assert frame.data is not None
        data = frame.data["data"]
        assert data.get("message_id") != their_message
        assert data.get("inbound_id") != their_inbound
        assert "+4917612340001" not in (data.get("to"), data.get("from"))
    for stream in (theirs, theirs_from_start):
        for frame in stream.frames:
            assert frame.data is not None
            data = frame.data["data"]
            assert data.get("message_id") != my_message
            assert data.get("inbound_id") != my_inbound
            assert "+4917612340002" not in (data.get("to"), data.get("from"))
    assert any(
        f.event == "message.inbound" and f.data and f.data["data"]["inbound_id"] == their_inbound
        for f in theirs.frames
    )
