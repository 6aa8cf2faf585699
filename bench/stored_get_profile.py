"""CPU time of one stored GET (GET /api/workflow/{id} of a stored Conductor run, engine on SQLite) with
the ASGI app called directly in this process -- no HTTP server, no load generator, so the figure does
not move with the machine's load as much as req/s does.  ``--profile`` prints cProfile's top entries;
``--no-cache`` sets ``caches.answers_kib: 0`` (every read decodes and renders the run).

    .venv/bin/python -m bench.stored_get_profile [--requests 10000] [--profile] [--no-cache]

The shipped config.yaml is used with its store in a temp directory; the access log is off here (its
writer thread is measured by bench.ops).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from bench.load import REPO
from wfgateway.app import create_app


async def run(requests: int, profile: bool, cache: bool) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="wfgw-stored-get-"))
    data = yaml.safe_load((REPO / "config.yaml").read_text())
    data["store"]["path"] = str(tmp / "bench.db")
    data["server"]["access_log"] = False
    if not cache:
        data["caches"]["answers_kib"] = 0
    for name, d in data["dialects"].items():
        d["spec"] = str(REPO / d.get("spec", f"openapi/{name}.yaml"))
    (tmp / "config.yaml").write_text(yaml.safe_dump(data))
    app = create_app(str(tmp / "config.yaml"))
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    outbox: asyncio.Queue[Any] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    lifespan = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, outbox.put))
    assert (await outbox.get())["type"] == "lifespan.startup.complete"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        flow = {"name": "bench_stored", "version": 1, "timeoutSeconds": 0, "tasks": [
            {"name": f"v{i}", "taskReferenceName": f"v{i}", "type": "SET_VARIABLE", "inputParameters": {"step": i}}
            for i in range(3)]}
        assert (await client.post("/api/metadata/workflow", json=flow)).status_code == 200
        workflow_id = (await client.post("/api/workflow/bench_stored", json={"n": 1})).text.strip('"')
    path = f"/api/workflow/{workflow_id}"
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"127.0.0.1:8080"), (b"user-agent", b"bench")], "client": ("127.0.0.1", 5000),
             "server": ("127.0.0.1", 8080)}
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    for _ in range(500):  # warm-up: caches, the definition snapshot, SQLite's pages
        await app(dict(scope), receive, send)
    profiler = cProfile.Profile() if profile else None
    started = time.process_time()
    if profiler is not None:
        profiler.enable()
    for _ in range(requests):
        await app(dict(scope), receive, send)
    if profiler is not None:
        profiler.disable()
    used = time.process_time() - started
    assert set(statuses) == {200}, set(statuses)
    print(f"{requests} stored GETs in process, answer cache {'on' if cache else 'off'}: "
          f"{used / requests * 1e6:.1f} µs of CPU each{' (under cProfile)' if profiler else ''}")
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    await inbox.put({"type": "lifespan.shutdown"})
    await lifespan


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=10000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--no-cache", action="store_true")
    args = parser.parse_args()
    import uvloop

    uvloop.run(run(args.requests, args.profile, not args.no_cache))


if __name__ == "__main__":
    main()
