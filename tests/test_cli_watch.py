"""`smsbridge watch`: prints the account's events from the live stream."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from smsbridge.cli.watch import SseParser, stream


async def test_watch_prints_events_as_they_happen(
    live: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    watching = asyncio.create_task(
        stream(
            live.base_url, live.key, types="message.queued,message.delivered", count=2, as_json=True
        )
    )
    await asyncio.sleep(0.5)  # connected and at the head of the stream
    r = await live.client.post(
        "/api/v1/messages", json={"to": "+4917612345678", "text": "hi"}, headers=live.headers
    )
    assert r.status_code == 202
    assert await asyncio.wait_for(watching, 20) == 0
    lines = [orjson.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    assert [e["type"] for e in lines] == ["message.queued", "message.delivered"]
    assert {e["data"]["message_id"] for e in lines} == {r.json()["id"]}


async def test_watch_reports_a_bad_key(live: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert await stream(live.base_url, "nope", types=None, count=1, as_json=False) == 1
    assert "invalid_api_key" in capsys.readouterr().err


def test_sse_parser_joins_data_lines_and_keeps_the_last_id() -> None:
    parser = SseParser()
    lines = ["retry: 2000", ": connected", "", "id: 1.2-3.4", "event: message.sent",
             "data: {\"a\":", "data: 1}", ""]  # fmt: skip
    events = [e for e in (parser.feed(line) for line in lines) if e is not None]
    assert events == [("message.sent", '{"a":\n1}')]
    assert parser.last_id == "1.2-3.4"
