"""Fault injection between the front gateway and its upstream: down, slow, resetting connections,
5xx and off-spec answers all become the dialect's own 502/503/504 errors, and nothing hangs."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterator

import aiohttp
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.routing.support import relay_gateway, serve, upstream
from tests.support.server import free_port

FRONT = {"Authorization": "Bearer front-secret"}
GOOD = {"id": "e1", "workflow": "w", "status": "COMPLETED"}


@pytest.fixture(autouse=True)
def _token(monkeypatch):
    monkeypatch.setenv("RELAY_UPSTREAM_TOKEN", "back-secret")


class Faulty:
    """An upstream whose behaviour each test sets: ``mode`` = ok | slow | 500 | 502 | 503 | offspec."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.hits: Counter[str] = Counter()

    def app(self) -> Starlette:
        async def handle(request: Request) -> Response:
            self.hits[request.method] += 1
            if self.mode == "slow":
                await asyncio.sleep(1.5)
            if self.mode in ("500", "502", "503"):
                return JSONResponse({"oops": True}, status_code=int(self.mode))
            if self.mode == "offspec":
                return JSONResponse({"id": 7})
            return JSONResponse(GOOD)

        return Starlette(routes=[Route("/relay/executions/{id}", handle),
                                 Route("/relay/executions/{id}/rerun", handle, methods=["POST"])])


@contextlib.contextmanager
def resetting_server() -> Iterator[str]:
    """Accepts, reads the request, then resets the connection (RST, no answer)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    sock.settimeout(0.2)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            with contextlib.suppress(OSError):
                conn.recv(65536)
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        t.join()
        sock.close()


def front(tmp_path, url: str, *, timeout_ms: int = 2000, mode: str = "report", **backend):
    return relay_gateway(tmp_path, token="front-secret",
                         backends={"engine": {"kind": "engine"},
                                   "up": upstream(url, response_validation=mode, **backend)},
                         routes=[{"name": "main", "match": {}, "backend": "up", "timeout_ms": timeout_ms}])


def timed(fn):
    t0 = time.monotonic()
    r = fn()
    return r, time.monotonic() - t0


def test_upstream_down_is_a_503_in_the_dialect_format(tmp_path):
    with front(tmp_path, f"http://127.0.0.1:{free_port()}", retries=1) as (url, _):
        r, took = timed(lambda: httpx.get(url + "/relay/executions/e1", headers=FRONT, timeout=10))
    assert r.status_code == 503
    assert r.json()["error"]["kind"] == "unavailable" and "unreachable" in r.json()["error"]["message"]
    assert took < 2


def test_slow_upstream_is_cut_at_the_route_timeout_with_504(tmp_path):
    faulty = Faulty()
    faulty.mode = "slow"
    with serve(faulty.app()) as up, front(tmp_path, up, timeout_ms=400) as (url, _):
        r, took = timed(lambda: httpx.get(url + "/relay/executions/e1", headers=FRONT, timeout=10))
        rr, took_post = timed(lambda: httpx.post(url + "/relay/executions/e1/rerun", headers=FRONT, timeout=10))
    assert r.status_code == 504 and r.json()["error"]["kind"] == "gateway_timeout"
    assert rr.status_code == 504
    assert took < 1.5 and took_post < 1.5  # the route's 400 ms, retries included, plus slack


def test_connection_resets_are_502(tmp_path):
    with resetting_server() as up, front(tmp_path, up, retries=0) as (url, _):
        r = httpx.get(url + "/relay/executions/e1", headers=FRONT, timeout=10)
    assert r.status_code == 502 and r.json()["error"]["kind"] == "bad_gateway"


@pytest.mark.parametrize(("mode", "status", "kind"), [("500", 502, "bad_gateway"), ("503", 503, "unavailable")])
def test_upstream_5xx_becomes_a_dialect_error(tmp_path, mode, status, kind):
    faulty = Faulty()
    faulty.mode = mode
    with serve(faulty.app()) as up, front(tmp_path, up, retries=0) as (url, _):
        r = httpx.get(url + "/relay/executions/e1", headers=FRONT, timeout=10)
    assert r.status_code == status and r.json()["error"]["kind"] == kind
    assert f"answered {mode}" in r.json()["error"]["message"]


def test_off_spec_body_in_enforce_mode_is_502(tmp_path):
    faulty = Faulty()
    faulty.mode = "offspec"
    with serve(faulty.app()) as up, front(tmp_path, up, mode="enforce") as (url, _):
        r = httpx.get(url + "/relay/executions/e1", headers=FRONT, timeout=10)
    assert r.status_code == 502 and "contract" in r.json()["error"]["message"]


def test_only_idempotent_calls_are_retried(tmp_path):
    faulty = Faulty()
    faulty.mode = "502"
    with serve(faulty.app()) as up, front(tmp_path, up, retries=2, circuit={"failures": 50}) as (url, _):
        get = httpx.get(url + "/relay/executions/e1", headers=FRONT, timeout=10)
        rerun = httpx.post(url + "/relay/executions/e1/rerun", headers=FRONT, timeout=10)
    assert get.status_code == 502 and rerun.status_code == 502
    assert faulty.hits["GET"] == 3  # first try + 2 retries
    assert faulty.hits["POST"] == 1  # a rerun that may have been applied is never sent twice


def test_circuit_opens_fails_fast_shows_in_readyz_and_recovers(tmp_path):
    faulty = Faulty()
    faulty.mode = "500"
    with serve(faulty.app()) as up, \
            front(tmp_path, up, retries=0, circuit={"failures": 3, "reset_ms": 300}) as (url, _), \
            httpx.Client(base_url=url, headers=FRONT, timeout=10) as c:
        assert c.get("/readyz").json()["checks"]["backend:up"] == "closed"
        for _ in range(3):
            assert c.get("/relay/executions/e1").status_code == 502
        hits = faulty.hits["GET"]
        r = c.get("/relay/executions/e1")
        assert r.status_code == 503 and "circuit open" in r.json()["error"]["message"]
        assert faulty.hits["GET"] == hits  # failed fast, the upstream was not called
        ready = c.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["backend:up"] == "open"
        assert 'wfgateway_backend_circuit_state{backend="up"} 2.0' in c.get("/metrics").text
        faulty.mode = "ok"
        time.sleep(0.35)
        assert c.get("/relay/executions/e1").status_code == 200  # the half-open probe succeeds
        assert c.get("/readyz").json()["checks"]["backend:up"] == "closed"


def test_concurrent_calls_to_a_hung_upstream_all_end_by_the_timeout(tmp_path):
    faulty = Faulty()
    faulty.mode = "slow"
    with serve(faulty.app()) as up, front(tmp_path, up, timeout_ms=500, retries=0,
                                          circuit={"failures": 1000}) as (url, _):
        async def many() -> list[int]:
            async with aiohttp.ClientSession(headers=FRONT) as session:
                async def one() -> int:
                    async with session.get(url + "/relay/executions/e1") as r:
                        return r.status

                return await asyncio.gather(*[one() for _ in range(40)])

        t0 = time.monotonic()
        statuses = asyncio.run(many())
        took = time.monotonic() - t0
    assert statuses == [504] * 40
    assert took < 3
