"""A worker of `serve --workers N`: serves the connections the balancer hands it.

The worker never listens itself. Accepted sockets arrive over a Unix socket pair (one
SEQPACKET message per connection, the descriptor riding along as SCM_RIGHTS); the worker
reports back when it is ready and each time one of its connections closes, so the balancer
always knows who is busiest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import sys
from collections.abc import Callable
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE

from smsbridge.runtime import configure_logging

# One byte per message on the channel.
HANDOFF = b"H"  # balancer -> worker, with one descriptor
READY = b"R"  # worker -> balancer, once the app has started
CLOSED = b"C"  # worker -> balancer, once per finished connection

logger = logging.getLogger("uvicorn.error")


class _Ticket:
    """One handed-off connection; reports its end exactly once."""

    __slots__ = ("_report",)

    def __init__(self, report: Callable[[], None]) -> None:
        self._report: Callable[[], None] | None = report

    def release(self) -> None:
        if self._report is not None:
            report, self._report = self._report, None
            report()


def _counted(base: type[asyncio.Protocol]) -> type[asyncio.Protocol]:
    """The HTTP protocol class, releasing its ticket when the connection ends."""

    class Counted(base):  # type: ignore[valid-type,misc]
        ticket: _Ticket

        def connection_lost(self, exc: Exception | None) -> None:
            try:
                super().connection_lost(exc)
            finally:
                self.ticket.release()

    return Counted


class HandoffServer(uvicorn.Server):
    """uvicorn's server with the listening socket replaced by the balancer's channel."""

    def __init__(self, config: uvicorn.Config, channel: socket.socket) -> None:
        super().__init__(config)
        self.channel = channel
        self._pending: set[asyncio.Task[None]] = set()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await self.lifespan.startup()
        if self.lifespan.should_exit:
            sys.exit(STARTUP_FAILURE)
        self.servers = []
        self._protocol = _counted(self.config.http_protocol_class)
        loop = asyncio.get_running_loop()
        self.channel.setblocking(False)
        loop.add_reader(self.channel.fileno(), self._take, loop)
        self.started = True
        self._tell(READY)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Take no more connections; those still queued close with the channel.
        asyncio.get_running_loop().remove_reader(self.channel.fileno())
        try:
            await super().shutdown(sockets)
        finally:
            self.channel.close()

    def _tell(self, message: bytes) -> None:
        with contextlib.suppress(OSError):  # the balancer is gone; it counts nothing any more
            self.channel.send(message)

    def _take(self, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            try:
                message, fds, _, _ = socket.recv_fds(self.channel, 16, 16)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                message, fds = b"", []
            if not message and not fds:
                # The balancer is gone: finish the open connections and stop.
                loop.remove_reader(self.channel.fileno())
                self.should_exit = True
                return
            for fd in fds:
                task = loop.create_task(self._adopt(loop, socket.socket(fileno=fd)))
                self._pending.add(task)
                task.add_done_callback(self._pending.discard)

    async def _adopt(self, loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
        ticket = _Ticket(lambda: self._tell(CLOSED))

        def protocol() -> asyncio.Protocol:
            made: Any = self._protocol(  # type: ignore[call-arg]
                config=self.config,
                server_state=self.server_state,
                app_state=self.lifespan.state,
                _loop=loop,
            )
            made.ticket = ticket
            return made  # type: ignore[no-any-return]

        try:
            # The transport owns the socket from here on, also when this fails.
            await loop.connect_accepted_socket(protocol, sock, ssl=self.config.ssl)
        except Exception as exc:  # a TLS handshake that failed, a peer already gone
            logger.debug("connection dropped before its first request: %s", exc)
            ticket.release()


def run_worker(config: uvicorn.Config, channel: socket.socket) -> None:
    """Entry point of a worker process (spawned, so it imports the app afresh)."""
    config.configure_logging()
    configure_logging(config.log_level or logging.INFO)
    # Ctrl+C reaches the whole process group; the balancer reports the stop.
    with contextlib.suppress(KeyboardInterrupt):
        HandoffServer(config, channel).run()
