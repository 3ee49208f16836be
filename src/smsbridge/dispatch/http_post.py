"""A small HTTP/1.1 client for webhook deliveries: POST a body, read the status, keep the
connection for the next one.

Webhooks are the one place smsbridge sends HTTP at high rates, and a general-purpose client
spends far more time per request than the request itself takes on a local network (httpx does
some 650 POST/s on one core here, this some 50,000). It does only what webhook delivery needs:
http and https, keep-alive pools per origin, a deadline per request, no redirects, no proxies.
It resolves each host itself and connects to the address it checked, so a name that resolves
to a private address later (DNS rebinding) is refused all the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass

from smsbridge.core.netguard import Target, is_public

MAX_KEPT_BODY = 2048  # of a response body, kept for the delivery log
MAX_READ_BODY = 1 << 20  # larger responses are not read to the end; the connection is dropped
MAX_HEAD = 64 * 1024
_DNS_TTL = 60.0


class PostError(Exception):
    """The request did not get an HTTP response (connect, TLS, timeout, refused address)."""


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    latency_ms: int
    body: bytes  # the start of the body


class _Conn:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class HttpPoster:
    def __init__(self, *, allow_private: bool, max_idle_per_origin: int = 256) -> None:
        self.allow_private = allow_private
        self.max_idle = max_idle_per_origin
        self._idle: dict[tuple[str, str, int], list[_Conn]] = {}
        self._dns: dict[tuple[str, int], tuple[float, list[str]]] = {}
        self._tls: ssl.SSLContext | None = None

    async def post(
        self,
        target: Target,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        *,
        deadline_s: float,
        method: str = "POST",
    ) -> Response:
        started = time.perf_counter()
        request = _request(target, headers, body, method)
        try:
            async with asyncio.timeout(deadline_s):
                return await self._exchange(target, request, started)
        except TimeoutError as exc:
            raise PostError(f"no response within {deadline_s:g} s") from exc

    async def _exchange(self, target: Target, request: bytes, started: float) -> Response:
        origin = (target.scheme, target.host, target.port)
        pool = self._idle.setdefault(origin, [])
        while pool:
            conn = pool.pop()
            if conn.writer.is_closing() or conn.reader.at_eof():
                conn.close()
                continue
            try:
                return await self._roundtrip(origin, conn, request, started)
            except _Stale:
                conn.close()  # the server closed the idle connection: take another one
        conn = await self._connect(target)
        try:
            return await self._roundtrip(origin, conn, request, started)
        except _Stale as exc:
            raise PostError("the server closed the connection without answering") from exc

    async def _roundtrip(
        self, origin: tuple[str, str, int], conn: _Conn, request: bytes, started: float
    ) -> Response:
        got_bytes = False
        try:
            conn.writer.write(request)
            await conn.writer.drain()
            head = await conn.reader.readuntil(b"\r\n\r\n")
            got_bytes = True
            status, length, chunked, keep = _parse_head(head)
            body, reusable = await _read_body(conn.reader, length, chunked)
        except (ConnectionError, asyncio.IncompleteReadError, OSError) as exc:
            conn.close()
            if not got_bytes and not getattr(exc, "partial", b""):
                raise _Stale from exc
            raise PostError(f"connection failed: {exc!r}") from exc
        except asyncio.LimitOverrunError as exc:
            conn.close()
            raise PostError("the response headers are too large") from exc
        except _BadResponse as exc:
            conn.close()
            raise PostError(str(exc)) from exc
        except BaseException:
            conn.close()  # cancelled or timed out mid-exchange: the connection is unusable
            raise
        if keep and reusable:
            pool = self._idle.setdefault(origin, [])
            if len(pool) < self.max_idle:
                pool.append(conn)
            else:
                conn.close()
        else:
            conn.close()
        return Response(status, int((time.perf_counter() - started) * 1000), body)

    async def _connect(self, target: Target) -> _Conn:
        addresses = await self._resolve(target.host, target.port)
        last: Exception | None = None
        for address in addresses:
            try:
                reader, writer = await asyncio.open_connection(
                    address,
                    target.port,
                    ssl=self._ssl() if target.scheme == "https" else None,
                    server_hostname=target.host if target.scheme == "https" else None,
                    limit=MAX_HEAD,
                )
            except (OSError, ssl.SSLError) as exc:
                last = exc
                continue
            sock = writer.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return _Conn(reader, writer)
        raise PostError(f"cannot connect to {target.host}:{target.port}: {last!r}")

    async def _resolve(self, host: str, port: int) -> list[str]:
        key = (host, port)
        cached = self._dns.get(key)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except OSError as exc:
            raise PostError(f"cannot resolve {host}: {exc}") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not self.allow_private:
            refused = [a for a in addresses if not is_public(a)]
            if refused:
                raise PostError(
                    f"{host} resolves to the private address {refused[0]}; webhooks go to public "
                    "addresses unless SMSBRIDGE_WEBHOOKS_ALLOW_PRIVATE=true"
                )
        self._dns[key] = (now + _DNS_TTL, addresses)
        return addresses

    def _ssl(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls

    async def close(self) -> None:
        for pool in self._idle.values():
            for conn in pool:
                conn.close()
        self._idle.clear()


class _Stale(Exception):
    """A kept connection turned out closed before any answer: safe to try another."""


class _BadResponse(Exception):
    pass


def _request(
    target: Target, headers: Sequence[tuple[str, str]], body: bytes, method: str = "POST"
) -> bytes:
    host = target.host if ":" not in target.host else f"[{target.host}]"
    default_port = 443 if target.scheme == "https" else 80
    authority = host if target.port == default_port else f"{host}:{target.port}"
    lines = [f"{method} {target.path} HTTP/1.1", f"Host: {authority}"]
    lines.extend(f"{name}: {value}" for name, value in headers)
    if body or method != "GET":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace") + body


def _parse_head(head: bytes) -> tuple[int, int | None, bool, bool]:
    """(status, content length, chunked, keep-alive) from a response head."""
    lines = head.split(b"\r\n")
    version, _, rest = lines[0].partition(b" ")
    code = rest[:3]
    if not version.startswith(b"HTTP/1.") or not code.isdigit():
        raise _BadResponse(f"not an HTTP/1.x response: {lines[0][:80]!r}")
    length: int | None = None
    chunked = False
    keep = version != b"HTTP/1.0"
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            if not value.strip().isdigit():
                raise _BadResponse("invalid Content-Length in the response")
            length = int(value.strip())
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            token = value.strip().lower()
            keep = token == b"keep-alive" if version == b"HTTP/1.0" else token != b"close"
    status = int(code)
    if 100 <= status < 200:
        raise _BadResponse(f"unexpected interim response {status}")
    if status in (204, 304):
        length = 0
    return status, length, chunked, keep


async def _read_body(
    reader: asyncio.StreamReader, length: int | None, chunked: bool
) -> tuple[bytes, bool]:
    """The start of the body, and whether the connection can carry another request."""
    if chunked:
        kept = b""
        total = 0
        while True:
            size_line = await reader.readuntil(b"\r\n")
            try:
                size = int(size_line.split(b";")[0].strip(), 16)
            except ValueError as exc:
                raise _BadResponse("invalid chunk size in the response") from exc
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass  # trailers
                return kept, True
            total += size
            if total > MAX_READ_BODY:
                return kept, False
            chunk = await reader.readexactly(size + 2)
            if chunk[-2:] != b"\r\n":
                raise _BadResponse("a chunk of the response does not end in CRLF")
            if len(kept) < MAX_KEPT_BODY:
                kept += chunk[: min(size, MAX_KEPT_BODY - len(kept))]
    if length is None:
        data = await reader.read(MAX_KEPT_BODY)
        return data, False  # delimited by close
    if length > MAX_READ_BODY:
        return await reader.read(MAX_KEPT_BODY), False
    data = await reader.readexactly(length) if length else b""
    return data[:MAX_KEPT_BODY], True
