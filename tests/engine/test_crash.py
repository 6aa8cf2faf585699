"""SIGKILL an engine process in the middle of a load, restart it, and check the ledger.

A client drives starts, worker task completions and reruns against a real engine process
(``engine_node``) and writes down every operation the process acknowledged.  The process is killed
while an HTTP task is in flight and a wait timer is pending, then started again on the same database.
Afterwards: every acknowledged operation is there exactly once, nothing that was never sent exists,
no execution is stuck, the interrupted HTTP request was sent again and the pending timers fired.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from wfgateway.core.model import HTTP, NOOP, WAIT, WORKER
from wfgateway.engine.codec import definition_to_dict
from wfgateway.engine.store.base import ATT_IDX, Store

from .conftest import store_settings
from .helpers import definition, spec
from .nodes import CounterServer, Node, call

pytestmark = pytest.mark.slow  # started first: see tests/conftest.py

WAIT_MS = 400
HTTP_DELAY_MS = 300  # well inside http_timeout_ms below, so a loaded machine never times the call out
LEASE_MS = 6000  # worker leases outlive the restart, so held tasks are still ours to complete


@dataclass
class Ledger:
    """What the client sent and what the engine process acknowledged."""

    sent_starts: set[str] = field(default_factory=set)
    acked_starts: set[str] = field(default_factory=set)
    acked_polls: list[str] = field(default_factory=list)
    held: dict[str, str] = field(default_factory=dict)  # polled task -> completion mark not yet acknowledged
    acked_completions: dict[str, str] = field(default_factory=dict)
    acked_reruns: dict[str, list[int]] = field(default_factory=dict)
    unanswered_reruns: dict[str, int] = field(default_factory=dict)
    busy: set[str] = field(default_factory=set)


def crash_workflow(counter: CounterServer) -> dict[str, Any]:
    d = definition(
        "crash-wf",
        spec("n1", NOOP, input={"round": "${workflow.input.round}"}),
        spec("w", WORKER, "n1", name="crash-w"),
        spec("h", HTTP, "w", params={"url": counter.hit_url("h", delay_ms=HTTP_DELAY_MS)}),
        spec("t", WAIT, "h", params={"duration_ms": WAIT_MS}),
        spec("n2", NOOP, "t"),
    )
    body = definition_to_dict(d)
    body.pop("tenant", None)
    return body


async def _starter(client: httpx.AsyncClient, node: Node, led: Ledger, stop: asyncio.Event) -> None:
    while not stop.is_set() and len(led.sent_starts) < 80:
        eid = str(uuid.uuid4())
        led.sent_starts.add(eid)
        try:
            await call(client, node, "/start", {"name": "crash-wf", "input": {"round": 0}, "execution_id": eid})
        except httpx.TransportError:
            return
        led.acked_starts.add(eid)
        await asyncio.sleep(0.01)


async def _complete(client: httpx.AsyncClient, node: Node, led: Ledger, task_id: str) -> None:
    await call(client, node, "/complete", {"task_id": task_id, "output": {"mark": led.held[task_id]}})
    led.acked_completions[task_id] = led.held.pop(task_id)


async def _worker(client: httpx.AsyncClient, node: Node, led: Ledger, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            got = await call(client, node, "/poll", {"task": "crash-w", "count": 2, "timeout_ms": 100})
            for t in got:
                led.acked_polls.append(t["id"])
                led.held[t["id"]] = uuid.uuid4().hex
            for t in got:
                await _complete(client, node, led, t["id"])
        except httpx.TransportError:
            return


async def _rerunner(client: httpx.AsyncClient, node: Node, led: Ledger, stop: asyncio.Event, seed: int) -> None:
    rng = random.Random(seed)
    while not stop.is_set():
        await asyncio.sleep(0.02)
        candidates = sorted(led.acked_starts - led.busy)
        if not candidates:
            continue
        eid = rng.choice(candidates)
        try:
            view = await call(client, node, f"/executions/{eid}")
            if view["status"] != "COMPLETED":
                continue
            rnd = len(led.acked_reruns.get(eid, [])) + 1
            led.busy.add(eid)
            try:
                await call(client, node, "/rerun", {"execution_id": eid, "workflow_input": {"round": rnd}})
            except RuntimeError:  # refused (say, it is running again): certainly not applied
                led.busy.discard(eid)
                continue
            led.acked_reruns.setdefault(eid, []).append(rnd)
            led.busy.discard(eid)
        except httpx.TransportError:
            if eid in led.busy:
                led.unanswered_reruns[eid] = len(led.acked_reruns.get(eid, [])) + 1
            return


async def _interrupted_moment(store: Store, counter: CounterServer, led: Ledger, t0: float) -> set[str]:
    """Wait until an HTTP request is mid-flight and a wait timer has time left; returns those requests."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        await asyncio.sleep(0.01)
        if time.monotonic() - t0 < 1.5 or sum(map(len, led.acked_reruns.values())) < 3:
            continue
        flying = counter.in_flight(younger_than_s=HTTP_DELAY_MS / 2000)
        if not flying:
            continue
        now_ms = time.time() * 1000
        waits = await store.attempts_in("wait", ["IN_PROGRESS"])
        if any(w[ATT_IDX["started_ms"]] + WAIT_MS - now_ms > 150 for w in waits):
            return flying
    raise AssertionError("the load never had an HTTP request in flight and a wait pending at once")


async def _finish(client: httpx.AsyncClient, node: Node, led: Ledger, existing: list[str]) -> list[dict[str, Any]]:
    """After the restart: deliver held results again, work the queue until nothing is left running."""
    for task_id in list(led.held):
        await _complete(client, node, led, task_id)
    stop = asyncio.Event()
    workers = [asyncio.ensure_future(_worker(client, node, led, stop)) for _ in range(2)]
    try:
        deadline = time.monotonic() + 20
        pending = list(existing)
        while pending:
            await asyncio.sleep(0.2)
            views = [await call(client, node, f"/executions/{eid}") for eid in pending]
            pending = [v["id"] for v in views if v["status"] != "COMPLETED"]
            assert time.monotonic() < deadline, f"stuck: {Counter(v['status'] for v in views)}"
    finally:
        stop.set()
        await asyncio.gather(*workers)
    return [await call(client, node, f"/executions/{eid}?history=1") for eid in existing]


async def _existing(client: httpx.AsyncClient, node: Node, ids: set[str]) -> list[str]:
    out = []
    for eid in sorted(ids):
        resp = await client.get(f"{node.url}/executions/{eid}")
        assert resp.status_code in (200, 404), resp.text
        if resp.status_code == 200:
            out.append(eid)
    return out


async def test_a_killed_engine_loses_nothing_it_acknowledged(store_kind: str, tmp_path: Path,
                                                              store_factory: Callable[[], Store]):
    settings = {"store": store_settings(store_kind, tmp_path), "http_allow": ["127.0.0.0/8"],
                "http_timeout_ms": 5000, "worker_lease_ms": LEASE_MS}
    led = Ledger()
    observer = store_factory()
    await observer.open()
    try:
        with CounterServer() as counter:
            node = Node(settings, tmp_path / "node-1.log")
            async with httpx.AsyncClient() as client:
                try:
                    await call(client, node, "/definitions", crash_workflow(counter))
                    stop = asyncio.Event()
                    load = [_starter(client, node, led, stop), _starter(client, node, led, stop),
                            _worker(client, node, led, stop), _worker(client, node, led, stop),
                            _rerunner(client, node, led, stop, 1), _rerunner(client, node, led, stop, 2)]
                    tasks = [asyncio.ensure_future(c) for c in load]
                    flying = await _interrupted_moment(observer, counter, led, time.monotonic())
                    kill_ms = time.time() * 1000
                    node.kill()
                    stop.set()
                    await asyncio.gather(*tasks)
                    held_at_kill = dict(led.held)
                finally:
                    node.kill()
                first_log = node.log()

                node = Node(settings, tmp_path / "node-2.log")
                try:
                    existing = await _existing(client, node, led.sent_starts)
                    histories = await _finish(client, node, led, existing)
                finally:
                    node.stop()
            calls = Counter(counter.calls)
    finally:
        await observer.close()

    assert "Traceback" not in first_log and "Traceback" not in node.log(), node.log()
    _check(led, held_at_kill, existing, histories, calls, flying, kill_ms)


def _check(led: Ledger, held_at_kill: dict[str, str], existing: list[str], histories: list[dict[str, Any]], calls: Counter[str],
           flying: set[str], kill_ms: float) -> None:
    print(f"\nstarts {len(led.acked_starts)}/{len(led.sent_starts)} existing {len(existing)} completions {len(led.acked_completions)} reruns {sum(map(len, led.acked_reruns.values()))} unanswered {led.unanswered_reruns} flying {len(flying)} held {len(held_at_kill)}")
    # starts: every acknowledged one exists, nothing that was never sent does
    assert led.acked_starts <= set(existing) <= led.sent_starts
    assert len(led.acked_starts) >= 5 and sum(map(len, led.acked_reruns.values())) >= 1
    by_id: dict[str, list[dict[str, Any]]] = {}
    for h in histories:
        assert h["status"] == "COMPLETED", h
        for t in h["tasks"]:
            by_id.setdefault(t["id"], []).append(t)
        # reruns: each acknowledged one applied once; an unanswered one at most once
        applied = sum(1 for t in h["tasks"] if t["ref"] == "n1") - 1
        acked = led.acked_reruns.get(h["id"], [])
        maybe = 1 if h["id"] in led.unanswered_reruns else 0
        assert len(acked) <= applied <= len(acked) + maybe, (h["id"], acked, applied)
        last = ([0, *acked] if applied == len(acked) else [led.unanswered_reruns[h["id"]]])[-1]
        assert h["input"] == {"round": last}
        # every visible task ran once and finished
        visible = Counter(t["ref"] for t in h["tasks"] if t["visible"])
        assert visible == Counter({"n1": 1, "w": 1, "h": 1, "t": 1, "n2": 1}), visible
    # completions: every acknowledged result is stored, with the output that was sent
    for task_id, mark in led.acked_completions.items():
        assert any(t["status"] == "COMPLETED" and t["output"] == {"mark": mark} for t in by_id[task_id]), task_id
    assert len(led.acked_polls) == len(set(led.acked_polls)), "a leased task was handed out twice"
    # HTTP: each attempt sent once, except the ones cut off by the kill: sent exactly once more
    https = [t for ts in by_id.values() for t in ts if t["kind"] == HTTP and t["status"] == "COMPLETED"]
    assert https
    for t in https:
        expected = 2 if t["id"] in flying else 1
        assert calls[t["id"]] in ((1, 2) if t["started_ms"] <= kill_ms else (1,)), (t, calls[t["id"]])
        assert calls[t["id"]] >= expected, (t["id"], calls[t["id"]])
    assert flying and all(calls[a] == 2 for a in flying)
    # timers: the waits pending at the kill fired after the restart
    waits = [t for ts in by_id.values() for t in ts if t["kind"] == WAIT and t["started_ms"] <= kill_ms < t["ended_ms"]]
    assert waits and all(t["status"] == "COMPLETED" for t in waits)
