"""Every search and listing of the three dialects at 10^3 .. 10^6 stored executions (issue #23), as
whole requests through the gateway.

    .venv/bin/python -m bench.search_scale                      # SQLite and PostgreSQL, 10^3 .. 10^5
    .venv/bin/python -m bench.search_scale --full               # .. 10^6
    .venv/bin/python -m bench.search_scale --stores sqlite --sizes 1000,100000

The gateway runs on the shipped config.yaml (open mode, one tenant for the three dialects), its ASGI
app called in this process: what is timed is the request (validation, adapter, store, rendering),
not a client library or a socket.  Three workflows per dialect are registered and run once through
their own APIs; the store is then filled with clones of those runs through its own bulk path
(``Store.commit`` of 5,000 inserts): 55% Conductor, 30% Cognite, 15% Altostrat, statuses rotating,
correlation ids in groups of 5, start times over 90 days, every 50th run a child of the one before.

Each operation asks for a page that the 10^3 store fills, so every size answers with as many runs
(the ``rows`` column shows it) and the ratio compares the same answer from a bigger store; a page
that held 100 runs at 10^6 and 7 at 10^3 would compare rendering, not the store.  Operations whose
answer carries a total (Conductor's ``totalHits``, Altostrat's ``total``) count as the gateway does.
p50/p99 of ``--repeats`` warm requests, wall time, per size; the ratio of the largest size's p50 to
10^3's.  The machine's load average is printed: on a loaded machine the figures are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from bench.listing_render import Request, _lifespan, _ok, _stop
from tests.support.server import gateway_config
from wfgateway.app import create_app
from wfgateway.config import config_from_dict
from wfgateway.engine.store.base import ATT_COLS, EXEC_COLS, EXEC_IDX, Changeset, Store
from wfgateway.engine.store.postgres import PostgresStore
from wfgateway.engine.store.sqlite import SQLiteStore

REPO = Path(__file__).resolve().parents[1]
DAY_MS = 86_400_000
NOW_MS = 1_800_000_000_000
STATUSES = ("COMPLETED", "FAILED", "RUNNING", "TERMINATED", "PAUSED", "TIMED_OUT")
NAMES = 3
BATCH = 5000
COGNITE = "/api/v1/projects/default"
ATT_IDX = {c: i for i, c in enumerate(ATT_COLS)}
PG_DSN = os.environ.get("WFG_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")

# (dialect, workflow number) -> a real run's row and its first task's
Templates = dict[tuple[str, int], tuple[tuple[Any, ...], tuple[Any, ...]]]
TASK_STATUS = {"COMPLETED": "COMPLETED", "FAILED": "FAILED", "RUNNING": "IN_PROGRESS", "TERMINATED": "CANCELED",
               "PAUSED": "SCHEDULED", "TIMED_OUT": "TIMED_OUT"}


async def register_and_run(client: httpx.AsyncClient) -> dict[str, list[str]]:
    """Three workflows per dialect, each run once through its own API; each dialect's workflow names
    as its runs store them (an Altostrat workflow's is its id)."""
    names: dict[str, list[str]] = {"conductor": [], "cognite": [], "altostrat": []}
    for n in range(NAMES):
        name = f"orders_{n}"
        _ok(await client.post("/api/metadata/workflow", json={
            "name": name, "version": 1, "timeoutSeconds": 0, "tasks": [
                {"name": "charge", "taskReferenceName": "charge_ref", "type": "SIMPLE"}]}))
        _ok(await client.post(f"/api/workflow/{name}", json={"n": n}))
        names["conductor"].append(name)
        flow = f"nightly_{n}"
        _ok(await client.post(f"{COGNITE}/workflows/versions", json={"items": [{
            "workflowExternalId": flow, "version": "1", "workflowDefinition": {"tasks": [
                {"externalId": "load", "type": "function",
                 "parameters": {"function": {"externalId": "loader"}, "isAsyncComplete": True}}]}}]}))
        nonce = _ok(await client.post(f"{COGNITE}/sessions", json={"items": [{"tokenExchange": True}]}))
        _ok(await client.post(f"{COGNITE}/workflows/{flow}/versions/1/run",
                              json={"authentication": {"nonce": nonce["items"][0]["nonce"]}}))
        names["cognite"].append(flow)
        auth = _ok(await client.post("/workflows/authorization"))["id"]
        workflow = _ok(await client.post("/workflows", json={
            "name": f"Sync {n}", "authorization_id": auth, "edges": [],
            "nodes": [{"id": "t", "type": "manual_trigger", "position": {"x": 0, "y": 0},
                       "data": {"componentId": "manual_trigger"}}]}))
        _ok(await client.post(f"/workflows/{workflow['id']}/execute", json={"context": {"i": n}}))
        names["altostrat"].append(workflow["id"])
    return names


def dialect_of(i: int) -> str:
    pick = i % 100
    return "conductor" if pick < 55 else "cognite" if pick < 85 else "altostrat"


def created_of(i: int) -> int:
    """Run ``i``'s start time: spread over the 90 days before NOW_MS."""
    return NOW_MS - 90 * DAY_MS + (i * 7_777_777) % (90 * DAY_MS)


def rows(start: int, count: int, templates: Templates) -> Iterator[tuple[tuple[Any, ...], tuple[Any, ...]]]:
    """Clones of the real runs, each with one task; run ``i`` is the same whatever the batch it falls in."""
    for i in range(start, start + count):
        template, task_template = templates[dialect_of(i), (i // 7) % NAMES]
        row = list(template)
        status = STATUSES[i % len(STATUSES)]
        created = created_of(i)
        ended = created + 1000 if status in ("COMPLETED", "FAILED", "TERMINATED", "TIMED_OUT") else 0
        row[EXEC_IDX["id"]] = f"run{i:08d}"
        row[EXEC_IDX["status"]] = status
        row[EXEC_IDX["correlation_id"]] = f"corr{i // 5}"
        child = i % 50 == 49 and dialect_of(i) == dialect_of(i - 1) == "conductor"
        row[EXEC_IDX["parent_execution_id"]] = f"run{i - 1:08d}" if child else None
        row[EXEC_IDX["created_ms"]] = row[EXEC_IDX["started_ms"]] = created
        row[EXEC_IDX["ended_ms"]] = ended
        row[EXEC_IDX["updated_ms"]] = ended or created
        row[EXEC_IDX["reason"]] = "stopped" if status in ("FAILED", "TERMINATED", "TIMED_OUT") else None
        row[EXEC_IDX["row_version"]] = 1
        row[EXEC_IDX["idempotency_key"]] = None
        task = list(task_template)
        task[ATT_IDX["key"]] = task[ATT_IDX["id"]] = f"task{i:08d}"
        task[ATT_IDX["execution_id"]] = f"run{i:08d}"
        task[ATT_IDX["status"]] = TASK_STATUS[status]
        task[ATT_IDX["scheduled_ms"]] = task[ATT_IDX["started_ms"]] = task[ATT_IDX["updated_ms"]] = created
        task[ATT_IDX["ended_ms"]] = ended
        yield tuple(row), tuple(task)


@dataclass(frozen=True)
class Operation:
    label: str
    method: str
    path: str
    body: Any = None
    follow: int = 0  # a Cognite listing: follow nextCursor this many pages first, then time that page
    grows: bool = False  # the answer is every match (its size grows with the store): no 2x bar


def operations(names: dict[str, list[str]], size: int) -> list[Operation]:
    """Each page holds what the 10^3 store has for its filter (the ``size`` in the label)."""
    conductor, cognite, altostrat = names["conductor"], names["cognite"], names["altostrat"]
    def whole_group(first: int) -> bool:  # a correlation group of five Conductor runs of one workflow
        last = first + 4
        return dialect_of(first) == dialect_of(last) == "conductor" and first // 7 == last // 7

    middle = size // 2 // 5 * 5  # a group in the middle of the store
    while not whole_group(middle):
        middle += 5
    other = middle + 5
    while not whole_group(other):
        other += 5
    corr, corr_name = f"corr{middle // 5}", conductor[(middle // 7) % NAMES]
    since_60_days = NOW_MS - 60 * DAY_MS

    def search(query: str, size: int, start: int = 0, v2: bool = False) -> str:
        return (f"/api/workflow/search{'-v2' if v2 else ''}?start={start}&size={size}"
                f"&query={quote(query)}&sort=startTime:DESC")

    def executions(body: dict[str, Any]) -> Operation:
        return Operation("", "POST", f"{COGNITE}/workflows/executions/list", body)

    ops = [
        ("conductor search: name + status IN (COMPLETED, FAILED), size 50, totalHits", "GET",
         search(f"workflowType IN ({conductor[1]}) AND status IN (COMPLETED,FAILED)", 50), None),
        ("conductor search: all, size 100, totalHits", "GET", search("", 100), None),
        ("conductor search-v2: status IN (FAILED, TIMED_OUT, TERMINATED), size 100, totalHits", "GET",
         search("status IN (FAILED,TIMED_OUT,TERMINATED)", 100, v2=True), None),
        ("conductor search: name + startTime in the last 60 days, size 100, totalHits", "GET",
         search(f"workflowType IN ({conductor[2]}) AND startTime > {since_60_days}", 100), None),
        ("conductor search: start=800, size 100, totalHits", "GET", search("", 100, start=800), None),
        ("conductor search: correlationId, totalHits", "GET", search(f"correlationId = {corr}", 100), None),
        ("conductor correlated, includeClosed", "GET",
         f"/api/workflow/{corr_name}/correlated/{corr}?includeClosed=true&includeTasks=false", None),
        ("conductor correlated/batch, 2 names x 2 ids", "POST", "/api/workflow/correlated/batch?includeClosed=true",
         {"workflowNames": [corr_name, conductor[(other // 7) % NAMES]], "correlationIds": [corr, f"corr{other // 5}"]}),
        ("conductor search-by-tasks: all, size 20", "GET", "/api/workflow/search-by-tasks?size=20", None),
        ("conductor GET /api/workflow/{id} with tasks", "GET", f"/api/workflow/run{middle:08d}?includeTasks=true",
         None),
        ("cognite executions/list: name + status, limit 15", "POST", "", {
            "filter": {"workflowFilters": [{"externalId": cognite[1]}], "status": ["FAILED"]}, "limit": 15}),
        ("cognite executions/list: 3 workflows + 2 statuses, limit 100", "POST", "", {
            "filter": {"workflowFilters": [{"externalId": n} for n in cognite], "status": ["COMPLETED", "FAILED"]},
            "limit": 100}),
        ("cognite executions/list: created in the last 60 days, limit 100", "POST", "", {
            "filter": {"createdTimeStart": since_60_days}, "limit": 100}),
        ("cognite executions/list: status only, limit 100", "POST", "", {
            "filter": {"status": ["RUNNING"]}, "limit": 100}),
        ("altostrat run listing of a workflow (15 a page, total)", "GET",
         f"/workflows/{altostrat[0]}/executions", None),
        ("altostrat run listing, page 3", "GET", f"/workflows/{altostrat[0]}/executions?page=3", None),
        ("console runs list: dialect filter, 25", "GET", "/console/api/runs?limit=25&dialect=cognite", None),
        ("console runs list: status filter, 25", "GET", "/console/api/runs?limit=25&status=FAILED", None),
    ]
    out = []
    for label, method, path, body in ops:
        if method == "POST" and not path:
            path = executions(body).path
        out.append(Operation(label, method, path, body))
    out.append(Operation("cognite executions/list: page 5 by cursor, name, limit 15", "POST",
                         executions({}).path, {"filter": {"workflowFilters": [{"externalId": cognite[0]}]},
                                               "limit": 15}, follow=4))
    out.append(Operation("conductor running ids of a workflow (all of them)", "GET",
                         f"/api/workflow/running/{conductor[0]}", grows=True))
    done = size // 2 // 6 * 6  # a completed Altostrat run in the middle of the store
    while dialect_of(done) != "altostrat":
        done += 6
    out.append(Operation("altostrat rerun of a completed run (a new run)", "POST",
                         f"/workflows/runs/run{done:08d}/rerun", {}))
    # the same call with a creation range that holds 27 of the workflow's runs at every size
    times = sorted(created_of(i) for i in range(size) if dialect_of(i) == "conductor" and (i // 7) % NAMES == 0)
    low = len(times) // 2
    out.append(Operation("conductor running ids in a creation range (27 runs of any status)", "GET",
                         f"/api/workflow/running/{conductor[0]}?startTime={times[low]}&endTime={times[low + 26]}"))
    return out


async def fill(store: Store, have: int, want: int, templates: Templates) -> None:
    for start in range(have, want, BATCH):
        made = list(rows(start, min(BATCH, want - start), templates))
        await store.commit(Changeset(exec_inserts=[run for run, _ in made], attempt_inserts=[task for _, task in made]))


async def read_templates(store: Store, names: dict[str, list[str]]) -> Templates:
    got = await store.fetch_sql(f"SELECT {', '.join(EXEC_COLS)} FROM executions")
    tasks = {row[ATT_IDX["execution_id"]]: tuple(row)
             for row in await store.fetch_sql(f"SELECT {', '.join(ATT_COLS)} FROM attempts ORDER BY seq DESC")}
    out: Templates = {}
    for row in got:
        dialect, name = row[EXEC_IDX["dialect"]], row[EXEC_IDX["name"]]
        out[dialect, names[dialect].index(name)] = tuple(row), tasks[row[0]]
    if len(out) != 3 * NAMES:
        raise SystemExit(f"expected {3 * NAMES} template runs, found {sorted(out)}")
    return out


def open_store(kind: str, folder: str, schema: str | None) -> Any:
    if kind == "sqlite":
        return SQLiteStore(Path(folder) / "gateway.db")
    return PostgresStore(PG_DSN, schema=schema)


def config_for(kind: str, folder: str, schema: str | None) -> Any:
    data = gateway_config(Path(folder))
    if kind == "postgres":
        data["store"] = {"kind": "postgres", "dsn": PG_DSN, "schema": schema}
    return config_from_dict(data, base_dir=REPO)


async def analyze(kind: str, store: Any, schema: str | None) -> None:
    """What the running store gets on its own (PRAGMA optimize at open and hourly; PostgreSQL's
    autovacuum: statistics, and the visibility map that lets a count read the index alone), done at
    once here so a freshly filled table is in that steady state."""
    if kind == "sqlite":
        await store.run_sql([("ANALYZE", ())])
        return
    import psycopg

    async with await psycopg.AsyncConnection.connect(PG_DSN, autocommit=True) as conn:
        # every table: autovacuum would otherwise pick the attempts or the counts up during the timing
        cur = await conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))
        for (table,) in await cur.fetchall():
            await conn.execute(f'VACUUM (ANALYZE) "{schema}"."{table}"')


Figures = dict[str, tuple[float, float, int]]  # operation: (p50 ms, p99 ms, runs answered)
GROWS: set[str] = set()  # labels of the operations whose answer is every match


def answered(body: bytes) -> int:
    """How many runs (or hits) an answer holds: the list, or the page's list."""
    doc = orjson.loads(body)
    if isinstance(doc, list):
        return len(doc)
    for key in ("results", "items", "data", "runs"):
        if isinstance(doc.get(key), list):
            return len(doc[key])
    if all(isinstance(v, list) for v in doc.values()):  # correlated/batch: correlation id -> runs
        return sum(len(v) for v in doc.values())
    return 1


async def measure(app: Any, ops: list[Operation], repeats: int, cookie: str) -> Figures:
    out = {}
    for op in ops:
        body_sent = op.body
        for _ in range(op.follow):
            page = orjson.loads(await Request(op.method, op.path, body_sent)(app))
            body_sent = {**body_sent, "cursor": page["nextCursor"]}
        request = Request(op.method, op.path, body_sent)
        if op.path.startswith("/console/"):
            request.scope["headers"] = [*request.scope["headers"], (b"cookie", cookie.encode())]
        body = b""
        for _ in range(5):
            body = await request(app)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            await request(app)
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        if op.grows:
            GROWS.add(op.label)
        out[op.label] = (statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))],
                         answered(body))
    return out


async def bench_store(kind: str, sizes: list[int], repeats: int, folder: str, only: str | None = None
                      ) -> dict[int, Figures]:
    schema = None
    if kind == "postgres":
        from tests.engine.pg import create_schema  # the test suite's throw-away schemas

        schema = create_schema()
    config = config_for(kind, folder, schema)
    results = {}
    try:
        app = create_app(config)
        lifespan = await _lifespan(app)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
            names = await register_and_run(client)
        await _stop(lifespan)
        store = open_store(kind, folder, schema)
        await store.open()
        try:
            templates = await read_templates(store, names)
            await store.run_sql([("DELETE FROM attempts", ()), ("DELETE FROM executions", ())])
        finally:
            await store.close()
        have = 0
        for size in sizes:
            t0 = time.perf_counter()
            store = open_store(kind, folder, schema)
            await store.open()
            try:
                await fill(store, have, size, templates)
                await analyze(kind, store, schema)
            finally:
                await store.close()
            have = size
            print(f"  {kind}: {size:>9,} stored ({time.perf_counter() - t0:.1f} s to fill and analyze)", flush=True)
            app = create_app(config)
            lifespan = await _lifespan(app)
            try:
                async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                             base_url="http://127.0.0.1") as client:
                    session = await client.get("/console/api/session")
                    cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
                ops = [op for op in operations(names, size) if not only or only in op.label]
                results[size] = await measure(app, ops, repeats, cookie)
            finally:
                await _stop(lifespan)
    finally:
        if schema is not None:
            from tests.engine.pg import drop_schema

            drop_schema(schema)
    return results


def cells(results: dict[int, Figures], label: str) -> str:
    """``p50 / p99 (rows)`` of one operation at each size, as table cells."""
    return " | ".join(f"{results[s][label][0]:.2f} / {results[s][label][1]:.2f} ({results[s][label][2]})"
                      for s in sorted(results))


def report(kind: str, results: dict[int, Figures]) -> bool:
    """One row per operation: p50/p99 (runs answered) per size and the ratio of the largest size's
    p50 to the smallest's; the bar is met when every ratio is <= 2 and every p50 < 20 ms, with the
    same number of runs answered at every size."""
    sizes = sorted(results)
    first, last = sizes[0], sizes[-1]
    head = " | ".join(f"{s:,} p50/p99 ms (rows)" for s in sizes)
    print(f"\n{kind}: | operation | {head} | ratio {last:,}/{first:,} |")
    ok = True
    for label in results[first]:
        ratio = results[last][label][0] / max(results[first][label][0], 1e-6)
        same = len({results[s][label][2] for s in sizes}) == 1
        if label in GROWS:  # every running id: its answer, not the store's walk, grows
            print(f"| {label} | {cells(results, label)} | {ratio:.2f}x (answers every match: no bar) |")
            continue
        bar = ratio <= 2.0 and results[last][label][0] < 20
        ok = ok and bar
        verdict = "ok" if bar else "OVER (bar: <=2x, <20 ms)"
        print(f"| {label} | {cells(results, label)} | {ratio:.2f}x {verdict}{'' if same else ' (answers differ in size)'} |")
    return ok


Measure = Callable[[str, list[int], int, str, "str | None"], Awaitable[dict[int, Figures]]]


def run(doc: str, measure: Measure, reporter: Callable[[str, dict[int, Figures]], bool]) -> None:
    """The command line both search benchmarks share: sizes, stores, repeats, --only; the load average
    before and after; each store's table; whether the bar is met."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--full", action="store_true", help="sizes 10^3 .. 10^6")
    ap.add_argument("--stores", default="sqlite,postgres")
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--only", help="time only the operations whose label holds this text")
    args = ap.parse_args()
    sizes = [1000, 10_000, 100_000, 1_000_000] if args.full else [int(s) for s in args.sizes.split(",")]
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    ok = True
    with tempfile.TemporaryDirectory(prefix="wfg-search-") as folder:
        for kind in args.stores.split(","):
            ok = reporter(kind, asyncio.run(measure(kind, sizes, args.repeats, folder, args.only))) and ok
    print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("bar: every operation within 2x of 10^3 and under 20 ms p50:", "met" if ok else "NOT met")


def main() -> None:
    run(__doc__ or "", bench_store, report)


if __name__ == "__main__":
    main()
