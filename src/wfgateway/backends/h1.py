"""A lean HTTP/1.1 keep-alive connection pool to one upstream origin.

Why not a general-purpose client (decided by measurement, issue #20): the validation proxy's budget
is a few hundred microseconds of CPU per request, and the client side of a pass-through is where
general clients spend most of it (aiohttp's client ~65 us per request, this pool ~20 us).
bench/proxy_vs_aiohttp.py --no-prism, one run with this hardening on, 2-core machine at load 7: the
bare aiohttp pass-through spends 153 (GET) / 164 (POST) us of CPU per request, the whole gateway with
this pool, request and response validated, 108 / 109 us -- 1.42x / 1.50x cheaper (req/s in that run
1.39x / 1.11x, moved by the machine's load); with aiohttp's client in its place the gateway would
spend about as much as the bare pass-through.  So the pool stays, held to a library's standard: framing is httptools' llhttp (the parser uvicorn and Node use) in its strict mode,
plus the rules below, and tests/routing/test_h1_differential.py checks it against h11 (the reference
HTTP/1.1 parser) over generated answers.

What it guarantees to its caller (backends/transport.py):
* every failure is an :class:`H1Error` whose ``sent`` says whether any byte of the request may have
  reached the upstream (so a non-idempotent call is retried only when it cannot have been applied);
* nothing waits past ``timeout``: connect, send and the whole answer share one deadline;
* every request gives its pool slot back exactly once, whatever ends it (answer, malformed answer,
  undecodable body, size limit, timeout, reset, cancellation), so a faulty upstream cannot wedge the pool;
* a connection is reused only after a complete response that allows keep-alive and is followed by
  nothing (RFC 9112 §6.3, §9.3): any byte after the response that could start another one, a
  Content-Length/Transfer-Encoding conflict, duplicate Content-Length, an obsolete line fold, a bad
  chunk size, a Transfer-Encoding other than ``chunked``, a 101 nobody asked for or a version other
  than HTTP/1.x closes the connection (refused answers are errors; bare CR/LF after an answer, which
  llhttp skips and which cannot start an answer, is not detected);
* an answer's head (interim 1xx answers included) stays below ``max_head_bytes`` and its body, after
  Content-Encoding is undone, below ``max_body_bytes`` (kind ``too_large``); memory stays bounded;
* trailers and the headers of interim answers are dropped, never merged into the answer's headers.
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
DEFAULT_MAX_HEAD_BYTES = 64 * 1024
DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
_WBITS = {b"gzip": 31, b"x-gzip": 31, b"deflate": 15}
_PARSER_ERRORS = (httptools.HttpParserError, httptools.HttpParserUpgrade)


class H1Error(Exception):
    """A request that got no complete answer.  ``kind``: connect | timeout | reset | protocol | too_large."""

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


class _Refused(Exception):
    """Raised from a parser callback to stop parsing an answer the pool will not accept."""


class _Connection(asyncio.Protocol):
    """One socket: at most one request in flight; back to the pool after a clean keep-alive answer."""

    def __init__(self, pool: H1Pool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[H1Response] | None = None
        self.leased = False  # holds one of the pool's slots until _settle gives it back
        self.closed = False
        self._reset(False)

    def _reset(self, head_only: bool) -> None:
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.status = 0
        self.head_only = head_only
        self.head_bytes = 0  # bytes received while no final head was complete
        self.body_bytes = 0
        self.head_done = False
        self.until_eof = False  # no Content-Length, not chunked: the body ends when the socket does
        self.finished = False  # the final answer is complete (for HEAD: its head is)
        self.keep_alive = False
        self.extra = False  # bytes after the complete answer
        self.encoding = b""
        self.refusal: H1Error | None = None

    # -- asyncio.Protocol ----------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.waiter is None:  # bytes nobody asked for: the connection cannot be trusted any more
            self.close()
            return
        try:
            self.parser.feed_data(data)
        except _PARSER_ERRORS as exc:
            if self.finished:  # a complete answer, then bytes that are no answer: deliver it, drop the socket
                self._deliver(reuse=False)
            else:
                self._settle(self.refusal or H1Error("protocol", f"malformed response: {exc}", sent=True), False)
            return
        if self.finished:
            self._deliver(reuse=self.keep_alive and not self.extra)
        elif not self.head_done:
            self.head_bytes += len(data)
            if self.head_bytes > self.pool.max_head_bytes:
                self._settle(H1Error("too_large", f"response head exceeds {self.pool.max_head_bytes} bytes",
                                     sent=True), False)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool._forget(self)
        if not self.leased:
            return
        if self.until_eof and not self.finished:
            self._deliver(reuse=False)
            return
        detail = f"connection closed: {type(exc).__name__}" if exc else "connection closed by the upstream"
        self._settle(H1Error("reset", detail, sent=True), False)

    # -- httptools callbacks ---------------------------------------------------------------------------
    def on_message_begin(self) -> None:
        if self.finished:  # the upstream sent more than one answer to one request
            self.extra = True

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.head_done:  # (trailers and the next message's headers are never kept)
            self.headers.append((name, value))

    def on_body(self, chunk: bytes) -> None:
        if self.finished:
            return
        self.body_bytes += len(chunk)
        if self.body_bytes > self.pool.max_body_bytes:
            self._refuse("too_large", f"response body exceeds {self.pool.max_body_bytes} bytes")
        self.body.append(chunk)

    def on_headers_complete(self) -> None:
        if self.finished:
            return
        status = self.parser.get_status_code()
        if status < 200:  # an interim answer: its headers are not the answer's
            self.headers = []
            return
        self.status = status
        self.head_done = True
        if self.parser.get_http_version() not in ("1.1", "1.0"):
            self._refuse("protocol", f"HTTP/{self.parser.get_http_version()} is not HTTP/1.x")
        framed = False
        codings: list[bytes] = []
        for name, value in self.headers:
            lname = name.lower()
            if lname == b"content-length":
                framed = True
            elif lname == b"transfer-encoding":
                codings.append(value.strip().lower())
            elif lname == b"content-encoding":
                self.encoding = value.strip().lower()
        if codings:
            if codings != [b"chunked"]:  # RFC 9112 §6.1: nothing else frames an answer we can read
                self._refuse("protocol", f"unsupported Transfer-Encoding {b', '.join(codings).decode('latin-1')}")
            framed = True
        if self.head_only:  # the parser would wait for a body a HEAD answer never has: done, not reusable
            self.finished = True
        elif not framed and status not in _BODY_FREE_STATUSES:
            self.until_eof = True

    def on_message_complete(self) -> None:
        if self.finished:
            return
        if not self.head_done:  # an interim answer (100 Continue, 103 Early Hints): the real one follows
            self.body = []
            return
        self.finished = True
        self.keep_alive = self.parser.should_keep_alive()

    def _refuse(self, kind: str, detail: str) -> None:
        self.refusal = H1Error(kind, detail, sent=True)
        raise _Refused(detail)

    # -- requests --------------------------------------------------------------------------------------
    def start(self, data: bytes, head_only: bool) -> asyncio.Future[H1Response]:
        self._reset(head_only)
        self.leased = True
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)  # type: ignore[union-attr]
        return self.waiter

    def _deliver(self, reuse: bool) -> None:
        body = b"" if self.head_only else b"".join(self.body)
        headers = self.headers
        if self.encoding:
            try:
                body = _decode(body, self.encoding, self.pool.max_body_bytes)
            except H1Error as failure:
                self._settle(failure, False)
                return
            headers = [(n, v) for n, v in headers if n.lower() != b"content-encoding"]
        self._settle(H1Response(self.status, tuple(headers), body), reuse)

    def _settle(self, outcome: H1Response | H1Error, reuse: bool) -> None:
        """End the request in flight: answer or fail its waiter and give its slot back, exactly once."""
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            if isinstance(outcome, H1Error):
                waiter.set_exception(outcome)
            else:
                waiter.set_result(outcome)
        if not reuse or self.closed:
            self.close()
        if self.leased:
            self.leased = False
            self.pool._release(None if self.closed else self)

    def abort(self, waiter: asyncio.Future[H1Response], error: H1Error) -> None:
        """Fail the request of ``waiter`` (timeout, cancellation) if it is still the one in flight."""
        if self.waiter is waiter:
            self._settle(error, False)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.pool._forget(self)
            if self.transport is not None:
                self.transport.abort()


def _decode(body: bytes, encoding: bytes, limit: int) -> bytes:
    """Undo one Content-Encoding (gzip, deflate), never inflating past ``limit`` bytes."""
    if encoding == b"identity" or not body:
        return body
    wbits = _WBITS.get(encoding)
    if wbits is None:
        raise H1Error("protocol", f"unsupported content-encoding {encoding.decode('latin-1')[:40]}", sent=True)
    out = b""
    for bits in (wbits, -15) if wbits == 15 else (wbits,):  # raw deflate, as some servers send it
        try:
            d = zlib.decompressobj(bits)
            out = d.decompress(body, limit + 1)
        except zlib.error:
            continue
        if len(out) > limit:
            raise H1Error("too_large", f"decoded response body exceeds {limit} bytes", sent=True)
        if d.eof:
            return out
    raise H1Error("protocol", f"undecodable {encoding.decode('latin-1')} body", sent=True)


class H1Pool:
    """Keep-alive connections to one origin (``http://host:port`` or ``https://...``), at most ``limit``."""

    def __init__(self, origin: str, *, limit: int = 100, ssl_context: ssl.SSLContext | None = None,
                 max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, max_head_bytes: int = DEFAULT_MAX_HEAD_BYTES) -> None:
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
        self.max_body_bytes = max_body_bytes
        self.max_head_bytes = max_head_bytes
        self._idle: deque[_Connection] = deque()
        self._busy = 0  # connections in use or being opened
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._closed = False

    @property
    def free_slots(self) -> int:
        """How many more requests could start now without waiting (the limit minus those in flight)."""
        return self.limit - self._busy

    @property
    def idle_connections(self) -> int:
        return len(self._idle)

    async def request(
        self, method: str, target: str, headers: Any, body: bytes | None, *, timeout: float, connect_timeout: float,
    ) -> H1Response:
        """Send ``method target`` (an already-encoded path and query) and read the whole answer."""
        data = self._serialize(method, target, headers, body)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        conn = await self._acquire(loop, deadline, connect_timeout)
        waiter = conn.start(data, method == "HEAD")
        timer = loop.call_at(deadline, conn.abort, waiter, H1Error("timeout", "no answer in time", sent=True))
        try:
            return await waiter
        except asyncio.CancelledError:
            conn.abort(waiter, H1Error("reset", "request cancelled", sent=True))
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
        if conn is not None:
            if self._closed:
                conn.close()
            else:
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
            if b"\r" in n or b"\n" in n or b"\r" in v or b"\n" in v or b"\0" in v or b":" in n:
                raise H1Error("protocol", f"header {n[:40]!r} cannot be sent (line break, NUL or colon)", sent=False)
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
