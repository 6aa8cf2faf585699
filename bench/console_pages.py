"""The console's pages with 100,000 executions stored, beside the API's own list call in the same run
(issue #15 bar: every console page under 100 ms on this machine), and the same pages at 1,000 stored
(a page must cost the same at either size: it is read by key, never counted).

    .venv/bin/python -m bench.console_pages [--size 100000] [--small 1000] [--requests 200]

One SQLite store gets ``--size`` executions (clones of a 10-task Conductor run the engine ran,
bulk-loaded as bench/engine_common does), the gateway serves it from the shipped config in open mode
(uvicorn in a thread on 127.0.0.1), and each page is fetched ``--requests`` times one after another
with httpx: latency p50 / p99 per page, and the ratio of each to Conductor's own search call
(``GET /api/workflow/search?size=25``) measured in the same run.  The poll row is the page's live
refresh: the same runs list with the ETag the page got, answered 304 when nothing changed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

import httpx

from bench.engine_common import (
    bulk_load_sqlite,
    command_line,
    completed_worker_execution,
    percentile,
    table,
)
from tests.support.server import ThreadServer, gateway_config
from wfgateway.app import create_app
from wfgateway.config import config_from_dict
from wfgateway.engine import Engine
from wfgateway.engine.store.base import EXEC_IDX
from wfgateway.engine.store.sqlite import SQLiteStore

REPO = Path(__file__).resolve().parents[1]


async def template(path: Path) -> tuple:
    engine = Engine(SQLiteStore(path))
    await engine.startup()
    try:
        row, attempts = await completed_worker_execution(engine, "console_bench")
    finally:
        await engine.stop()
    row = list(row)
    row[EXEC_IDX["tenant"]] = "default"  # open mode's tenant: the console and Conductor's search see them
    row[EXEC_IDX["dialect"]] = "conductor"
    return tuple(row), attempts


def timed(client: httpx.Client, path: str, count: int, headers: dict[str, str] | None = None,
          expect: int = 200) -> tuple[list[float], float]:
    """Wall-clock ms of each request, and CPU ms per request of this process (the server runs in a
    thread of it; the client's share is the same for every page) -- steadier than wall time under load."""
    out = []
    client.get(path, headers=headers)  # the first request warms caches
    cpu0 = time.process_time()
    for _ in range(count):
        t0 = time.perf_counter()
        r = client.get(path, headers=headers)
        took = (time.perf_counter() - t0) * 1000
        if r.status_code != expect:
            raise SystemExit(f"{path}: {r.status_code} {r.text[:300]}")
        out.append(took)
    return out, (time.process_time() - cpu0) * 1000 / count


def measure(size: int, requests: int) -> tuple[list[tuple[str, tuple[list[float], float]]], float]:
    """Every page's latencies (ms) with ``size`` executions stored, and the bulk load's seconds."""
    with tempfile.TemporaryDirectory(prefix="wfgw-console-bench-") as d:
        db = Path(d) / "gateway.db"
        load_s = bulk_load_sqlite(str(db), asyncio.run(template(db)), size, "c", progress=size > 100000)
        data = gateway_config(Path(d))
        data["store"] = {"kind": "sqlite", "path": str(db)}
        server = ThreadServer(create_app(config_from_dict(data, base_dir=REPO)))
        server.start()
        try:
            client = httpx.Client(base_url=server.url, timeout=30)
            client.get("/console/api/session").raise_for_status()
            first = client.get("/console/api/runs", params={"limit": 25}).raise_for_status()
            cursor, run_id = first.json()["next"], first.json()["runs"][0]["id"]
            for _ in range(19):  # page 21: a deep page, reached by following the cursors
                cursor = client.get("/console/api/runs", params={"limit": 25, "cursor": cursor}).json()["next"]
            pages = [
                ("Conductor API: GET /api/workflow/search?size=25 (baseline)", "/api/workflow/search?start=0&size=25", {}, 200),
                ("console page: GET /console/ (HTML)", "/console/", {}, 200),
                ("runs list, first page of 25", "/console/api/runs?limit=25", {}, 200),
                ("runs list, page 21 (by cursor)", f"/console/api/runs?limit=25&cursor={cursor}", {}, 200),
                ("runs list, live poll (If-None-Match: 304)", "/console/api/runs?limit=25",
                 {"if-none-match": first.headers["etag"]}, 304),
                ("runs list, status filter FAILED (none match: 500 rows checked)", "/console/api/runs?limit=25&status=FAILED", {}, 200),
                ("runs list, dialect filter cognite (none match: 500 rows checked)",
                 "/console/api/runs?limit=25&dialect=cognite", {}, 200),
                ("runs list, free text (matches the newest run)", f"/console/api/runs?limit=25&q={run_id}", {}, 200),
                ("run detail with its DAG (10 tasks)", f"/console/api/runs/{run_id}", {}, 200),
                ("definitions list", "/console/api/definitions", {}, 200),
            ]
            return [(label, timed(client, path, requests, headers, status)) for label, path, headers, status in pages], load_s
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=1_000, help="the same pages with this many stored (0: skip)")
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    results, load_s = measure(args.size, args.requests)
    small = measure(args.small, args.requests)[0] if args.small else None
    base = percentile(results[0][1][0], 50)
    rows = []
    for i, (label, (wall, cpu)) in enumerate(results):
        row = [label, f"{percentile(wall, 50):.1f}", f"{percentile(wall, 99):.1f}", f"{cpu:.2f}",
               f"{percentile(wall, 50) / base:.2f}x"]
        if small is not None:
            row += [f"{small[i][1][1]:.2f}", f"{cpu / small[i][1][1]:.2f}x"]
        rows.append(row)
    print(f"$ {command_line()}")
    print(f"{args.size:,} executions stored (bulk load {load_s:.1f}s), {args.requests} sequential requests per page\n")
    headers = ["page", "p50 ms", "p99 ms", "CPU ms/request", "ratio to the API's list call (p50)"]
    if small is not None:
        headers += [f"CPU ms/request at {args.small:,}", f"CPU ratio {args.size:,} / {args.small:,}"]
    print(table(headers, rows))
    worst50 = max(percentile(w, 50) for _, (w, _) in results[1:])
    worst99 = max(percentile(w, 99) for _, (w, _) in results[1:])
    print(f"\nload average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (p99 follows it)")
    print(f"bar: every console page under 100 ms -- worst p50 {worst50:.1f} ms: "
          f"{'holds' if worst50 < 100 else 'MISSED'}; worst p99 {worst99:.1f} ms")


if __name__ == "__main__":
    main()
