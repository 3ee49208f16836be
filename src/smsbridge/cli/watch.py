"""``smsbridge watch``: print the account's events as they happen (the live event stream)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import httpx
import orjson
import typer

from smsbridge.cli.common import app, err, out, run, settings


def _summary(event: dict[str, Any]) -> str:
    data = event.get("data") or {}
    kind = event.get("type", "")
    if kind == "message.inbound":
        return f"from {data.get('from')}: {data.get('text')!r}"
    if kind.startswith("message."):
        error = data.get("error") or {}
        reason = f" ({error.get('reason')}: {error.get('code')})" if error else ""
        return f"to {data.get('to')} message {data.get('message_id')}{reason}"
    if kind.startswith("campaign."):
        return f"campaign {data.get('name')!r} {data.get('counts')}"
    return orjson.dumps(data).decode()


def _line(event: dict[str, Any]) -> str:
    return f"{event.get('created_at')}  {event.get('type'):<20} {_summary(event)}"


class SseParser:
    """Server-Sent Events lines -> (id, type, data) of each complete event."""

    def __init__(self) -> None:
        self.last_id: str | None = None
        self._type = ""
        self._data: list[str] = []

    def feed(self, line: str) -> tuple[str, str] | None:
        if not line:
            if not self._data:
                return None
            event = (self._type or "message", "\n".join(self._data))
            self._type, self._data = "", []
            return event
        if line.startswith(":"):
            return None
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            self._type = value
        elif field == "data":
            self._data.append(value)
        elif field == "id":
            self.last_id = value
        return None


async def stream(base_url: str, key: str, *, types: str | None, count: int, as_json: bool) -> int:
    """Print events until ``count`` were printed (0: forever); reconnects where it left."""
    parser = SseParser()
    printed = 0
    params = {"types": types} if types else {}
    async with httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(30, read=None)) as client:
        while True:
            headers = {"Authorization": f"Bearer {key}", "Accept": "text/event-stream"}
            if parser.last_id:
                headers["Last-Event-ID"] = parser.last_id
            try:
                async with client.stream("GET", "/api/v1/events", params=params,
                                         headers=headers) as response:  # fmt: skip
                    if response.status_code != 200:
                        body = orjson.loads(await response.aread())
                        error = body.get("error", {})
                        err.print(f"[red]{error.get('code')}:[/red] {error.get('message')}")
                        return 1
                    async for line in response.aiter_lines():
                        event = parser.feed(line)
                        if event is None:
                            continue
                        _type, data = event
                        if as_json:
                            out.print(data, highlight=False, soft_wrap=True)
                        else:
                            out.print(_line(orjson.loads(data)), highlight=False, soft_wrap=True)
                        printed += 1
                        if count and printed >= count:
                            return 0
            except httpx.TransportError as exc:
                err.print(f"[yellow]connection lost ({exc!r}); reconnecting[/yellow]")
                await asyncio.sleep(2)


@app.command()
def watch(
    key: Annotated[
        str,
        typer.Option(
            envvar="SMSBRIDGE_API_KEY",
            show_envvar=True,
            help="API key of the account to watch (messages:read scope).",
        ),
    ],
    url: Annotated[
        str | None,
        typer.Option(help="Gateway base URL; default: http://HOST:PORT from the settings."),
    ] = None,
    types: Annotated[
        str | None,
        typer.Option(help="Only these event types, comma-separated (e.g. message.delivered)."),
    ] = None,
    count: Annotated[int, typer.Option(help="Stop after this many events (0: never).")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print each event's JSON.")] = False,
) -> None:
    """Print the account's events live: messages queued, sent, delivered and failed, SMS
    received, campaign progress. Reconnects by itself and resumes where it left off."""
    if url is None:
        cfg = settings()
        url = f"http://{cfg.host}:{cfg.port}"
    base = url
    code = run(lambda: stream(base, key, types=types, count=count, as_json=as_json))
    raise typer.Exit(code)
