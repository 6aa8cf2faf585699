"""Bulk retry against single retries, through the Conductor API of a real gateway, in the same run.

    .venv/bin/python -m bench.conductor_bulk_retry [--count 1000] [--rounds 2] [--concurrency 8]

The gateway (uvicorn + uvloop, embedded SQLite engine) runs in its own process.  Each round makes
2 x ``count`` failed executions of a 10-task workflow (nine worker tasks COMPLETED, the tenth
FAILED, reported through /api/tasks), then repairs half of them with ``POST /api/workflow/{id}/retry``
-- ``concurrency`` requests in flight over keep-alive connections -- and the other half with
``POST /api/workflow/bulk/retry`` in requests of 1,000 ids (Conductor's limit), and prints
executions retried per second for both.  Every retry is checked (204, or the id among the bulk
successes).  Best of ``--rounds``.  Bar: bulk faster per execution than single retries.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
TASK = "bench_bulk_work"
WORKFLOW = "bench_bulk_retry"
TASKS = 10
BULK_LIMIT = 1000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bench.serve", "engine", "--port", str(port), "--tmp", str(tmp)],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz").status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the gateway did not start")


async def _define(http: httpx.AsyncClient) -> None:
    got = await http.post("/api/metadata/taskdefs", json=[{"name": TASK, "retryCount": 0, "timeoutSeconds": 600,
                                                           "responseTimeoutSeconds": 600}])
    got.raise_for_status()
    tasks = [{"name": TASK, "taskReferenceName": f"t{i}", "type": "SIMPLE"} for i in range(TASKS)]
    got = await http.post("/api/metadata/workflow", params={"overwrite": "true"},
                          json={"name": WORKFLOW, "version": 1, "schemaVersion": 2, "timeoutSeconds": 0, "tasks": tasks})
    got.raise_for_status()


async def _failed_executions(http: httpx.AsyncClient, count: int, concurrency: int) -> list[str]:
    """``count`` executions whose first nine tasks COMPLETED and whose tenth FAILED."""
    ids = [(await http.post(f"/api/workflow/{WORKFLOW}", json={"i": i})).text for i in range(count)]
    gate = asyncio.Semaphore(concurrency)

    async def report(task: dict) -> None:
        last = task["referenceTaskName"] == f"t{TASKS - 1}"
        async with gate:
            got = await http.post("/api/tasks", json={"workflowInstanceId": task["workflowInstanceId"],
                                                      "taskId": task["taskId"], "outputData": {"ok": True},
                                                      "status": "FAILED" if last else "COMPLETED"})
            got.raise_for_status()

    remaining = count * TASKS
    while remaining:
        polled = (await http.get(f"/api/tasks/poll/batch/{TASK}", params={"count": 200, "timeout": 1000})).json()
        if not polled:
            raise RuntimeError(f"{remaining} task reports still expected, none queued")
        await asyncio.gather(*(report(t) for t in polled))
        remaining -= len(polled)
    return ids


async def _single(http: httpx.AsyncClient, ids: list[str], concurrency: int) -> float:
    queue = list(reversed(ids))

    async def worker() -> None:
        while queue:
            workflow_id = queue.pop()
            got = await http.post(f"/api/workflow/{workflow_id}/retry")
            if got.status_code != 204:
                raise RuntimeError(f"single retry of {workflow_id}: {got.status_code} {got.text}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(ids) / (time.perf_counter() - started)


async def _bulk(http: httpx.AsyncClient, ids: list[str]) -> float:
    started = time.perf_counter()
    for i in range(0, len(ids), BULK_LIMIT):
        chunk = ids[i:i + BULK_LIMIT]
        got = (await http.post("/api/workflow/bulk/retry", json=chunk)).json()
        if got["bulkSuccessfulResults"] != chunk:
            raise RuntimeError(f"bulk retry: {len(got['bulkErrorResults'])} errors, e.g. "
                               f"{next(iter(got['bulkErrorResults'].items()), None)}")
    return len(ids) / (time.perf_counter() - started)


async def run(url: str, count: int, rounds: int, concurrency: int) -> tuple[float, float]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=600) as http:
        await _define(http)
        best_single = best_bulk = 0.0
        for n in range(rounds):
            ids = await _failed_executions(http, 2 * count, concurrency)
            single_ids, bulk_ids = ids[:count], ids[count:]
            if n % 2:  # alternate which goes first, so neither always meets the warmer database
                bulk = await _bulk(http, bulk_ids)
                single = await _single(http, single_ids, concurrency)
            else:
                single = await _single(http, single_ids, concurrency)
                bulk = await _bulk(http, bulk_ids)
            print(f"round {n + 1}: single {single:,.0f}/s  bulk {bulk:,.0f}/s  ratio {bulk / single:.2f}", flush=True)
            best_single, best_bulk = max(best_single, single), max(best_bulk, bulk)
        return best_single, best_bulk


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="executions retried each way per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8, help="single retries in flight")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = _serve(Path(tmp))
        try:
            single, bulk = asyncio.run(run(url, args.count, args.rounds, args.concurrency))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"failed {TASKS}-task executions retried per second (best of {args.rounds}, {args.count} each way):")
    print(f"  single POST /api/workflow/{{id}}/retry, {args.concurrency} in flight: {single:,.0f}/s")
    print(f"  POST /api/workflow/bulk/retry, {BULK_LIMIT} ids per request:        {bulk:,.0f}/s")
    print(f"  ratio bulk/single: {bulk / single:.2f}  (bar: > 1)")
    return 0 if bulk > single else 1


if __name__ == "__main__":
    sys.exit(main())
