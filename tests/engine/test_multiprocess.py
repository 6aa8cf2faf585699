"""Two engine processes on one PostgreSQL schema share the work and never run a task attempt twice.

Both processes are real OS processes (``engine_node``); the test starts executions through both,
runs workers that poll one process and report to either, and an HTTP server counts every request
per task attempt id.  Timers (a retry delay, a wait) fire in whichever process gets there first.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from wfgateway.core.model import HTTP, NOOP, WAIT, WORKER
from wfgateway.engine.codec import definition_to_dict

from .helpers import definition, spec
from .nodes import CounterServer, Node, call
from .pg import PG_DSN

pytestmark = pytest.mark.postgres
EXECUTIONS = 30
WORKERS = 4


def shared_workflow(counter: CounterServer) -> dict[str, Any]:
    d = definition(
        "mp-shared",
        spec("n1", NOOP, input={"i": "${workflow.input.i}"}),
        spec("w1", WORKER, "n1", name="mp-a", input={"i": "${workflow.input.i}"}),
        spec("h1", HTTP, "n1", params={"url": counter.hit_url("h1", delay_ms=5)}),
        spec("j", NOOP, "w1", "h1"),
        spec("hf", HTTP, "j", params={"url": counter.hit_url("hf", fail_first=1)}, retries=1, retry_delay_ms=50),
        spec("wt", WAIT, "hf", params={"duration_ms": 50}),
        spec("w2", WORKER, "wt", name="mp-b"),
        spec("h2", HTTP, "w2", params={"url": counter.hit_url("h2")}),
        spec("n2", NOOP, "h2"),
        spec("n3", NOOP, "n2"),
    )
    body = definition_to_dict(d)
    body.pop("tenant", None)
    return body


async def _drive(client: httpx.AsyncClient, nodes: list[Node], counter: CounterServer
                 ) -> tuple[list[str], list[dict[str, Any]]]:
    await call(client, nodes[0], "/definitions", shared_workflow(counter))
    started = await asyncio.gather(*(
        call(client, nodes[i % 2], "/start", {"name": "mp-shared", "input": {"i": i}}) for i in range(EXECUTIONS)
    ))
    ids = [s["id"] for s in started]
    polled: list[str] = []
    stop = asyncio.Event()
    rng = random.Random(7)

    async def worker(k: int) -> None:
        turn = k
        while not stop.is_set():
            turn += 1
            node = nodes[turn % 2]
            for task in ("mp-a", "mp-b"):
                got = await call(client, node, "/poll", {"task": task, "worker_id": f"w{k}", "count": 2,
                                                         "timeout_ms": 100})
                for t in got:
                    polled.append(t["id"])
                    await call(client, rng.choice(nodes), "/complete",
                               {"task_id": t["id"], "output": {"by": k}, "worker_id": f"w{k}"})

    workers = [asyncio.ensure_future(worker(k)) for k in range(WORKERS)]
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 45
        pending = list(ids)
        while pending:
            await asyncio.sleep(0.25)
            views = await asyncio.gather(*(call(client, nodes[i % 2], f"/executions/{eid}")
                                           for i, eid in enumerate(pending)))
            pending = [v["id"] for v in views if v["status"] != "COMPLETED"]
            assert loop.time() < deadline, f"executions not completed: {Counter(v['status'] for v in views)}"
    finally:
        stop.set()
        await asyncio.gather(*workers, return_exceptions=True)
    histories = [await call(client, nodes[0], f"/executions/{eid}?history=1") for eid in ids]
    return polled, histories


async def test_two_engine_processes_share_the_work_and_run_every_attempt_once(pg_schema: str, tmp_path: Path):
    settings = {"store": {"kind": "postgres", "dsn": PG_DSN, "schema": pg_schema, "pool_size": 6},
                "http_allow": ["127.0.0.0/8"], "http_timeout_ms": 5000}
    with CounterServer() as counter:
        nodes = [Node(settings, tmp_path / f"node{i}.log") for i in range(2)]
        try:
            async with httpx.AsyncClient() as client:
                owners = {(await call(client, n, "/info"))["owner"] for n in nodes}
                polled, histories = await _drive(client, nodes, counter)
        finally:
            for n in nodes:
                n.stop()
        logs = [n.log() for n in nodes]

    assert len(owners) == 2
    for log in logs:
        assert "Traceback" not in log, log
    http_ids: list[str] = []
    worker_ids: list[str] = []
    http_owners: Counter[str] = Counter()
    for h in histories:
        assert h["status"] == "COMPLETED"
        per_ref = Counter(t["ref"] for t in h["tasks"])
        expected = {"n1": 1, "w1": 1, "h1": 1, "j": 1, "hf": 2, "wt": 1, "w2": 1, "h2": 1, "n2": 1, "n3": 1}
        assert dict(per_ref) == expected, h["id"]
        hf = sorted((t for t in h["tasks"] if t["ref"] == "hf"), key=lambda t: t["attempt"])
        assert [t["status"] for t in hf] == ["FAILED", "COMPLETED"]
        for t in h["tasks"]:
            if t["kind"] == HTTP:
                http_ids.append(t["id"])
                http_owners[t["worker_id"]] += 1
            elif t["kind"] == WORKER:
                worker_ids.append(t["id"])
                assert t["poll_count"] == 1 and t["status"] == "COMPLETED"
    # every HTTP attempt was sent exactly once, and nothing else was sent
    assert len(http_ids) == 4 * EXECUTIONS == len(set(http_ids))
    assert {a: counter.calls[a] for a in http_ids} == {a: 1 for a in http_ids}
    assert sum(counter.calls.values()) == len(http_ids)
    # every worker task was handed out exactly once
    assert len(polled) == len(set(polled)) == 2 * EXECUTIONS
    assert set(polled) == set(worker_ids)
    # and both processes did part of the HTTP work
    assert set(http_owners) == owners, http_owners
