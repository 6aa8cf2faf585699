"""A lean HTTP/1.1 keep-alive connection pool to one upstream origin.

Why not a general-purpose client: the validation proxy's budget is a few hundred microseconds of CPU
per request, and the client side of a pass-through is where general clients spend most of it
(aiohttp ~65 us, httpx's pool more; this pool ~20 us on the same machine, bench/proxy_vs_aiohttp.py).
An upstream is one origin spoken to over and over with the same small requests, so the whole job is:
write one request, parse one response with httptools (the C parser uvicorn uses), keep the socket.

What it guarantees to its caller (backends/transport.py):
* every failure is an :class:`H1Error` whose ``sent`` says whether any byte of the request may have
  reached the upstream (so a non-idempotent call is retried only when it cannot have been applied);
* nothing waits past ``timeout``: connect, send and the whole answer share one deadline;
* a connection is reused only after a complete response that allows keep-alive.
"""

from __future__ import annotations

import asyncio
import ssl
import zlib
from collections import deque
from typing import Any
from urllib.parse import urlsplit

import httptools

_BODY_FREE_STATUSES = frozenset({204, 304})


class H1Error(Exception):
    """A request that got no complete answer.  ``kind``: connect | timeout | reset | protocol."""

    def __init__(self, kind: str, detail: str, *, sent: bool) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.sent = sent


class H1Response:
    __slots__ = ("status", "raw_headers", "body")

    def __init__(self, status: int, raw_headers: tuple[tuple[bytes, bytes], ...], body: bytes) -> None:
        self.status = status
        self.raw_headers = raw_headers
        self.body = body


class _Connection(asyncio.Protocol):
    """One socket: at most one request in flight; back to the pool after a complete keep-alive answer."""

    def __init__(self, pool: H1Pool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[H1Response] | None = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.head_only = False
        self.until_eof = False  # no Content-Length, not chunked: the body ends when the socket does
        self.encoding = b""
        self.got_bytes = False
        self.closed = False

    # -- asyncio.Protocol ----------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.waiter is None:  # bytes nobody asked for: the connection cannot be trusted any more
            self.close()
            return
        self.got_bytes = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(H1Error("protocol", f"malformed response: {exc}", sent=True))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool._forget(self)
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        if self.until_eof:
            self._complete()
            return
        detail = f"connection closed: {type(exc).__name__}" if exc else "connection closed by the upstream"
        self._fail(H1Error("reset", detail, sent=True))

    # -- httptools callbacks ---------------------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_body(self, chunk: bytes) -> None:
        self.body.append(chunk)

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        framed = False
        for name, value in self.headers:
            lname = name.lower()
            if lname == b"content-length" or (lname == b"transfer-encoding" and b"chunked" in value.lower()):
                framed = True
            elif lname == b"content-encoding":
                self.encoding = value.strip().lower()
        if self.head_only:  # the parser would wait for a body a HEAD answer never has
            self._complete(reuse=False)
        elif not framed and status >= 200 and status not in _BODY_FREE_STATUSES:
            self.until_eof = True

    def on_message_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200:  # an interim answer (100 Continue, 103 Early Hints): the real one follows
            self.headers, self.body = [], []
            return
        if self.waiter is not None and not self.waiter.done():
            self._complete(reuse=self.parser.should_keep_alive())

    # -- requests --------------------------------------------------------------------------------------
    def start(self, data: bytes, head_only: bool) -> asyncio.Future[H1Response]:
        self.headers, self.body = [], []
        self.head_only, self.until_eof, self.encoding, self.got_bytes = head_only, False, b"", False
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)  # type: ignore[union-attr]
        return self.waiter

    def _complete(self, reuse: bool = False) -> None:
        waiter, self.waiter = self.waiter, None
        try:
            body = _decode(b"".join(self.body), self.encoding)
        except zlib.error as exc:
            waiter.set_exception(H1Error("protocol", f"undecodable {self.encoding.decode()} body: {exc}", sent=True))
            self.close()
            return
        headers = self.headers
        if self.encoding:
            headers = [(n, v) for n, v in headers if n.lower() != b"content-encoding"]
        waiter.set_result(H1Response(self.parser.get_status_code(), tuple(headers), body))
        if reuse and not self.closed:
            self.pool._release(self)
        else:
            self.close()
            self.pool._release(None)

    def _fail(self, error: H1Error) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)
            self.pool._release(None)

    def abort(self, error: H1Error) -> None:
        self._fail(error)
        self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.pool._forget(self)
            if self.transport is not None:
                self.transport.abort()


def _decode(body: bytes, encoding: bytes) -> bytes:
    if not encoding or encoding == b"identity" or not body:
        return body
    if encoding in (b"gzip", b"x-gzip"):
        return zlib.decompress(body, 16 + zlib.MAX_WBITS)
    if encoding == b"deflate":
        try:
            return zlib.decompress(body)
        except zlib.error:
            return zlib.decompress(body, -zlib.MAX_WBITS)  # raw deflate, as some servers send it
    raise zlib.error(f"unsupported content-encoding {encoding.decode('latin-1')}")


class H1Pool:
    """Keep-alive connections to one origin (``http://host:port`` or ``https://...``), at most ``limit``."""

    def __init__(self, origin: str, *, limit: int = 100, ssl_context: ssl.SSLContext | None = None) -> None:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) origin: {origin!r}")
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.ssl = (ssl_context or ssl.create_default_context()) if parts.scheme == "https" else None
        default_port = self.port == (443 if self.ssl else 80)
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.host_header = (host if default_port else f"{host}:{self.port}").encode("idna")
        self.limit = max(1, limit)
        self._idle: deque[_Connection] = deque()
        self._busy = 0  # connections in use or being opened
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._closed = False

    async def request(
        self, method: str, target: str, headers: Any, body: bytes | None, *, timeout: float, connect_timeout: float,
    ) -> H1Response:
        """Send ``method target`` (an already-encoded path and query) and read the whole answer."""
        data = self._serialize(method, target, headers, body)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        conn = await self._acquire(loop, deadline, connect_timeout)
        waiter = conn.start(data, method == "HEAD")
        timer = loop.call_at(deadline, conn.abort, H1Error("timeout", "no answer in time", sent=True))
        try:
            return await waiter
        except asyncio.CancelledError:
            conn.abort(H1Error("reset", "request cancelled", sent=True))
            raise
        finally:
            timer.cancel()

    async def close(self) -> None:
        self._closed = True
        while self._idle:
            self._idle.pop().close()
        while self._waiters:
            w = self._waiters.popleft()
            if not w.done():
                w.set_exception(H1Error("connect", "connection pool closed", sent=False))

    # -- connections -----------------------------------------------------------------------------------
    async def _acquire(self, loop: asyncio.AbstractEventLoop, deadline: float, connect_timeout: float) -> _Connection:
        while True:
            if self._closed:
                raise H1Error("connect", "connection pool closed", sent=False)
            while self._idle:
                conn = self._idle.pop()
                if not conn.closed and not conn.transport.is_closing():  # type: ignore[union-attr]
                    self._busy += 1
                    return conn
            if self._busy < self.limit:
                self._busy += 1
                try:
                    return await self._open(loop, min(connect_timeout, deadline - loop.time()))
                except BaseException:
                    self._release(None)
                    raise
            waiter = loop.create_future()
            self._waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter, max(0.0, deadline - loop.time()))
            except TimeoutError:
                raise H1Error("timeout", "no free upstream connection in time", sent=False) from None
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._wake()  # it was handed a free slot it will not use: pass it on
                raise

    async def _open(self, loop: asyncio.AbstractEventLoop, timeout: float) -> _Connection:
        if timeout <= 0:
            raise H1Error("timeout", "no time left to connect", sent=False)
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(lambda: _Connection(self), self.host, self.port, ssl=self.ssl,
                                       server_hostname=self.host if self.ssl else None),
                timeout,
            )
        except TimeoutError:
            raise H1Error("connect", "connect timeout", sent=False) from None
        except (OSError, ssl.SSLError) as exc:
            raise H1Error("connect", f"cannot connect to {self.host}:{self.port}: {exc}", sent=False) from None
        return conn

    def _release(self, conn: _Connection | None) -> None:
        """A request finished: its connection (if reusable) goes idle and one waiter may proceed."""
        self._busy -= 1
        if conn is not None and not self._closed:
            self._idle.append(conn)
        self._wake()

    def _wake(self) -> None:
        while self._waiters:
            w = self._waiters.popleft()
            if not w.done():
                w.set_result(None)
                break

    def _forget(self, conn: _Connection) -> None:
        try:
            self._idle.remove(conn)
        except ValueError:
            pass

    def _serialize(self, method: str, target: str, headers: Any, body: bytes | None) -> bytes:
        lines = [f"{method} {target} HTTP/1.1\r\n".encode("latin-1"), b"Host: ", self.host_header, b"\r\n"]
        items = headers.items() if isinstance(headers, dict) else (headers or ())
        for name, value in items:
            n = name.encode("latin-1") if isinstance(name, str) else name
            v = value.encode("latin-1") if isinstance(value, str) else value
            if b"\r" in n or b"\n" in n or b"\r" in v or b"\n" in v or b":" in n:
                raise H1Error("protocol", f"header {n[:40]!r} cannot be sent (line break or colon)", sent=False)
            lines += (n, b": ", v, b"\r\n")
        if body:
            lines += (b"Content-Length: ", str(len(body)).encode(), b"\r\n\r\n", body)
        elif method in ("POST", "PUT", "PATCH"):
            lines.append(b"Content-Length: 0\r\n\r\n")
        else:
            lines.append(b"\r\n")
        if any(c in target for c in " \r\n"):
            raise H1Error("protocol", "request target contains whitespace", sent=False)
        return b"".join(lines)
