"""Tests for smsbridge.dispatch.http_post.HttpPoster against real asyncio servers on loopback.

Each server speaks just enough HTTP to read a request and answers as the test says: keeps the
connection, closes it, answers in chunks, as HTTP/1.0, too slowly or with garbage.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from smsbridge.core.netguard import Target, parse_url
from smsbridge.dispatch import http_post
from smsbridge.dispatch.http_post import (
    MAX_KEPT_BODY,
    MAX_READ_BODY,
    HttpPoster,
    PostError,
    Response,
)
from tests.conftest import free_port

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@dataclass
class Request:
    line: str
    headers: dict[str, str]  # lower-case names
    raw_headers: list[tuple[str, str]]
    body: bytes
    connection: int  # which connection (1, 2, ...) carried it
    index: int  # its place on that connection (1, 2, ...)


# What a test's server does with a request: write an answer and say whether to keep reading
# from the connection (False closes it).
Handler = Callable[[Request, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[bool]]


def answer(raw: bytes, *, close: bool = False) -> Handler:
    async def handle(_req: Request, _r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        w.write(raw)
        await w.drain()
        return not close

    return handle


@dataclass
class Server:
    handler: Handler
    host: str = "127.0.0.1"
    requests: list[Request] = field(default_factory=list)
    connections: int = 0
    closed_by_client: int = 0
    writers: set[asyncio.StreamWriter] = field(default_factory=set)
    server: asyncio.Server | None = None
    port: int = 0

    async def start(self) -> Server:
        self.server = await asyncio.start_server(self._serve, self.host, 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            for writer in list(self.writers):
                writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)

    def target(self, path: str = "/hooks") -> Target:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return parse_url(f"http://{host}:{self.port}{path}")

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        self.writers.add(writer)
        index = 0
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError as exc:
                    if not exc.partial:
                        self.closed_by_client += 1
                    return
                lines = head.decode("latin-1").split("\r\n")
                raw_headers = []
                for line in lines[1:]:
                    if ":" in line:
                        name, _, value = line.partition(":")
                        raw_headers.append((name, value.strip()))
                headers = {name.lower(): value for name, value in raw_headers}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                index += 1
                request = Request(lines[0], headers, raw_headers, body, number, index)
                self.requests.append(request)
                if not await self.handler(request, reader, writer):
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.writers.discard(writer)
            writer.close()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Awaitable[Server]]]:
    started: list[Server] = []

    async def start(handler: Handler, host: str = "127.0.0.1") -> Server:
        server = await Server(handler, host).start()
        started.append(server)
        return server

    yield start
    for server in started:
        await server.stop()


@pytest.fixture
async def poster() -> AsyncIterator[HttpPoster]:
    client = HttpPoster(allow_private=True)
    yield client
    await client.close()


async def post(
    client: HttpPoster,
    server: Server,
    body: bytes = b'{"x":1}',
    *,
    deadline_s: float = 5.0,
    headers: list[tuple[str, str]] | None = None,
) -> Response:
    return await client.post(
        server.target(),
        headers or [("Content-Type", "application/json")],
        body,
        deadline_s=deadline_s,
    )


def idle(client: HttpPoster) -> int:
    """How many connections the poster keeps for later."""
    return sum(len(pool) for pool in client._idle.values())


# Keep-alive ------------------------------------------------------------------------------


async def test_one_connection_carries_many_posts(
    serve: Callable[..., Awaitable[Server]], poster: HttpPoster
) -> None:
    server = await serve(answer(OK))
    for n in range(25):
        response = await post(poster, server, f'{{"n":{n}}}'.encode())
        assert response.status == 200
        assert response.body == b"ok"
        assert response.latency_ms >= 0
    assert server.connections == 1
    assert [r.index for r in server.requests] == list(range(1, 26))
    assert [r.body for r in server.requests] == [f'{{"n":{n}}}'.encode() for n in range(25)]
    assert idle(poster) == 1


async def test_error_statuses_are_responses_and_keep_the_connection(
    serve: Callable[..., Awaitable[Server]], poster: HttpPoster
) -> None:
    statuses = iter([500, 404, 410, 301, 200])

    async def handle(_req: Request, _r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        status = next(statuses)
        w.write(b"HTTP/1.1 %d Whatever\r\nContent-Length: 4\r\nLocation: /x\r\n\r\nnope" % status)
        await w.drain()
        return True

    server = await serve(handle)
    got = [(await post(poster, server)).status for _ in range(5)]
    assert got == [500, 404, 410, 301, 200]  # no redirects followed
    assert server.connections == 1
    assert len(server.requests) == 5


async def test_status_line_without_reason_phrase(
    serve: Callable[..., Awaitable[Server]], poster: HttpPoster
) -> None:
    server = await serve(answer(b"HTTP/1.1 202\r\nContent-Length: 0\r\n\r\n"))
    response = await post(poster, server)
    assert response.status == 202 and response.body == b""
    await post(poster, server)
    assert server.connections == 1


async def test_concurrent_posts_open_connections_that_are_all_kept(
    serve: Callable[..., Awaitable[Server]], poster: HttpPoster
) -> None:
    gate = asyncio.Event()

    async def handle(_req: Request, _r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        await gate.wait()
        w.write(OK)
        await w.drain()
        return True

    server = await serve(handle)
    tasks = [asyncio.ensure_future(post(poster, server)) for _ in range(8)]
    while len(server.requests) < 8:
        await asyncio.sleep(0.005)
    gate.set()
    assert [r.status for r in await asyncio.gather(*tasks)] == [200] * 8
    assert server.connections == 8
    assert idle(poster) == 8
    # later posts reuse them instead of connecting again
    for _ in range(20):
        await post(poster, server)
    assert server.connections == 8


async def test_no_more_idle_connections_than_allowed(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    gate = asyncio.Event()

    async def handle(_req: Request, _r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        await gate.wait()
        w.write(OK)
        await w.drain()
        return True

    server = await serve(handle)
    client = HttpPoster(allow_private=True, max_idle_per_origin=2)
    try:
        tasks = [asyncio.ensure_future(post(client, server)) for _ in range(5)]
        while len(server.requests) < 5:
            await asyncio.sleep(0.005)
        gate.set()
        await asyncio.gather(*tasks)
        assert idle(client) == 2

        async def extra_closed() -> bool:
            return server.closed_by_client == 3

        await until(extra_closed)
    finally:
        await client.close()


async def test_close_drops_the_kept_connections(serve: Callable[..., Awaitable[Server]]) -> None:
    server = await serve(answer(OK))
    client = HttpPoster(allow_private=True)
    await post(client, server)
    assert idle(client) == 1
    await client.close()
    assert idle(client) == 0

    async def closed() -> bool:
        return server.closed_by_client == 1

    await until(closed)


async def until(predicate: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not met"
        await asyncio.sleep(0.01)


# The server closes kept connections -------------------------------------------------------


async def test_an_idle_connection_closed_by_the_server_is_replaced(
    serve: Callable[..., Awaitable[Server]], poster: HttpPoster
) -> None:
    # answers one request per connection without saying so, then closes (an idle timeout)
    server = await serve(answer(OK, close=True))
    for n in range(1, 5):
        response = await post(poster, server)
        assert response.status == 200 and response.body == b"ok"
        assert server.connections == n
        await asyncio.sleep(0.05)  # the close reaches the client while the connection idles
    assert len(server.requests) == 4


async def test_a_kept_connection_closed_as_the_next_request_arrives_is_retried(
    serve: Callable[..., Awaitable[Server]], poster: HttpPoster
) -> None:
    # The race of an idle timeout: the request is written to a connection the server is
    # closing. The server reads it and hangs up without a byte of answer.
    async def handle(req: Request, _r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        if req.index > 1:
            return False
        w.write(OK)
        await w.drain()
        return True

    server = await serve(handle)
    for n in range(1, 5):
        response = await post(poster, server, f"{n}".encode())
        assert response.status == 200
        assert server.connections == n
    # every post after the first went out twice: once on the dying connection, then anew
    assert [(r.connection, r.index, r.body) for r in server.requests] == [
        (1, 1, b"1"),
        (1, 2, b"2"),
        (2, 1, b"2"),
        (2, 2, b"3"),
        (3, 1, b"3"),
        (3, 2, b"4"),
        (4, 1, b"4"),
    ]


async def test_a_kept_connection_reset_by_the_server_is_retried(
    serve: Callable[..., Awaitable[Server]], poster: HttpPoster
) -> None:
    async def handle(req: Request, _r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        if req.index > 1:
            sock = w.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            w.transport.abort()  # RST instead of FIN
            return False
        w.write(OK)
        await w.drain()
        return True

    server = await serve(handle)
    assert (await post(poster, server)).status == 200
    assert (await post(poster, server)).status == 200
    assert server.connections == 2


async def test_a_new_connection_closed_without_an_answer_fails(
    serve: Callable[..., Awaitable[Server]], poster: HttpPoster
) -> None:
    async def hang_up(_req: Request, _r: asyncio.StreamReader, _w: asyncio.StreamWriter) -> bool:
        return False

    server = await serve(hang_up)
    with pytest.raises(PostError, match="closed the connection"):
        await post(poster, server)
    assert server.connections == 1  # a fresh connection is not retried
    assert idle(poster) == 0


async def test_a_stale_pooled_connection_then_a_failing_new_one_is_an_error(
    serve: Callable[..., Awaitable[Server]], poster: HttpPoster
) -> None:
    async def handle(req: Request, _r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        if req.connection == 1 and req.index == 1:
            w.write(OK)
            await w.drain()
            return True
        return False

    server = await serve(handle)
    await post(poster, server)
    with pytest.raises(PostError):
        await post(poster, server)
    assert server.connections == 2


# Connection: close -----------------------------------------------------------------------


async def test_connection_close_responses_are_not_reused(
    serve: Callable[..., Awaitable[Server]], poster: HttpPoster
) -> None:
    server = await serve(
        answer(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", close=True)
    )
    for n in range(1, 4):
        response = await post(poster, server)
        assert response.status == 200 and response.body == b"ok"
        assert server.connections == n
    assert idle(poster) == 0


async def test_connection_close_is_obeyed_even_when_the_server_keeps_the_socket_open(
    serve: Callable[..., Awaitable[Server]], poster: HttpPoster
) -> None:
    server = await serve(
        answer(b"HTTP/1.1 200 OK\r\nCONNECTION: Close\r\nContent-Length: 2\r\n\r\nok")
    )
    for _ in range(3):
        assert (await post(poster, server)).status == 200
    assert server.connections == 3
    assert [r.index for r in server.requests] == [1, 1, 1]


async def test_a_body_delimited_by_close(
    serve: Callable[..., Awaitable[Server]], poster: HttpPoster
) -> None:
    server = await serve(answer(b"HTTP/1.1 200 OK\r\n\r\naccepted", close=True))
    response = await post(poster, server)
    assert response.status == 200
    assert response.body == b"accepted"
    assert idle(poster) == 0
    assert (await post(poster, server)).status == 200
    assert server.connections == 2


# Chunked responses -----------------------------------------------------------------------


async def test_chunked_response_body_and_reuse(
    serve: Callable[..., Awaitable[Server]], poster: HttpPoster
) -> None:
    server = await serve(
        answer(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        )
    )
    for _ in range(3):
        response = await post(poster, server)
        assert response.status == 200
        assert response.body == b"hello world"
    assert server.connections == 1


async def test_chunked_response_with_extensions_and_trailers(
    serve: Callable[..., Awaitable[Server]], poster: HttpPoster
) -> None:
    async def handle(_req: Request, _r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 201 Created\r\ntransfer-encoding: Chunked\r\n\r\n")
        await w.drain()
        for piece in (b"A\r\n0123456789\r\n", b"1;name=value\r\n!\r\n", b"0\r\n"):
            w.write(piece)
            await w.drain()
            await asyncio.sleep(0.01)  # the chunks arrive one by one
        w.write(b"X-Checksum: abc\r\nX-Other: 1\r\n\r\n")
        await w.drain()
        return True

    server = await serve(handle)
    first = await post(poster, server)
    second = await post(poster, server)
    assert first.status == second.status == 201
    assert first.body == b"0123456789!"
    assert server.connections == 1


async def test_chunked_response_body_is_kept_only_in_part(
    serve: Callable[..., Awaitable[Server]], poster: HttpPoster
) -> None:
    chunk = b"x" * 1000
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(10))
    server = await serve(
        answer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body + b"0\r\n\r\n")
    )
    response = await post(poster, server)
    assert response.body == b"x" * MAX_KEPT_BODY
    await post(poster, server)
    assert server.connections == 1


async def test_a_large_chunked_response_is_not_read_to_the_end(
    serve: Callable[..., Awaitable[Server]], poster: HttpPoster
) -> None:
    chunk = b"y" * 65536
    count = MAX_READ_BODY // len(chunk) + 4
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(count))
    server = await serve(
        answer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body + b"0\r\n\r\n")
    )
    response = await post(poster, server)
    assert response.status == 200
    assert response.body == b"y" * MAX_KEPT_BODY
    assert idle(poster) == 0
    assert (await post(poster, server)).status == 200
    assert server.connections == 2


# HTTP/1.0 --------------------------------------------------------------------------------


async def test_http_1_0_responses_close_by_default(
    serve: Callable[..., Awaitable[Server]], poster: HttpPoster
) -> None:
    server = await serve(answer(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"))
    for n in range(1, 4):
        response = await post(poster, server)
        assert response.status == 200 and response.body == b"ok"
        assert server.connections == n
    assert idle(poster) == 0


async def test_http_1_0_keep_alive_is_honoured(
    serve: Callable[..., Awaitable[Server]], poster: HttpPoster
) -> None:
    server = await serve(
        answer(b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok")
    )
    for _ in range(3):
        assert (await post(poster, server)).body == b"ok"
    assert server.connections == 1


async def test_http_1_0_body_delimited_by_close(
    serve: Callable[..., Awaitable[Server]], poster: HttpPoster
) -> None:
    server = await serve(answer(b"HTTP/1.0 200 OK\r\n\r\nfine", close=True))
    response = await post(poster, server)
    assert response.status == 200 and response.body == b"fine"
    assert (await post(poster, server)).status == 200
    assert server.connections == 2


# 204 and empty bodies -------------------------------------------------------------------


async def test_204_has_no_body_and_keeps_the_connection(
    serve: Callable[..., Awaitable[Server]], poster: HttpPoster
) -> None:
    server = await serve(answer(b"HTTP/1.1 204 No Content\r\nDate: today\r\n\r\n"))
    for _ in range(5):
        response = await post(poster, server)
        assert response.status == 204
        assert response.body == b""
    assert server.connections == 1
    assert idle(poster) == 1


async def test_content_length_zero(
    serve: Callable[..., Awaitable[Server]], poster: HttpPoster
) -> None:
    server = await serve(answer(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
    for _ in range(3):
        assert (await post(poster, server)).body == b""
    assert server.connections == 1


# Large bodies ----------------------------------------------------------------------------


async def test_a_large_response_is_not_read_and_its_connection_not_reused(
    serve: Callable[..., Awaitable[Server]], poster: HttpPoster
) -> None:
    size = MAX_READ_BODY + 512 * 1024  # 1.5 MiB
    payload = bytes(range(256)) * (size // 256)

    async def handle(_req: Request, _r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(payload))
        w.write(payload)
        with contextlib.suppress(ConnectionError):
            await w.drain()
        return True

    server = await serve(handle)
    response = await post(poster, server)
    assert response.status == 200
    assert 0 < len(response.body) <= MAX_KEPT_BODY
    assert payload.startswith(response.body)
    assert idle(poster) == 0
    second = await post(poster, server)
    assert second.status == 200
    assert server.connections == 2


async def test_a_body_of_exactly_the_read_limit_is_read_and_the_connection_kept(
    serve: Callable[..., Awaitable[Server]], poster: HttpPoster
) -> None:
    payload = b"z" * MAX_READ_BODY
    server = await serve(
        answer(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(payload), payload))
    )
    response = await post(poster, server)
    assert response.body == b"z" * MAX_KEPT_BODY
    await post(poster, server)
    assert server.connections == 1


async def test_a_large_request_body_is_sent_whole(
    serve: Callable[..., Awaitable[Server]], poster: HttpPoster
) -> None:
    server = await serve(answer(OK))
    body = bytes(range(256)) * 8192  # 2 MiB
    response = await post(poster, server, body)
    assert response.status == 200
    assert server.requests[0].body == body
    assert server.requests[0].headers["content-length"] == str(len(body))


# Deadlines and failures ------------------------------------------------------------------


async def test_no_answer_within_the_deadline(
    serve: Callable[..., Awaitable[Server]], poster: HttpPoster
) -> None:
    async def silent(_req: Request, r: asyncio.StreamReader, _w: asyncio.StreamWriter) -> bool:
        await r.read()  # never answers; waits for the client to go
        return False

    server = await serve(silent)
    started = asyncio.get_running_loop().time()
    with pytest.raises(PostError, match=r"no response within 0\.2 s"):
        await post(poster, server, deadline_s=0.2)
    assert asyncio.get_running_loop().time() - started < 2
    assert idle(poster) == 0

    async def closed() -> bool:
        return len(server.writers) == 0

    await until(closed)  # the abandoned connection was closed, not leaked


async def test_a_body_that_stops_coming_hits_the_deadline(
    serve: Callable[..., Awaitable[Server]], poster: HttpPoster
) -> None:
    async def stall(_req: Request, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
        await w.drain()
        await r.read()
        return False

    server = await serve(stall)
    with pytest.raises(PostError, match="no response within"):
        await post(poster, server, deadline_s=0.2)
    assert idle(poster) == 0


async def test_a_slow_answer_within_the_deadline_is_fine(
    serve: Callable[..., Awaitable[Server]], poster: HttpPoster
) -> None:
    async def slow(_req: Request, _r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(0.1)
        w.write(OK)
        await w.drain()
        return True

    server = await serve(slow)
    response = await post(poster, server, deadline_s=2)
    assert response.status == 200
    assert response.latency_ms >= 90


async def test_connection_refused(poster: HttpPoster) -> None:
    port = free_port()
    target = parse_url(f"http://127.0.0.1:{port}/hooks")
    with pytest.raises(PostError, match=f"cannot connect to 127.0.0.1:{port}"):
        await poster.post(target, [], b"{}", deadline_s=2)


async def test_an_unresolvable_name(poster: HttpPoster) -> None:
    target = parse_url("http://no-such-host.invalid/hooks")
    with pytest.raises(PostError):
        await poster.post(target, [], b"{}", deadline_s=5)


GARBAGE = [
    pytest.param(b"garbage\r\n\r\n", id="not-http"),
    pytest.param(b"SSH-2.0-OpenSSH_9.6\r\n", id="ssh-banner-then-close"),
    pytest.param(b"HTTP/2 200\r\n\r\n", id="http2-status-line"),
    pytest.param(b"HTTP/1.1 abc OK\r\nContent-Length: 0\r\n\r\n", id="non-numeric-status"),
    pytest.param(b"HTTP/1.1\r\n\r\n", id="no-status"),
    pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: two\r\n\r\nok", id="bad-content-length"),
    pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok", id="negative-length"),
    pytest.param(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        id="bad-chunk-size",
    ),
    pytest.param(b"HTTP/1.1 100 Continue\r\n\r\n", id="interim-response"),
    pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", id="truncated-body"),
    pytest.param(b"HTTP/1.1 200 OK\r\nContent-Le", id="truncated-head"),
    pytest.param(b"\x00\x01\x02\xff" * 10, id="binary"),
]


@pytest.mark.parametrize("raw", GARBAGE)
async def test_garbage_responses_are_post_errors(
    raw: bytes, serve: Callable[..., Awaitable[Server]], poster: HttpPoster
) -> None:
    server = await serve(answer(raw, close=True))
    with pytest.raises(PostError):
        await post(poster, server, deadline_s=2)
    assert idle(poster) == 0


async def test_a_garbage_answer_on_a_kept_connection_is_not_retried(
    serve: Callable[..., Awaitable[Server]], poster: HttpPoster
) -> None:
    async def handle(req: Request, _r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        w.write(OK if req.index == 1 else b"nonsense\r\n\r\n")
        await w.drain()
        return True

    server = await serve(handle)
    await post(poster, server)
    with pytest.raises(PostError, match="not an HTTP"):
        await post(poster, server)
    assert len(server.requests) == 2  # a response came, so the request is not sent again
    assert idle(poster) == 0
    assert (await post(poster, server)).status == 200
    assert server.connections == 2


async def test_an_endless_response_head_is_refused(
    serve: Callable[..., Awaitable[Server]], poster: HttpPoster
) -> None:
    async def endless(_req: Request, _r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 200 OK\r\n")
        for _ in range(200):
            w.write(b"X-Padding: " + b"p" * 1000 + b"\r\n")
        with contextlib.suppress(ConnectionError):
            await w.drain()
        return True

    server = await serve(endless)
    with pytest.raises(PostError, match="too large"):
        await post(poster, server, deadline_s=5)
    assert idle(poster) == 0


# Private addresses -----------------------------------------------------------------------


async def test_private_addresses_are_refused_unless_allowed(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    server = await serve(answer(OK))
    guarded = HttpPoster(allow_private=False)
    try:
        with pytest.raises(PostError, match="private") as info:
            await post(guarded, server)
        assert "127.0.0.1" in str(info.value)
        assert "SMSBRIDGE_WEBHOOKS_ALLOW_PRIVATE" in str(info.value)
        # a name that resolves to loopback is refused the same way
        named = Target("http", "localhost", server.port, "/hooks")
        with pytest.raises(PostError, match="private"):
            await guarded.post(named, [], b"{}", deadline_s=2)
        # and a refusal is not cached as an allowed address
        with pytest.raises(PostError, match="private"):
            await post(guarded, server)
    finally:
        await guarded.close()
    assert server.connections == 0  # never connected

    allowed = HttpPoster(allow_private=True)
    try:
        assert (await post(allowed, server)).status == 200
        named = Target("http", "localhost", server.port, "/hooks")
        assert (await allowed.post(named, [], b"{}", deadline_s=2)).status == 200
    finally:
        await allowed.close()
    assert server.connections >= 1


async def test_ipv6_loopback_is_refused_unless_allowed(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    try:
        server = await serve(answer(OK), host="::1")
    except OSError:
        pytest.skip("no IPv6 loopback here")
    guarded = HttpPoster(allow_private=False)
    try:
        with pytest.raises(PostError, match="private address ::1"):
            await post(guarded, server)
    finally:
        await guarded.close()
    allowed = HttpPoster(allow_private=True)
    try:
        assert (await post(allowed, server)).status == 200
    finally:
        await allowed.close()
    assert server.requests[0].headers["host"] == f"[::1]:{server.port}"


async def test_resolved_addresses_are_checked_every_time(
    monkeypatch: pytest.MonkeyPatch, serve: Callable[..., Awaitable[Server]]
) -> None:
    # DNS rebinding: a name that was public resolves to loopback later. The poster resolves
    # it itself and refuses the private answer before connecting.
    server = await serve(answer(OK))
    answers = iter(["203.0.113.7", "127.0.0.1"])

    async def fake_getaddrinfo(host: str, port: int, **_kw: object) -> list[tuple[object, ...]]:
        ip = next(answers)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))]

    client = HttpPoster(allow_private=False)
    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", fake_getaddrinfo)
    monkeypatch.setattr(http_post, "_DNS_TTL", 0.0)
    try:
        target = Target("http", "rebind.example", server.port, "/hooks")
        with pytest.raises(PostError):
            # 203.0.113.7 is documentation space: resolving succeeds, connecting fails
            await client.post(target, [], b"{}", deadline_s=0.3)
        with pytest.raises(PostError, match=r"private address 127\.0\.0\.1"):
            await client.post(target, [], b"{}", deadline_s=2)
    finally:
        await client.close()
    assert server.connections == 0


# What goes on the wire -------------------------------------------------------------------


async def test_request_line_host_and_content_length(
    serve: Callable[..., Awaitable[Server]], poster: HttpPoster
) -> None:
    server = await serve(answer(OK))
    body = '{"text":"Grüße – 你好"}'.encode()
    target = parse_url(f"http://127.0.0.1:{server.port}/hooks/sms?token=abc&x=1")
    headers = [
        ("Content-Type", "application/json"),
        ("X-Smsbridge-Signature", "deadbeef"),
        ("X-Custom", "value with spaces"),
    ]
    await poster.post(target, headers, body, deadline_s=5)
    await poster.post(target, headers, b"", deadline_s=5)
    first, second = server.requests
    assert first.line == "POST /hooks/sms?token=abc&x=1 HTTP/1.1"
    assert first.headers["host"] == f"127.0.0.1:{server.port}"
    assert first.headers["content-length"] == str(len(body))
    assert len(body) != len(body.decode())  # bytes are counted, not characters
    assert first.body == body
    assert first.headers["content-type"] == "application/json"
    assert first.headers["x-smsbridge-signature"] == "deadbeef"
    assert first.headers["x-custom"] == "value with spaces"
    assert [name.lower() for name, _ in first.raw_headers].count("host") == 1
    assert [name.lower() for name, _ in first.raw_headers].count("content-length") == 1
    assert second.headers["content-length"] == "0"
    assert second.body == b""


@pytest.mark.parametrize(
    ("target", "host"),
    [
        (Target("http", "example.com", 80, "/x"), "example.com"),
        (Target("https", "example.com", 443, "/x"), "example.com"),
        (Target("http", "example.com", 8080, "/x"), "example.com:8080"),
        (Target("https", "example.com", 80, "/x"), "example.com:80"),
        (Target("http", "example.com", 443, "/x"), "example.com:443"),
        (Target("http", "::1", 8080, "/x"), "[::1]:8080"),
        (Target("https", "2001:db8::1", 443, "/x"), "[2001:db8::1]"),
    ],
)
def test_host_header_omits_only_the_default_port(target: Target, host: str) -> None:
    raw = http_post._request(target, [("A", "b")], b"12345")
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /x HTTP/1.1"
    assert lines[1] == f"Host: {host}"
    assert "A: b" in lines
    assert lines[-1] == "Content-Length: 5"
    assert body == b"12345"
