"""Real worker processes on the shared database, and an engine restart that loses nothing."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from wfgateway.core.model import HTTP, WAIT, WORKER
from wfgateway.core.statuses import ExecutionStatus as ES
from wfgateway.core.statuses import TaskStatus as TS

from .conftest import store_settings
from .helpers import TENANT, by_ref, definition, run, spec, work

ROOT = Path(__file__).resolve().parents[2]


def _worker(settings: dict, name: str, mode: str, max_tasks: int, seconds: float) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'src'}"}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.engine.worker_proc", json.dumps(settings), TENANT, name, mode,
         str(max_tasks), str(seconds)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


async def test_worker_processes_share_the_queue_and_never_run_a_task_twice(engine, store_kind, tmp_path):
    name = f"proc-{uuid.uuid4().hex[:6]}"
    await engine.put_definition(definition(name, *[spec(f"t{i}", WORKER, name=name, input={"n": i}) for i in range(4)]))
    executions = [await engine.start(TENANT, name, None, {}) for _ in range(3)]
    settings = store_settings(store_kind, tmp_path)
    procs = [_worker(settings, name, "double", 100, 30) for _ in range(3)]
    try:
        for e in executions:
            done = await engine.wait_until(e.id, [ES.COMPLETED], 30)
            for ref, t in by_ref(done).items():
                assert t.output["doubled"] == int(ref[1:]) * 2
            assert len(done.tasks) == 4  # one attempt per task: nothing ran twice
    finally:
        lines = []
        for p in procs:
            p.send_signal(signal.SIGTERM)  # the workers stop cleanly between polls
        for p in procs:
            out, err = p.communicate(timeout=30)
            assert p.returncode in (0, -signal.SIGTERM) and "Traceback" not in err, err  # -15: still starting
            lines += [json.loads(x) for x in out.splitlines() if x.strip()]
    ids = [x["id"] for x in lines]
    assert len(ids) == 12 and len(set(ids)) == 12


async def test_an_expired_lease_requeues_the_task_of_a_killed_worker(engine, store_kind, tmp_path):
    name = f"lease-{uuid.uuid4().hex[:6]}"
    e = await run(engine, name, spec("t", WORKER, name=name))
    proc = _worker(store_settings(store_kind, tmp_path), name, "grab", 1, 20)
    try:
        line = await asyncio.get_running_loop().run_in_executor(None, proc.stdout.readline)
        grabbed = json.loads(line)["id"]
        assert (await engine.get_task(grabbed)).status is TS.IN_PROGRESS
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)
    again = await engine.poll(TENANT, name, worker_id="survivor", timeout_ms=5000)
    assert again and again[0].id == grabbed and again[0].poll_count == 2 and again[0].worker_id == "survivor"
    await engine.complete_task(grabbed, TS.COMPLETED)
    await engine.wait_until(e.id, [ES.COMPLETED], 3)


async def test_timers_survive_an_engine_restart(make_engine):
    first = make_engine()
    await first.startup()
    waiting = await run(first, "nap", spec("w", WAIT, params={"duration_ms": 400}))
    await run(first, "later", spec("w", WORKER, name="later-r", retries=1, retry_delay_ms=400))
    timing_out = await run(first, "slowpoke", spec("w", WORKER, name="nobody-r"), timeout_ms=400)
    await work(first, "later-r", fail="first try")
    await first.stop()

    second = make_engine()
    await second.startup()
    try:
        assert (await second.wait_until(waiting.id, [ES.COMPLETED], 5)).status is ES.COMPLETED
        got = await second.poll(TENANT, "later-r", timeout_ms=5000)
        assert got and got[0].attempt == 1
        assert (await second.wait_until(timing_out.id, [ES.TIMED_OUT], 5)).status is ES.TIMED_OUT
    finally:
        await second.stop()


async def test_in_flight_http_task_is_sent_again_after_a_restart(make_engine, http_server):
    first = make_engine()
    await first.startup()
    marker = uuid.uuid4().hex
    e = await run(first, "inflight", spec("h", HTTP, params={"url": f"{http_server.base_url}/slow?ms=600&m={marker}"}))
    for _ in range(100):
        if any(c["query"].get("m") == marker for c in http_server.calls):
            break
        await asyncio.sleep(0.02)
    assert by_ref(await first.get(e.id))["h"].status is TS.IN_PROGRESS
    await first.stop()  # the process "dies" mid-request

    # The only process of this deployment restarts: it re-sends what it had in flight at once (with
    # several replicas sharing a database the request's lease expiry does it instead).
    second = make_engine(recover_inflight=True)
    await second.startup()
    try:
        done = await second.wait_until(e.id, [ES.COMPLETED], 5)
        assert by_ref(done)["h"].output["body"] == {"slow": True}
        assert sum(c["query"].get("m") == marker for c in http_server.calls) == 2
    finally:
        await second.stop()
