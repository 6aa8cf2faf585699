"""The upstream connection pool (wfgateway.backends.h1) against real sockets on 127.0.0.1.

A scripted asyncio server plays the upstream so that each test can answer byte for byte the way a
real server might: chunked, gzip, read-until-close, slow, resetting, closing idle connections.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from wfgateway.backends.h1 import H1Error, H1Pool

Handler = Callable[[bytes, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[bool]]


class ScriptedServer:
    """Reads one request head at a time and lets ``handler`` answer; counts connections."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.open_now = 0
        self.most_open = 0
        self.requests: list[bytes] = []
        self.server: asyncio.base_events.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length) if length else b""
                self.requests.append(head + body)
                if not await self.handler(head, reader, writer):
                    return
        finally:
            self.open_now -= 1
            writer.close()

    @property
    def origin(self) -> str:
        port = self.server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://127.0.0.1:{port}"


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[ScriptedServer]]]:
    servers: list[ScriptedServer] = []

    async def start(handler: Handler) -> ScriptedServer:
        s = ScriptedServer(handler)
        s.server = await asyncio.start_server(s._serve, "127.0.0.1", 0)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.server.close()  # type: ignore[union-attr]


def answer(body: bytes, *, status: str = "200 OK") -> Handler:
    async def handler(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 " + status.encode() + b"\r\nContent-Type: application/json\r\n"
                     + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        await writer.drain()
        return True
    return handler


async def get(pool: H1Pool, target: str = "/x", method: str = "GET", **kw: object):
    return await pool.request(method, target, kw.pop("headers", None), kw.pop("body", None),  # type: ignore[arg-type]
                              timeout=kw.pop("timeout", 5.0), connect_timeout=1.0)  # type: ignore[arg-type]


async def test_keep_alive_reuses_one_connection_and_sends_the_request_as_given(serve) -> None:
    server = await serve(answer(b'{"ok":true}'))
    pool = H1Pool(server.origin)
    for _ in range(5):
        resp = await get(pool, "/api/workflow/a%2Fb?x=1&y=%20", headers=[("X-Trace", "t1")])
        assert resp.status == 200 and resp.body == b'{"ok":true}'
        assert (b"content-type", b"application/json") in [(n.lower(), v) for n, v in resp.raw_headers]
    assert server.connections == 1
    first = server.requests[0]
    assert first.startswith(b"GET /api/workflow/a%2Fb?x=1&y=%20 HTTP/1.1\r\n")
    assert b"Host: 127.0.0.1:" in first and b"X-Trace: t1\r\n" in first
    await pool.close()


async def test_post_body_is_framed_by_content_length(serve) -> None:
    server = await serve(answer(b"wf-1"))
    pool = H1Pool(server.origin)
    resp = await get(pool, "/rerun", method="POST", body=b'{"a":1}', headers={"Content-Type": "application/json"})
    assert resp.body == b"wf-1"
    assert server.requests[0].endswith(b"Content-Length: 7\r\n\r\n{\"a\":1}")
    empty = await get(pool, "/rerun", method="POST")
    assert empty.status == 200 and b"Content-Length: 0\r\n" in server.requests[1]
    await pool.close()


async def test_chunked_and_gzip_bodies_arrive_decoded(serve) -> None:
    payload = b'{"items":[' + b",".join(b'"%d"' % i for i in range(500)) + b"]}"
    packed = gzip.compress(payload)

    async def handler(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n")
        for i in range(0, len(packed), 100):
            piece = packed[i:i + 100]
            writer.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        return True

    server = await serve(handler)
    pool = H1Pool(server.origin)
    resp = await get(pool)
    assert resp.body == payload
    assert not any(n.lower() == b"content-encoding" for n, _ in resp.raw_headers)  # the body is no longer gzip
    again = await get(pool)  # the connection survived the chunked answer
    assert again.body == payload and server.connections == 1
    await pool.close()


async def test_a_body_without_length_ends_when_the_upstream_closes(serve) -> None:
    async def handler(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it")
        await writer.drain()
        return False  # close

    server = await serve(handler)
    pool = H1Pool(server.origin)
    assert (await get(pool)).body == b"all of it"
    assert (await get(pool)).body == b"all of it"  # a fresh connection for the next one
    assert server.connections == 2
    await pool.close()


async def test_head_answer_completes_without_waiting_for_a_body(serve) -> None:
    async def head_handler(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n")
        await writer.drain()
        return True

    server = await serve(head_handler)
    pool = H1Pool(server.origin)
    resp = await get(pool, method="HEAD", timeout=2.0)
    assert resp.status == 200 and resp.body == b""
    await pool.close()


async def test_silence_is_a_timeout_that_counts_as_sent(serve) -> None:
    async def handler(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(10)
        return False

    server = await serve(handler)
    pool = H1Pool(server.origin)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(H1Error) as err:
        await get(pool, timeout=0.3)
    assert err.value.kind == "timeout" and err.value.sent is True
    assert loop.time() - started < 1.5
    await pool.close()


async def test_a_reset_after_the_request_counts_as_sent(serve) -> None:
    async def handler(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.transport.abort()
        return False

    server = await serve(handler)
    pool = H1Pool(server.origin)
    with pytest.raises(H1Error) as err:
        await get(pool)
    assert err.value.kind == "reset" and err.value.sent is True
    await pool.close()


async def test_nobody_listening_is_a_connect_error_nothing_sent() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pool = H1Pool(f"http://127.0.0.1:{port}")
    with pytest.raises(H1Error) as err:
        await get(pool)
    assert err.value.kind == "connect" and err.value.sent is False
    await pool.close()


async def test_an_idle_connection_the_upstream_closed_is_not_reused(serve) -> None:
    async def handler(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        return False  # keep-alive answer, then the server closes the idle socket anyway

    server = await serve(handler)
    pool = H1Pool(server.origin)
    assert (await get(pool)).body == b"ok"
    await asyncio.sleep(0.1)  # the close reaches the pool
    assert (await get(pool)).body == b"ok"
    assert server.connections == 2
    await pool.close()


async def test_the_limit_caps_open_connections_and_every_request_is_answered(serve) -> None:
    async def handler(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(0.05)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        return True

    server = await serve(handler)
    pool = H1Pool(server.origin, limit=2)
    answers = await asyncio.gather(*(get(pool) for _ in range(10)))
    assert [a.body for a in answers] == [b"ok"] * 10
    assert server.most_open <= 2
    await pool.close()


async def test_waiting_for_a_free_connection_respects_the_deadline(serve) -> None:
    async def handler(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(1)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        return True

    server = await serve(handler)
    pool = H1Pool(server.origin, limit=1)
    slow = asyncio.create_task(get(pool, timeout=3.0))
    await asyncio.sleep(0.1)
    with pytest.raises(H1Error) as err:
        await get(pool, timeout=0.2)
    assert err.value.kind == "timeout" and err.value.sent is False
    assert (await slow).body == b"ok"
    await pool.close()


async def test_header_injection_is_refused_before_anything_is_sent(serve) -> None:
    server = await serve(answer(b"ok"))
    pool = H1Pool(server.origin)
    with pytest.raises(H1Error) as err:
        await get(pool, headers={"X-Evil": "a\r\nHost: elsewhere"})
    assert err.value.kind == "protocol" and err.value.sent is False
    assert server.requests == []
    await pool.close()


async def test_an_unparseable_answer_is_a_protocol_error(serve) -> None:
    async def handler(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"SMTP ready\r\n\r\n")
        await writer.drain()
        return True

    server = await serve(handler)
    pool = H1Pool(server.origin)
    with pytest.raises(H1Error) as err:
        await get(pool)
    assert err.value.kind == "protocol" and err.value.sent is True
    await pool.close()


def test_only_http_origins_are_accepted() -> None:
    with pytest.raises(ValueError):
        H1Pool("ftp://example.com")
    assert H1Pool("https://example.com").host_header == b"example.com"
    assert H1Pool("http://example.com:8080").host_header == b"example.com:8080"
