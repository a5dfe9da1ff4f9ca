"""The benchmarks' HTTP client: HTTP/1.1 over keep-alive connections to one server, and
nothing else, so that the load generator costs the shared host as little as it can.

bench/poll.py's load generator shares the 2-core host with the server it measures (the
target is per host). With aiohttp it used 0.5 ms of CPU per poll, half of what the server
did: on a whole host, a third of the CPU went to asking. This client writes each request as
one prebuilt buffer and reads the answer's status line, Content-Length (or chunks) and
body in an asyncio Protocol, on uvloop when it is installed.

It speaks to gunicorn only: no TLS, no redirects, no cookies of its own, no compression.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from urllib.parse import urlsplit


class HTTPError(Exception):
    """The connection broke, the answer was malformed, or it did not come in time."""


def event_loop_policy() -> None:
    """uvloop's event loop when the bench extra brought it (a cheaper loop), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


class _Connection(asyncio.Protocol):
    """One keep-alive connection: one request at a time, its answer as (status, body)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.answer: asyncio.Future | None = None
        self.buffer = bytearray()
        self.open = True
        self.idle_since = time.monotonic()

    def connection_made(self, transport) -> None:
        self.transport = transport

    def connection_lost(self, exc) -> None:
        self.open = False
        self._fail(HTTPError(f"connection lost: {exc}"))

    def _fail(self, error: Exception) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(error)

    def send(self, request: bytes) -> asyncio.Future:
        self.answer = asyncio.get_running_loop().create_future()
        self.buffer.clear()
        self.transport.write(request)
        return self.answer

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        try:
            parsed = _parse(self.buffer)
        except HTTPError as error:
            self.open = False
            self._fail(error)
            self.transport.close()
            return
        if parsed is None:
            return
        status, body, keep = parsed
        self.open = keep
        self.idle_since = time.monotonic()
        if self.answer is not None and not self.answer.done():
            self.answer.set_result((status, body))
        if not keep:
            self.transport.close()


def _parse(buffer: bytearray) -> tuple[int, bytes, bool] | None:
    """(status, body, keep-alive) once the buffer holds a whole answer, else None."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buffer[:end]).decode("latin-1").split("\r\n")
    try:
        status = int(head[0].split(" ", 2)[1])
    except (IndexError, ValueError):
        raise HTTPError(f"not an HTTP answer: {head[0]!r}") from None
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    keep = headers.get("connection", "").lower() != "close"
    start = end + 4
    if headers.get("transfer-encoding", "").lower() == "chunked":
        return _chunked(buffer, start, status, keep)
    length = 0 if status in (204, 304) else int(headers.get("content-length", "0"))
    if len(buffer) < start + length:
        return None
    return status, bytes(buffer[start:start + length]), keep


def _chunked(buffer: bytearray, at: int, status: int, keep: bool):
    body = bytearray()
    while True:
        line_end = buffer.find(b"\r\n", at)
        if line_end < 0:
            return None
        size = int(bytes(buffer[at:line_end]).split(b";")[0], 16)
        if len(buffer) < line_end + 2 + size + 2:
            return None
        if size == 0:
            return status, bytes(body), keep
        body += buffer[line_end + 2:line_end + 2 + size]
        at = line_end + 2 + size + 2


class Client:
    """Up to `connections` keep-alive connections to `base` ("http://host:port"); a request
    waits for a free one. Connections idle longer than `keepalive` are dropped before the
    server's own keep-alive (gunicorn's 2 s) can close them under a request."""

    def __init__(self, base: str, connections: int, keepalive: float = 1.5) -> None:
        url = urlsplit(base)
        self.host, self.port = url.hostname, url.port or 80
        self.authority = url.netloc
        self.limit, self.keepalive = connections, keepalive
        self.idle: deque[_Connection] = deque()
        self.waiters: deque[asyncio.Future] = deque()
        self.count = 0

    async def request(self, method: str, path: str, headers: dict[str, str],
                      body: bytes = b"", timeout: float = 10.0) -> tuple[int, bytes]:
        """(status, body) of one request; HTTPError when it fails or takes over `timeout`."""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.authority}",
                 *(f"{name}: {value}" for name, value in headers.items())]
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        wire = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        connection = await self._acquire(timeout)
        timer = asyncio.get_running_loop().call_later(
            timeout, connection._fail, HTTPError("timed out"))
        try:
            answer = await connection.send(wire)
        except HTTPError:
            connection.open = False
            connection.transport.close()
            raise
        finally:
            timer.cancel()
            self._release(connection)
        return answer

    async def _acquire(self, timeout: float) -> _Connection:
        now = time.monotonic()
        while self.idle:
            connection = self.idle.pop()  # the most recently used: the least likely closed
            if connection.open and now - connection.idle_since < self.keepalive:
                return connection
            self._drop(connection)
        if self.count < self.limit:
            return await self._connect()
        waiter = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        try:
            return await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            raise HTTPError("no free connection in time") from None

    def _release(self, connection: _Connection) -> None:
        if not connection.open:
            self._drop(connection)
            connection = None
        while self.waiters:
            waiter = self.waiters.popleft()
            if waiter.done():
                continue
            if connection is not None:
                waiter.set_result(connection)
                return
            # A connection closed: the waiter opens a new one in its place.
            asyncio.ensure_future(self._open_for(waiter))
            return
        if connection is not None:
            self.idle.append(connection)

    async def _connect(self) -> _Connection:
        """A new connection, counted; HTTPError if the server refuses it."""
        self.count += 1
        try:
            _, connection = await asyncio.get_running_loop().create_connection(
                _Connection, self.host, self.port)
        except OSError as exc:
            self.count -= 1
            raise HTTPError(f"cannot connect: {exc}") from exc
        return connection

    async def _open_for(self, waiter: asyncio.Future) -> None:
        try:
            connection = await self._connect()
        except HTTPError as error:
            if not waiter.done():
                waiter.set_exception(error)
            return
        if waiter.done():
            self._release(connection)
        else:
            waiter.set_result(connection)

    def _drop(self, connection: _Connection) -> None:
        self.count -= 1
        if connection.transport is not None:
            connection.transport.close()

    def close(self) -> None:
        while self.idle:
            self._drop(self.idle.pop())
