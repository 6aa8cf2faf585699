"""Rerun latency (p50/p99) of a completed 10-task execution with 1,000 and with 1,000,000 executions
stored, and the ratio between the two (issue bar: < 2x).

    .venv/bin/python -m bench.engine_rerun_latency [--store sqlite|postgres] [--sizes 1000,1000000] [--reruns 1000]

Each size gets a fresh database: the executions (10 worker tasks, all COMPLETED, 10 attempt rows each)
are clones of one the engine ran, bulk-loaded straight into the store's tables (executemany for
SQLite, COPY for PostgreSQL; indexes rebuilt after the load).  Then ``--reruns`` executions chosen at
random are rerun one after another through ``Engine.rerun`` and each call is timed.

Before timing, the SQLite file is read through once so that it sits in the OS page cache, as the file
of a gateway that has been serving does (2.9 GB at 1M here, well inside RAM).  Without that, a machine
that has just dropped its page cache (this VM does so within minutes) times disk reads instead of the
engine: ``--cold`` skips the warming to show that case.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.engine_common import (
    PG_DSN,
    bulk_load_pg,
    bulk_load_sqlite,
    command_line,
    completed_worker_execution,
    drop_pg_schema,
    new_pg_schema,
    percentile,
    table,
)
from wfgateway.core.errors import Conflict
from wfgateway.engine import Engine
from wfgateway.engine.store.base import Store
from wfgateway.engine.store.postgres import PostgresStore
from wfgateway.engine.store.sqlite import SQLiteStore

Template = tuple[tuple[Any, ...], list[tuple[Any, ...]]]


async def make_template(store: Store) -> Template:
    eng = Engine(store)
    await eng.startup()
    try:
        return await completed_worker_execution(eng, "latency10")
    finally:
        await eng.stop()


async def timed_reruns(store: Store, ids: list[str]) -> tuple[list[float], list[float]]:
    """(wall-clock ms, CPU ms of this thread) of each rerun; executions a previous run of this benchmark
    already reran (``--cache-dir``) are refused by the engine and skipped."""
    eng = Engine(store)
    await eng.startup()
    wall, cpu = [], []
    try:
        warm = False
        for eid in ids:
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                await eng.rerun(eid)
            except Conflict:
                continue
            w, c = (time.perf_counter() - t0) * 1000, (time.thread_time() - c0) * 1000
            if warm:  # the first one warms the definition snapshot and statement caches
                wall.append(w)
                cpu.append(c)
            warm = True
        return wall, cpu
    finally:
        await eng.stop()


def pick(size: int, reruns: int, prefix: str, rng: random.Random) -> list[str]:
    return [f"{prefix}{n:09d}" for n in rng.sample(range(size), min(reruns + 1, size))]


Timings = tuple[tuple[list[float], list[float]], float]


def warm_os_cache(path: Path) -> None:
    """Read the database file (and its WAL) once, sequentially, so random reads later hit memory."""
    for p in (path, path.with_name(path.name + "-wal")):
        if p.exists():
            with p.open("rb") as f:
                while f.read(1 << 22):
                    pass


def run_sqlite(size: int, reruns: int, rng: random.Random, cache_dir: str | None, cold: bool = False) -> Timings:
    with tempfile.TemporaryDirectory(prefix="wfgw-bench-") as d:
        keep = cache_dir is not None and size >= 100000  # small ones are rebuilt: quick, and never half-rerun
        path = Path(cache_dir if keep else d) / f"latency-{size}.db"  # type: ignore[arg-type]
        load_s = 0.0
        if not path.exists():
            template = asyncio.run(make_template(SQLiteStore(path)))
            load_s = bulk_load_sqlite(str(path), template, size, "x", progress=size > 100000)
        if not cold:
            warm_os_cache(path)
        return asyncio.run(timed_reruns(SQLiteStore(path), pick(size, reruns, "x", rng))), load_s


def run_postgres(size: int, reruns: int, rng: random.Random, cache_dir: str | None, cold: bool = False) -> Timings:
    schema = new_pg_schema()
    try:
        template = asyncio.run(make_template(PostgresStore(PG_DSN, schema=schema)))
        load_s = bulk_load_pg(schema, template, size, "x", progress=size > 100000)
        ids = [f"x{n // 50000:04d}x{n % 50000:09d}" for n in rng.sample(range(size), min(reruns + 1, size))]
        return asyncio.run(timed_reruns(PostgresStore(PG_DSN, schema=schema), ids)), load_s
    finally:
        drop_pg_schema(schema)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--sizes", default="1000,1000000")
    parser.add_argument("--reruns", type=int, default=1000)
    parser.add_argument("--cache-dir", help="SQLite: keep the loaded databases here and reuse them next time")
    parser.add_argument("--cold", action="store_true", help="SQLite: do not read the file into the OS page cache first")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rng = random.Random()
    rows, stats = [], []
    for size in sizes:
        runner = run_sqlite if args.store == "sqlite" else run_postgres
        (wall, cpu), load_s = runner(size, args.reruns, rng, args.cache_dir, args.cold)
        st = [percentile(wall, 50), percentile(wall, 99), percentile(cpu, 50), percentile(cpu, 99)]
        stats.append(st)
        rows.append([f"{size:,}", f"{size * 10:,}", f"{len(wall):,}", *(f"{v:.3f}" for v in st),
                     f"{load_s:.0f} s" if load_s else "reused"])
    print(f"`{command_line()}`\n")
    print(table([f"executions stored ({args.store})", "attempt rows", "reruns timed", "p50 ms", "p99 ms",
                 "CPU p50 ms", "CPU p99 ms", "bulk load"], rows))
    if len(sizes) >= 2:
        r = [b / a for a, b in zip(stats[0], stats[-1], strict=True)]
        print(f"\nratio {sizes[-1]:,} vs {sizes[0]:,}: p50 {r[0]:.2f}x, p99 {r[1]:.2f}x "
              f"(CPU: p50 {r[2]:.2f}x, p99 {r[3]:.2f}x); bar < 2x: {'met' if max(r[:2]) < 2 else 'NOT met'}")


if __name__ == "__main__":
    main()
