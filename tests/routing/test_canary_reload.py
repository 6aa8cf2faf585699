"""Canary weights, run-registry stickiness, and hot reload of routes and backends."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter

import aiohttp
import httpx
import pytest
import yaml
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.routing.support import (
    MemoryBackend,
    relay_config,
    relay_gateway,
    relay_gateway_from_file,
    serve,
    upstream,
)

FRONT = {"Authorization": "Bearer front-secret"}


@pytest.fixture(autouse=True)
def _token(monkeypatch):
    monkeypatch.setenv("RELAY_UPSTREAM_TOKEN", "back-secret")


def canary_routes(weights):
    return [{"name": "split", "match": {"dialect": "relay"}, "backend": "engine", "weights": weights,
             "sticky": "correlation_id"}]


def rewrite(path, tmp, **kwargs):
    path.write_text(yaml.safe_dump(relay_config(tmp, token="front-secret", **kwargs), sort_keys=False))


async def start_many(url: str, n: int) -> list[str]:
    """``n`` starts, 16 at a time, each with its own correlation id (aiohttp: httpx's async client
    is slow under concurrency, encode/httpx#3215)."""
    async with aiohttp.ClientSession(headers=FRONT) as session:
        sem = asyncio.Semaphore(16)

        async def one(i: int) -> str:
            async with sem, session.post(url + "/relay/workflows/orders/start",
                                         json={"correlationId": f"order-{i}"}) as r:
                text = await r.text()
                assert r.status == 200, text
                return text

        return await asyncio.gather(*[one(i) for i in range(n)])


def test_canary_weights_split_1000_starts_and_the_registry_keeps_owners_across_a_reload(tmp_path):
    local, back = MemoryBackend("local"), MemoryBackend("canary")
    with relay_gateway(tmp_path / "back", engine=back, token="back-secret") as (back_url, _):
        backends = {"engine": {"kind": "engine"}, "canary": upstream(back_url)}
        with relay_gateway_from_file(tmp_path / "front", local, token="front-secret", backends=backends,
                                     routes=canary_routes({"engine": 80, "canary": 20}),
                                     server={"reload_interval_ms": 0}) as (url, app, path):
            ids = asyncio.run(start_many(url, 1000))
            owners = Counter("canary" if i in back.executions else "local" for i in ids)
            assert owners["canary"] + owners["local"] == 1000
            assert 150 <= owners["canary"] <= 250, owners  # 20 % of 1000 within tolerance
            sample = ids[:60]
            with httpx.Client(base_url=url, headers=FRONT) as c:
                assert all(c.get(f"/relay/executions/{i}").status_code == 200 for i in sample)
                # every canary run to the engine from now on; existing runs stay with their owner
                rewrite(path, tmp_path / "front", backends=backends, routes=[{"match": {}, "backend": "engine"}])
                assert asyncio.run_coroutine_threadsafe(app.router.reload_file(),
                                                        app.router.loop).result(5) is True
                before = len(back.calls)
                for i in sample:
                    r = c.get(f"/relay/executions/{i}")
                    assert r.status_code == 200 and r.json()["id"] == i
                canary_gets = len(back.calls) - before
                assert canary_gets == sum(1 for i in sample if i in back.executions)
                new = c.post("/relay/workflows/orders/start", json={"correlationId": "after"}).text
                assert new in local.executions
                # the canary backend removed from the config: its runs cannot silently go elsewhere
                rewrite(path, tmp_path / "front", routes=[{"match": {}, "backend": "engine"}])
                assert asyncio.run_coroutine_threadsafe(app.router.reload_file(),
                                                        app.router.loop).result(5) is True
                orphan = next(i for i in sample if i in back.executions)
                r = c.get(f"/relay/executions/{orphan}")
                assert r.status_code == 503 and "no longer configured" in r.json()["error"]["message"]


def test_a_changed_file_is_picked_up_and_an_invalid_one_refused(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="wfgateway.routing")
    local, back = MemoryBackend("local"), MemoryBackend("other")
    with relay_gateway(tmp_path / "back", engine=back, token="back-secret") as (back_url, _):
        backends = {"engine": {"kind": "engine"}, "other": upstream(back_url)}
        with relay_gateway_from_file(tmp_path / "front", local, token="front-secret", backends=backends,
                                     server={"reload_interval_ms": 50}) as (url, app, path), \
                httpx.Client(base_url=url, headers=FRONT) as c:
            assert c.post("/relay/workflows/a/start", json={}).text in local.executions
            text = path.read_text()
            path.write_text(text.replace("backend: engine", "backend: nowhere"))  # unknown backend
            _wait(lambda: "reload refused" in caplog.text)
            assert "nowhere" in caplog.text
            assert c.post("/relay/workflows/a/start", json={}).text in local.executions  # old routes stay
            path.write_text(text.replace("backend: engine", "backend: other"))
            _wait(lambda: "config reloaded" in caplog.text)
            assert c.post("/relay/workflows/a/start", json={}).text in back.executions
            metrics = c.get("/metrics").text
            assert 'wfgateway_config_reloads_total{result="refused"} 1.0' in metrics
            assert 'wfgateway_config_reloads_total{result="applied"} 1.0' in metrics


def test_calls_in_flight_finish_on_the_old_backend(tmp_path):
    release = threading.Event()

    async def slow(request):
        await asyncio.get_running_loop().run_in_executor(None, release.wait, 5)
        return JSONResponse({"id": request.path_params["id"], "workflow": "w", "status": "COMPLETED"})

    with serve(Starlette(routes=[Route("/relay/executions/{id}", slow)])) as slow_url, \
            relay_gateway_from_file(tmp_path, MemoryBackend("local"), token="front-secret",
                                    backends={"engine": {"kind": "engine"}, "up": upstream(slow_url)},
                                    routes=[{"match": {}, "backend": "up"}],
                                    server={"reload_interval_ms": 0}) as (url, app, path):
        result: dict = {}
        t = threading.Thread(target=lambda: result.update(r=httpx.get(url + "/relay/executions/e1", headers=FRONT,
                                                                      timeout=10)))
        t.start()
        time.sleep(0.3)
        router = app.router
        old = router.state.runtimes["up"].transport
        assert old.inflight == 1
        rewrite(path, tmp_path, backends={"engine": {"kind": "engine"}, "up": upstream(slow_url, timeout_ms=9000)},
                routes=[{"match": {}, "backend": "up"}])
        assert asyncio.run_coroutine_threadsafe(router.reload_file(), router.loop).result(5)
        assert router.state.runtimes["up"].transport is not old  # changed settings: a new transport
        release.set()
        t.join(10)
        assert result["r"].status_code == 200  # finished on the old transport, not cut off by the swap
        _wait(lambda: old.closed)  # and the old one closed once drained


def _wait(cond, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached in time")
