"""A webhook receiver on loopback that records what it gets and misbehaves on request.

It speaks plain HTTP/1.1 with keep-alive over a real socket: it can answer errors for a while
(``fail_next``), answer too late (``delay``), go away entirely (``stop``) and come back on the
same port (``start``), as a customer's endpoint does.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float
    status: int  # what the receiver answered


@dataclass
class WebhookReceiver:
    host: str = "127.0.0.1"
    port: int = 0
    delay: float = 0.0  # seconds before answering
    received: list[Received] = field(default_factory=list)
    keep_bodies: bool = True
    count: int = 0  # requests answered 2xx
    _fail: list[int] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hooks"

    def fail_next(self, count: int, status: int = 500) -> None:
        """Answer the next ``count`` requests with ``status``."""
        self._fail.extend([status] * count)

    async def start(self) -> WebhookReceiver:
        self._server = await asyncio.start_server(
            self._serve, self.host, self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Go away: refuse connections and drop the open ones."""
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1] if " " in lines[0] else "/"
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                if self.delay:
                    await asyncio.sleep(self.delay)
                status = self._fail.pop(0) if self._fail else 200
                if status < 300:
                    self.count += 1
                self.received.append(
                    Received(
                        path,
                        headers if self.keep_bodies else {},
                        body if self.keep_bodies else b"",
                        time.time(),
                        status,
                    )
                )
                self.arrived.set()
                reply = b"ok" if status < 300 else b"try again later"
                writer.write(
                    b"HTTP/1.1 %d X\r\nContent-Length: %d\r\n\r\n%s" % (status, len(reply), reply)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    def accepted(self) -> list[Received]:
        """The requests answered 2xx."""
        return [r for r in self.received if r.status < 300]
