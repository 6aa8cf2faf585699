"""CPU per request of the three dialects' run listings with 100-run pages (Altostrat: its 15-run page),
the ASGI app called in this process (no server, no load generator), beside a baseline measured in the
same run: the gateway's own ``GET /healthz`` and a 1-run Conductor search page.

    .venv/bin/python -m bench.listing_render [--size 1000] [--requests 300] [--profile search]

The shipped config.yaml serves a fresh SQLite store in open mode (tenant ``default``).  One workflow is
registered and run once per dialect through its own API (so every stored run has a real definition
snapshot to render with); then ``--size`` runs are written straight into the store (55 % Conductor,
30 % Cognite, 15 % Altostrat, as bench.search_scale): every status, reasons, a failed task's record,
correlation ids, every 50th run a sub-workflow of the one before.  Each listing is requested
``--requests`` times after a warm-up; ``--profile LABEL`` prints cProfile's top entries for the listings
whose label contains LABEL.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from bench.engine_common import table
from tests.support.server import gateway_config
from wfgateway.app import create_app
from wfgateway.config import config_from_dict
from wfgateway.engine.store.base import EXEC_COLS, EXEC_IDX, Changeset
from wfgateway.engine.store.sqlite import SQLiteStore

REPO = Path(__file__).resolve().parents[1]
TENANT = "default"  # open mode's tenant in all three dialects
COGNITE = f"/api/v1/projects/{TENANT}"
STATUSES = ("COMPLETED", "FAILED", "RUNNING", "TERMINATED", "PAUSED", "TIMED_OUT")
NOW_MS = 1_800_000_000_000
DAY_MS = 86_400_000

Asgi = Any


async def _lifespan(app: Asgi) -> tuple[asyncio.Queue[Any], asyncio.Task[Any]]:
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    outbox: asyncio.Queue[Any] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    task = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, outbox.put))
    started = await outbox.get()
    if started["type"] != "lifespan.startup.complete":
        raise SystemExit(f"the gateway did not start: {started}")
    return inbox, task


async def _stop(lifespan: tuple[asyncio.Queue[Any], asyncio.Task[Any]]) -> None:
    inbox, task = lifespan
    await inbox.put({"type": "lifespan.shutdown"})
    await task


def _ok(response: httpx.Response) -> Any:
    if response.status_code >= 300:
        raise SystemExit(f"{response.request.method} {response.request.url}: {response.status_code} "
                         f"{response.text[:300]}")
    json_answer = response.headers.get("content-type", "").startswith("application/json")
    return response.json() if json_answer else response.text


async def register_and_run(client: httpx.AsyncClient) -> dict[str, str]:
    """One definition per dialect, run once through its API; the Altostrat workflow's id."""
    flow = {"name": "orders", "version": 1, "timeoutSeconds": 0, "tasks": [
        {"name": "charge", "taskReferenceName": "charge_ref", "type": "SIMPLE"},
        {"name": "ship", "taskReferenceName": "ship_ref", "type": "SIMPLE"}]}
    _ok(await client.post("/api/metadata/workflow", json=flow))
    _ok(await client.post("/api/workflow/orders", json={"n": 1}))
    _ok(await client.post(f"{COGNITE}/workflows/versions", json={"items": [{
        "workflowExternalId": "nightly", "version": "1", "workflowDefinition": {"tasks": [
            {"externalId": "load", "type": "function",
             "parameters": {"function": {"externalId": "loader"}, "isAsyncComplete": True}}]}}]}))
    nonce = _ok(await client.post(f"{COGNITE}/sessions", json={"items": [{"tokenExchange": True}]}))["items"][0]["nonce"]
    _ok(await client.post(f"{COGNITE}/workflows/nightly/versions/1/run", json={"authentication": {"nonce": nonce}}))
    auth = _ok(await client.post("/workflows/authorization"))["id"]
    workflow = _ok(await client.post("/workflows", json={
        "name": "Only a trigger", "authorization_id": auth, "edges": [],
        "nodes": [{"id": "t", "type": "manual_trigger", "position": {"x": 0, "y": 0},
                   "data": {"componentId": "manual_trigger"}}]}))
    _ok(await client.post(f"/workflows/{workflow['id']}/execute", json={"context": {"i": 0}}))
    return {"altostrat": workflow["id"]}


def runs(size: int, templates: dict[str, tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """``size`` execution rows cloned from each dialect's real run: statuses rotating, reasons and a
    failed task on the unsuccessful ones, correlation ids in groups of 5, every 50th a child run."""
    for i in range(size):
        pick = i % 100
        dialect = "conductor" if pick < 55 else "cognite" if pick < 85 else "altostrat"
        row = list(templates[dialect])
        status = STATUSES[i % len(STATUSES)]
        created = NOW_MS - 90 * DAY_MS + (i * 7_777_777) % (90 * DAY_MS) + i % 1000  # every millisecond value
        ended = created + 1000 + i if status in ("COMPLETED", "FAILED", "TERMINATED", "TIMED_OUT") else 0
        reason = {"FAILED": f"card {i} declined", "TERMINATED": "stopped by ops",
                  "TIMED_OUT": "Workflow timed out"}.get(status)
        extra = (f'{{"failed_task":{{"id":"t{i}","ref":"charge_ref","status":"FAILED","reason":"{reason}"}}}}'
                 if status == "FAILED" and i % 2 else "{}")
        row[EXEC_IDX["id"]] = f"run{i:08d}"
        row[EXEC_IDX["status"]] = status
        row[EXEC_IDX["input"]] = f'{{"order":{i},"items":["a","b"],"note":"ünïcode"}}'
        row[EXEC_IDX["output"]] = '{"ok":true}' if status == "COMPLETED" else "{}"
        row[EXEC_IDX["correlation_id"]] = f"corr{i // 5}"
        row[EXEC_IDX["reason"]] = reason
        row[EXEC_IDX["parent_execution_id"]] = f"run{i - 1:08d}" if i % 50 == 49 else None
        row[EXEC_IDX["priority"]] = i % 3
        row[EXEC_IDX["created_ms"]] = row[EXEC_IDX["started_ms"]] = created
        row[EXEC_IDX["ended_ms"]] = ended
        row[EXEC_IDX["updated_ms"]] = ended or created
        row[EXEC_IDX["extra"]] = extra
        row[EXEC_IDX["row_version"]] = 1
        row[EXEC_IDX["idempotency_key"]] = f"key{i}" if i % 7 == 0 else None
        yield tuple(row)


async def fill(db: Path, size: int) -> None:
    """Clone each dialect's one real run into ``size`` runs, through the store's own commit."""
    store = SQLiteStore(db)
    await store.open()
    try:
        rows = await store.fetch_sql(f"SELECT {', '.join(EXEC_COLS)} FROM executions")
        templates = {row[EXEC_IDX["dialect"]]: tuple(row) for row in rows}
        missing = {"conductor", "cognite", "altostrat"} - set(templates)
        if missing:
            raise SystemExit(f"no template run for {', '.join(sorted(missing))}")
        await store.commit(Changeset(exec_inserts=list(runs(size, templates))))
    finally:
        await store.close()


def listings(altostrat_workflow: str) -> list[tuple[str, str, str, dict[str, Any] | None]]:
    """(label, method, path, JSON body) of each request timed; the first two are the baselines."""
    return [
        ("baseline: GET /healthz", "GET", "/healthz", None),
        ("baseline: Conductor search, a 1-run page", "GET", "/api/workflow/search?size=1", None),
        ("Conductor GET /api/workflow/search?size=100 (WorkflowSummary)", "GET", "/api/workflow/search?size=100", None),
        ("Conductor GET /api/workflow/search-v2?size=100 (Workflow)", "GET", "/api/workflow/search-v2?size=100",
         None),
        ("Conductor search?size=100 of failed runs", "GET",
         "/api/workflow/search?size=100&query=status%20IN%20(FAILED,TIMED_OUT,TERMINATED)", None),
        ("Cognite POST executions/list, limit 100", "POST", f"{COGNITE}/workflows/executions/list", {"limit": 100}),
        ("Altostrat GET /workflows/{id}/executions (15 runs)", "GET", f"/workflows/{altostrat_workflow}/executions",
         None),
    ]


class Request:
    """One request sent straight to the ASGI app (no client library's cost in the figure)."""

    def __init__(self, method: str, path: str, body: dict[str, Any] | None) -> None:
        route, _, query = path.partition("?")
        self.body = b"" if body is None else json.dumps(body).encode()
        headers = [(b"host", b"127.0.0.1:8080"), (b"user-agent", b"bench")]
        if body is not None:
            headers += [(b"content-type", b"application/json"), (b"content-length", str(len(self.body)).encode())]
        self.scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                      "scheme": "http", "path": route, "raw_path": route.encode(), "query_string": query.encode(),
                      "root_path": "", "headers": headers, "client": ("127.0.0.1", 5000),
                      "server": ("127.0.0.1", 8080)}
        self.status = 0
        self.answer = bytearray()

    async def receive(self) -> dict[str, Any]:
        return {"type": "http.request", "body": self.body, "more_body": False}

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.answer.clear()
        elif message["type"] == "http.response.body":
            self.answer += message.get("body", b"")

    async def __call__(self, app: Asgi) -> bytes:
        await app(dict(self.scope), self.receive, self.send)
        if not 200 <= self.status < 300:  # a listing answers 200; a rerun (search_scale) 202
            raise SystemExit(f"{self.scope['method']} {self.scope['path']}: {self.status} {bytes(self.answer[:300])!r}")
        return bytes(self.answer)


async def timed(app: Asgi, request: Request, requests: int, profiler: cProfile.Profile | None) -> tuple[float, int]:
    """CPU µs per request, and the answer's size."""
    size = 0
    for _ in range(20):  # warm-up: caches, definition snapshots, SQLite's pages
        size = len(await request(app))
    if profiler is not None:
        profiler.enable()
    started = time.process_time()
    for _ in range(requests):
        await request(app)
    used = time.process_time() - started
    if profiler is not None:
        profiler.disable()
    return used / requests * 1e6, size


async def run(size: int, requests: int, profile: str | None) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="wfgw-listing-bench-"))
    config = config_from_dict(gateway_config(tmp), base_dir=REPO)
    app = create_app(config)
    lifespan = await _lifespan(app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        ids = await register_and_run(client)
    await _stop(lifespan)
    await fill(tmp / "gateway.db", size)
    app = create_app(config)
    lifespan = await _lifespan(app)
    rows = []
    profiler = cProfile.Profile() if profile else None
    try:
        figures: list[float] = []
        for label, method, path, body in listings(ids["altostrat"]):
            chosen = profiler if profile and profile.lower() in label.lower() else None
            cpu, answer = await timed(app, Request(method, path, body), requests, chosen)
            figures.append(cpu)
            rows.append([label, f"{cpu:,.0f}", f"{answer:,}", f"{cpu / figures[0]:.1f}x",
                         f"{cpu / figures[1]:.1f}x" if len(figures) > 2 else "-"])
    finally:
        await _stop(lifespan)
    print(f"{size:,} runs stored (SQLite), {requests} requests per listing, ASGI app in process, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
    print(table(["request", "CPU µs/request", "answer bytes", "ratio to /healthz", "ratio to a 1-run page"], rows))
    if profiler is not None:
        print()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(35)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1000, help="runs stored (55/30/15 %% per dialect)")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--profile", help="cProfile the listings whose label contains this")
    args = parser.parse_args()
    import uvloop

    uvloop.run(run(args.size, args.requests, args.profile))


if __name__ == "__main__":
    main()
