"""Fault injection on the upstream hop (issue #20): a raw-socket upstream answers like a faulty or
hostile vendor, and after every fault we check what a user would notice --

* the client's answer (the right status in the dialect's own error format, or its own good answer);
* the NEXT client's answer on the same backend: its own execution, never bytes meant for another;
* the backend's connection pool: every slot free again (a fault never wedges later calls);
* the gateway's memory: bounded (traced allocations), whatever the upstream sends.
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import threading
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest

from tests.routing.raw_upstream import RawUpstream, good, good_answer, good_body
from tests.routing.support import relay_gateway, upstream
from tests.support.server import run_gateway

FRONT = {"Authorization": "Bearer front-secret"}
MB = 1024 * 1024
POOL_LIMIT = 3  # small, so that a leaked slot per fault wedges the backend within the test


@pytest.fixture(autouse=True)
def _token(monkeypatch):
    monkeypatch.setenv("RELAY_UPSTREAM_TOKEN", "back-secret")


@contextlib.contextmanager
def front(tmp_path, url: str, *, timeout_ms: int = 2000, **backend: Any) -> Iterator[tuple[httpx.Client, Any]]:
    """The gateway forwarding every relay call to ``url``; yields a client and the backend's pool."""
    entry = upstream(url, retries=0, circuit={"failures": 1000}, max_connections=POOL_LIMIT, **backend)
    with relay_gateway(tmp_path, token="front-secret", backends={"engine": {"kind": "engine"}, "up": entry},
                       routes=[{"name": "main", "match": {}, "backend": "up", "timeout_ms": timeout_ms}]) as (base, app), \
            httpx.Client(base_url=base, headers=FRONT, timeout=30) as client:
        transport = app.router.state.runtimes["up"].transport
        yield client, transport.pool(transport.origin)


# -- the faults --------------------------------------------------------------------------------------------
def raw(answer: bytes, *, keep: bool = True) -> Callable[[socket.socket, bytes], bool]:
    def script(conn: socket.socket, request: bytes) -> bool:
        conn.sendall(answer)
        return keep
    return script


def smuggled(conn: socket.socket, request: bytes) -> bool:
    """The issue's desync: a good answer, then a second one nobody asked for, in one write."""
    stolen = b'{"id":"stolen","workflow":"w","status":"COMPLETED"}'
    conn.sendall(good_answer(request) + b"HTTP/1.1 200 OK\r\nX-Smuggled: yes\r\nContent-Type: application/json\r\n"
                 b"Content-Length: " + str(len(stolen)).encode() + b"\r\n\r\n" + stolen)
    return True


LATE_SENT = threading.Event()


def late_bytes(conn: socket.socket, request: bytes) -> bool:
    """A good answer, then (while the connection idles in the pool) the start of another."""
    conn.sendall(good_answer(request))
    time.sleep(0.05)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{")
    LATE_SENT.set()
    return True


def early_close(conn: socket.socket, request: bytes) -> bool:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"id\":")
    return False


def interim(status: bytes, headers: bytes = b"") -> Callable[[socket.socket, bytes], bool]:
    def script(conn: socket.socket, request: bytes) -> bool:
        conn.sendall(b"HTTP/1.1 " + status + b"\r\n" + headers + b"\r\n" + good_answer(request))
        return True
    return script


# Built once at import, so that the upstream's own buffers are not counted as the gateway's memory.
FLOOD = b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-Flood-%d: %d\r\n" % (i, i) for i in range(20_000)) \
    + b"Content-Length: 2\r\n\r\n{}"
LONG_LINE = b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * (4 * MB) + b"\r\nContent-Length: 2\r\n\r\n{}"
BOMB = gzip.compress(b" " * (50 * MB), compresslevel=9)
BLOCK = b" " * 65536


def header_flood(conn: socket.socket, request: bytes) -> bool:
    conn.sendall(FLOOD)
    return True


def header_drip(conn: socket.socket, request: bytes) -> bool:
    """Slowloris the other way round: one header byte every 20 ms, for longer than the route's timeout."""
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    for _ in range(300):
        conn.sendall(b"X")
        time.sleep(0.02)
    return False


def long_header_line(conn: socket.socket, request: bytes) -> bool:
    conn.sendall(LONG_LINE)
    return True


def close_then_keep_talking(conn: socket.socket, request: bytes) -> bool:
    """Says ``Connection: close`` but keeps the socket open (and would answer on it)."""
    conn.sendall(good_answer(request, extra_headers=b"Connection: close\r\n"))
    return True


def encoded(coding: bytes, body: bytes) -> Callable[[socket.socket, bytes], bool]:
    return raw(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: " + coding
               + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


def huge_body(conn: socket.socket, request: bytes) -> bool:
    """Offers 50 MB (sent in 64 KB blocks until the gateway hangs up)."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + str(50 * MB).encode()
                 + b"\r\n\r\n")
    for _ in range(50 * 16):
        conn.sendall(BLOCK)
    return True


def gzip_bomb(conn: socket.socket, request: bytes) -> bool:
    """A small gzip body that inflates to 50 MB."""
    return encoded(b"gzip", BOMB)(conn, request)


@dataclass
class Fault:
    name: str
    script: Callable[[socket.socket, bytes], bool]
    status: int  # what the client gets
    repeat: int = 1  # more than the pool's slots, where a leaked slot would wedge the backend
    new_connection: bool = False  # the connection the fault was answered on must not be reused
    memory_mb: float = 8  # bound on the gateway's traced allocations during the fault
    backend: dict[str, Any] = field(default_factory=dict)


FAULTS = [
    Fault("answer followed by a smuggled answer", smuggled, 200, new_connection=True),
    Fault("bytes arriving while the connection idles", late_bytes, 200, new_connection=True),
    Fault("early close inside the body", early_close, 502, repeat=POOL_LIMIT + 2),
    Fault("100 Continue before the answer", interim(b"100 Continue"), 200),
    Fault("103 Early Hints before the answer", interim(b"103 Early Hints", b"Link: </x>; rel=preload\r\n"), 200),
    Fault("101 Switching Protocols nobody asked for", interim(b"101 Switching Protocols",
                                                              b"Upgrade: h2c\r\nConnection: upgrade\r\n"), 502),
    Fault("header flood", header_flood, 502, repeat=POOL_LIMIT + 2),
    Fault("header drip past the timeout", header_drip, 504, backend={"timeout_ms": 600}),
    Fault("a 4 MB header line", long_header_line, 502, memory_mb=8),
    Fault("keep-alive after Connection: close", close_then_keep_talking, 200, new_connection=True),
    Fault("Content-Length and Transfer-Encoding", raw(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"), 502,
        repeat=POOL_LIMIT + 2),
    Fault("two different Content-Lengths", raw(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}"), 502, repeat=POOL_LIMIT + 2),
    Fault("obsolete line fold", raw(
        b"HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 2\r\n\r\n{}"), 502),
    Fault("bad chunk size", raw(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"), 502),
    Fault("Transfer-Encoding other than chunked", raw(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"), 502),
    Fault("an HTTP/2.0 status line", raw(b"HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\n{}"), 502),
    Fault("corrupt gzip body", encoded(b"gzip", b"\x1f\x8b\x08\x00garbage-not-deflate"), 502,
          repeat=POOL_LIMIT + 2),
    Fault("truncated gzip body", encoded(b"gzip", gzip.compress(b'{"id":"x"}' * 50)[:30]), 502),
    Fault("unsupported br body", encoded(b"br", b"\x0b\x02\x80{}\x03"), 502, repeat=POOL_LIMIT + 2),
    Fault("a 50 MB body", huge_body, 502, memory_mb=12, backend={"max_response_bytes": MB}),
    Fault("a gzip body inflating to 50 MB", gzip_bomb, 502, memory_mb=12, backend={"max_response_bytes": MB}),
]


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_after_each_fault_the_next_client_gets_its_own_answer_and_the_pool_is_whole(tmp_path, fault):
    with RawUpstream() as up, front(tmp_path, up.url, **fault.backend) as (client, pool):
        client.get("/relay/executions/warm-up")  # the gateway's own warm-up allocations are not the fault's
        up.script = fault.script
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            for i in range(fault.repeat):
                r = client.get(f"/relay/executions/victim-{i}")
                assert r.status_code == fault.status, (r.status_code, r.text[:300])
                if fault.status == 200:
                    assert r.json() == {"id": f"victim-{i}", "workflow": "w", "status": "COMPLETED"}
                    assert "x-smuggled" not in r.headers and "link" not in r.headers
                else:
                    error = r.json()["error"]
                    assert error["code"] == fault.status
                    assert error["kind"] == {502: "bad_gateway", 504: "gateway_timeout"}[fault.status]
            peak = tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()
        assert peak < fault.memory_mb * MB, f"{peak / MB:.1f} MB traced during the fault"
        if fault.script is late_bytes:  # (sent later, they can only be told apart from an answer while idle)
            assert LATE_SENT.wait(5)
            end = time.monotonic() + 5
            while pool.idle_connections and time.monotonic() < end:
                time.sleep(0.01)
            assert pool.idle_connections == 0  # the pool dropped the connection the stray bytes came on
        connections = up.connections
        up.script = good
        nxt = client.get("/relay/executions/next-client")
        assert nxt.status_code == 200 and nxt.json()["id"] == "next-client", nxt.text[:300]
        assert "x-smuggled" not in nxt.headers
        if fault.new_connection:
            assert up.connections == connections + 1  # the faulted connection was closed, not reused
        assert pool.free_slots == pool.limit == POOL_LIMIT


# -- HEAD through the pool (the gateway's specs route no HEAD) -----------------------------------------------
async def test_a_head_answer_with_a_body_is_not_taken_for_the_next_answer() -> None:
    from wfgateway.backends.h1 import H1Pool

    def head_with_body(conn: socket.socket, request: bytes) -> bool:
        if request.startswith(b"HEAD "):
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 52\r\n\r\n"
                         b'{"id":"stolen","workflow":"w","status":"COMPLETED"}\n')
            return True
        return good(conn, request)

    with RawUpstream() as up:
        up.script = head_with_body
        pool = H1Pool(up.url, limit=2)
        head = await pool.request("HEAD", "/relay/executions/h", None, None, timeout=5, connect_timeout=1)
        assert head.status == 200 and head.body == b""
        for i in range(3):
            got = await pool.request("GET", f"/relay/executions/g{i}", None, None, timeout=5, connect_timeout=1)
            assert got.body == good_body(b"GET /relay/executions/g%d HTTP/1.1\r\n" % i)
        assert pool.free_slots == 2
        assert up.connections == 2  # the HEAD's connection was not reused
        await pool.close()


# -- the reproduction on the real dialects ----------------------------------------------------------
def vendor_answer(body: dict[str, Any]) -> bytes:
    data = orjson.dumps(body)
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + str(len(data)).encode()
            + b"\r\n\r\n" + data)


STOLEN = str(uuid.uuid4())
VENDORS = {
    "conductor": ("/api/workflow/{id}", lambda i: {"workflowId": i, "status": "COMPLETED",
                                                   "taskToDomain": {"a\r\nX-Injected: yes": 5}}, "workflowId"),
    "cognite": ("/api/v1/projects/p1/workflows/executions/{id}", lambda i: {
        "id": i, "workflowExternalId": "w", "status": "completed", "createdTime": 1,
        "a\r\nX-Injected: yes": 5}, "id"),
}


@pytest.mark.parametrize("dialect", sorted(VENDORS))
def test_smuggled_answers_and_injecting_drift_on_the_vendor_dialects(tmp_path, dialect):
    """The issue's faults against the Conductor and Cognite dialects forwarded to a same-vendor upstream."""
    path, document, id_field = VENDORS[dialect]

    def script(conn: socket.socket, request: bytes) -> bool:
        own = request.split(b" ", 2)[1].decode().split("?")[0].rsplit("/", 1)[-1]
        stolen = vendor_answer(document(STOLEN))  # the start of an answer too many, as in the issue
        conn.sendall(vendor_answer(document(own)) + stolen[:stolen.index(b"\r\n\r\n") + 4 + 20])
        return True

    routes = {"backends": {"engine": {"kind": "engine"},
                           "up": {"kind": "upstream", "dialect": dialect, "url": "", "retries": 0,
                                  "response_validation": "report", "max_connections": 2}},
              "routes": [{"name": "proxy", "match": {"dialect": dialect}, "backend": "up"},
                         {"match": {}, "backend": "engine"}]}
    with RawUpstream() as up:
        routes["backends"]["up"]["url"] = up.url
        up.script = script
        with run_gateway(tmp_path, **routes) as gw, httpx.Client(base_url=gw.url, timeout=30) as client:
            for own in [str(uuid.uuid4()) for _ in range(4)]:
                r = client.get(path.format(id=own))
                assert r.status_code == 200, r.text[:300]
                assert r.json()[id_field] == own  # never the smuggled answer
                assert "x-injected" not in r.headers
                assert not any(c in r.headers["x-wfgateway-drift"] for c in "\r\n")
            pool = gw.app.router.state.runtimes["up"].transport
            assert pool.pool(pool.origin).free_slots == 2
        assert up.connections == 4  # every connection that carried a smuggled answer was dropped
