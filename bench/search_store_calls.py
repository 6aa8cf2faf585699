"""The store calls behind every search and listing of the three dialects at 10^3 .. 10^6 stored
executions (issue #23): the store alone, without the request around it (``bench.search_scale`` times
whole requests).  ``tests/engine/test_search_plans.py`` checks the plans of these same calls.

    .venv/bin/python -m bench.search_store_calls                      # SQLite and PostgreSQL, 10^3 .. 10^5
    .venv/bin/python -m bench.search_store_calls --full               # .. 10^6
    .venv/bin/python -m bench.search_store_calls --stores sqlite --sizes 1000,100000

Each store is filled through its own bulk path (``Store.commit`` of a Changeset of 5,000 inserts):
55% Conductor, 30% Cognite, 15% Altostrat, 6 workflow names per dialect, statuses rotating, correlation
ids in groups of 5, start times over 90 days.  Each operation is the store call the dialect makes for
it (filters, order, page size, whether it counts), timed warm; p50/p99 per size and the ratio of the
largest size's p50 to 10^3's.  The machine's load average is printed: figures on a loaded machine
are noisy, the ratios less so.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.search_scale import BATCH, DAY_MS, NOW_MS, PG_DSN, STATUSES, Figures, analyze, cells, run
from wfgateway.engine.store.base import EXEC_COLS, Changeset, SearchFilter, Store
from wfgateway.engine.store.postgres import PostgresStore
from wfgateway.engine.store.sqlite import SQLiteStore

DIALECTS = (("conductor", "orders", 55), ("cognite", "proj", 30), ("altostrat", "sdx", 15))
NAMES = 6


def synthetic_rows(start: int, count: int) -> Iterator[tuple[Any, ...]]:
    """Execution rows in EXEC_COLS order; row ``i`` is the same whatever the batch it falls in."""
    for i in range(start, start + count):
        pick = i % 100
        dialect, tenant, _ = DIALECTS[0] if pick < 55 else DIALECTS[1] if pick < 85 else DIALECTS[2]
        created = NOW_MS - 90 * DAY_MS + (i * 7_777_777) % (90 * DAY_MS)
        row: dict[str, Any] = dict.fromkeys(EXEC_COLS)
        row.update(
            id=f"e{i:08d}", tenant=tenant, name=f"{dialect}_wf{(i // 7) % NAMES}", def_version=str(1 + i % 2),
            status=STATUSES[i % len(STATUSES)], input="{}", correlation_id=f"corr{i // 5}", dialect=dialect,
            priority=0, created_ms=created, started_ms=created, ended_ms=0, updated_ms=created,
            last_retried_ms=0, row_version=1, def_hash="h", next_seq=0, deadline_ms=0,
            parent_execution_id=f"e{i - 1:08d}" if i % 50 == 49 else None,
        )
        yield tuple(row[c] for c in EXEC_COLS)


async def fill(store: Store, have: int, want: int) -> None:
    for start in range(have, want, BATCH):
        await store.commit(Changeset(exec_inserts=list(synthetic_rows(start, min(BATCH, want - start)))))


@dataclass(frozen=True)
class Operation:
    label: str
    flt: SearchFilter
    limit: int
    newest_first: bool = True
    count: bool = False
    deep: bool = False  # follow the keyset to the 5th page first (then time that page)
    skip: int = 0  # an offset (Conductor's start), passed over by index keys


def operations(size: int) -> list[Operation]:
    corr = f"corr{(size // 2) // 5}"  # a group in the middle; its dialect decides tenant and name
    i = (size // 2) // 5 * 5
    pick = i % 100
    dialect, tenant, _ = DIALECTS[0] if pick < 55 else DIALECTS[1] if pick < 85 else DIALECTS[2]
    cname = f"{dialect}_wf{(i // 7) % NAMES}"
    last_week = NOW_MS - 7 * DAY_MS
    return [
        Operation("conductor search: name + status IN (COMPLETED, FAILED), newest, totalHits",
                  SearchFilter("orders", name="conductor_wf1", statuses=["COMPLETED", "FAILED"]), 101, count=True),
        Operation("conductor search: all, newest, totalHits", SearchFilter("orders"), 101, count=True),
        Operation("conductor search: status RUNNING, totalHits", SearchFilter("orders", statuses=["RUNNING"]), 101,
                  count=True),
        Operation("conductor search: name + last 7 days, totalHits",
                  SearchFilter("orders", name="conductor_wf2", created_from_ms=last_week), 101, count=True),
        Operation("conductor search: deep page (5th) by key", SearchFilter("orders", name="conductor_wf1"), 101,
                  deep=True),
        Operation("conductor search: start=2000, name + status IN (COMPLETED, FAILED), totalHits",
                  SearchFilter("orders", name="conductor_wf1", statuses=["COMPLETED", "FAILED"]), 101, count=True,
                  skip=2000),
        Operation("conductor correlated, includeClosed",
                  SearchFilter(tenant, name=cname, correlation_id=corr), 1000),
        Operation("conductor correlated, open only",
                  SearchFilter(tenant, name=cname, correlation_id=corr, statuses=["RUNNING", "PAUSED"]), 1000),
        Operation("conductor search: correlationId", SearchFilter(tenant, correlation_id=corr), 101, count=True),
        Operation("conductor running ids (oldest first)",
                  SearchFilter("orders", name="conductor_wf3", statuses=["RUNNING"]), 100, newest_first=False),
        Operation("conductor children of a run (sub-workflows)",
                  SearchFilter("orders", parent_execution_id="e00000048"), 101),
        Operation("console runs list: dialect filter, newest", SearchFilter("orders", dialect="conductor"), 51),
        Operation("console runs list: status filter, newest", SearchFilter("orders", statuses=["FAILED"]), 51),
        Operation("console runs list: dialect + statuses, newest",
                  SearchFilter("orders", dialect="conductor", statuses=["FAILED", "TIMED_OUT"]), 51),
        Operation("cognite executions/list: name + version + status",
                  SearchFilter("proj", name="cognite_wf1", def_version="2", statuses=["FAILED"]), 101),
        Operation("cognite executions/list: name + version, a version without runs",
                  SearchFilter("proj", workflows=[("cognite_wf1", "9")]), 101),
        Operation("cognite executions/list: status only", SearchFilter("proj", statuses=["COMPLETED", "RUNNING"]),
                  101),
        Operation("cognite executions/list: created range", SearchFilter(
            "proj", created_from_ms=last_week, created_to_ms=NOW_MS), 101),
        Operation("cognite executions/list: 3 workflowFilters + 2 statuses", SearchFilter(
            "proj", workflows=[("cognite_wf1", "2"), ("cognite_wf3", None), ("cognite_wf4", None)],
            statuses=["FAILED", "COMPLETED"]), 101),
        Operation("cognite executions/list: 40 workflowFilters + 2 statuses (80 branches)", SearchFilter(
            "proj", workflows=[(f"cognite_wf{n % NAMES}", str(1 + n // NAMES)) for n in range(40)],
            statuses=["FAILED", "RUNNING"]), 101),
        Operation("cognite executions/list: 100 workflowFilters + 5 statuses (500 branches)", SearchFilter(
            "proj", workflows=[(f"cognite_wf{n % NAMES}", str(1 + n // NAMES)) for n in range(100)],
            statuses=["FAILED", "RUNNING", "COMPLETED", "TERMINATED", "TIMED_OUT"]), 101),
        Operation("cognite executions/list: page 5 by cursor", SearchFilter("proj", name="cognite_wf2"), 101,
                  deep=True),
        Operation("altostrat run listing of a workflow, newest", SearchFilter("sdx", name="altostrat_wf0"), 50,
                  count=True),
        Operation("altostrat run listing: status since a time", SearchFilter(
            "sdx", name="altostrat_wf1", statuses=["FAILED"], created_from_ms=last_week), 1, count=True),
    ]


async def run_once(store: Store, op: Operation) -> tuple[float, int]:
    cursor = None
    if op.deep:
        for _ in range(4):
            rows, _total = await store.exec_search(op.flt, cursor, op.limit, op.newest_first, False)
            if rows:
                last = rows[-1]
                cursor = (last[EXEC_COLS.index("created_ms")], last[0])
    t0 = time.perf_counter()
    rows, _total = await store.exec_search(op.flt, cursor, op.limit, op.newest_first, op.count, op.skip)
    return (time.perf_counter() - t0) * 1000, len(rows)




async def measure(store: Store, size: int, repeats: int, only: str | None = None) -> Figures:
    out = {}
    for op in operations(size):
        if only and only not in op.label:
            continue
        _warm, rows = await run_once(store, op)
        times = sorted([(await run_once(store, op))[0] for _ in range(repeats)])
        out[op.label] = (statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))], rows)
    return out


async def bench_store(kind: str, sizes: list[int], repeats: int, folder: str, only: str | None = None
                      ) -> dict[int, Figures]:
    schema = None
    if kind == "sqlite":
        store: Any = SQLiteStore(Path(folder) / "search.db")
    else:
        from tests.engine.pg import create_schema  # the test suite's throw-away schemas

        schema = create_schema()
        store = PostgresStore(PG_DSN, schema=schema)
    await store.open()
    results = {}
    have = 0
    try:
        for size in sizes:
            t0 = time.perf_counter()
            await fill(store, have, size)
            have = size
            await analyze(kind, store, schema)
            print(f"  {kind}: {size:>9,} stored ({time.perf_counter() - t0:.1f} s to fill and analyze)", flush=True)
            results[size] = await measure(store, size, repeats, only)
    finally:
        await store.close()
        if schema is not None:
            from tests.engine.pg import drop_schema

            drop_schema(schema)
    return results


def report(kind: str, results: dict[int, Figures]) -> bool:
    """One row per operation: p50/p99 (rows answered) per size, the ratio of the largest size's p50 to
    the smallest's, and to 10^4's -- at 10^3 many filters match fewer runs than a page holds, so that
    page is cheaper for answering fewer rows; from 10^4 on every page is full."""
    sizes = sorted(results)
    first, last = sizes[0], sizes[-1]
    full = next((s for s in sizes if s >= 10_000), first)
    head = " | ".join(f"{s:,} p50/p99 ms (rows)" for s in sizes)
    print(f"\n{kind}: | operation | {head} | ratio {last:,}/{first:,} | ratio {last:,}/{full:,} |")
    ok = True
    for label in results[first]:
        ratio = results[last][label][0] / max(results[first][label][0], 1e-6)
        ratio_full = results[last][label][0] / max(results[full][label][0], 1e-6)
        bar = ratio <= 2.0 and results[last][label][0] < 20
        ok = ok and bar
        print(f"| {label} | {cells(results, label)} | {ratio:.2f}x {'ok' if bar else 'OVER (bar: <=2x, <20 ms)'} | {ratio_full:.2f}x |")
    return ok


def main() -> None:
    run(__doc__ or "", bench_store, report)


if __name__ == "__main__":
    main()
