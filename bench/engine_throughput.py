"""Completed executions per second: a 10-task linear workflow of noop tasks started through the
engine's API (each start runs all ten tasks and completes the execution in one transaction), on SQLite
and on PostgreSQL, each beside a bare transaction of the same shape in the same run (INSERT the
execution row and its ten attempt rows, cloned from an execution the engine ran).

    .venv/bin/python -m bench.engine_throughput [--count 2000] [--concurrency 16] [--store sqlite|postgres|both]

"sequential" awaits each start before the next; "concurrent" keeps ``--concurrency`` starts in flight
(what several clients of one gateway do; it matters for PostgreSQL, where commits wait on the server).
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.engine_common import (
    PG_DSN,
    TENANT,
    clones,
    command_line,
    drop_pg_schema,
    new_pg_schema,
    noop_chain,
    table,
)
from wfgateway.engine import Engine
from wfgateway.engine.store.base import ATT_COLS, EXEC_COLS, Store
from wfgateway.engine.store.postgres import PostgresStore
from wfgateway.engine.store.sqlite import SQLiteStore

Template = tuple[tuple[Any, ...], list[tuple[Any, ...]]]
_EX = f"INSERT INTO executions ({', '.join(EXEC_COLS)}) VALUES ({', '.join('?' * len(EXEC_COLS))})"
_AT = f"INSERT INTO attempts ({', '.join(ATT_COLS)}) VALUES ({', '.join('?' * len(ATT_COLS))})"


async def _timed(n: int, concurrency: int, start: Callable[[int], Awaitable[Any]]) -> float:
    t0 = time.perf_counter()
    if concurrency <= 1:
        for i in range(n):
            await start(i)
    else:
        it = iter(range(n))

        async def lane() -> None:
            for i in it:
                await start(i)

        await asyncio.gather(*(lane() for _ in range(concurrency)))
    return n / (time.perf_counter() - t0)


async def engine_rates(store: Store, count: int, concurrency: int) -> tuple[float, float, Template]:
    eng = Engine(store)
    await eng.startup()
    try:
        await eng.put_definition(noop_chain("noop10"))
        first = await eng.start(TENANT, "noop10", None, {"n": 0})
        assert str(first.status) == "COMPLETED" and len(first.tasks) == 10, first.status
        ex = await store.exec_get(first.id)
        template: Template = (tuple(ex), [tuple(a) for a in await store.attempts_of(first.id, True)])  # type: ignore[arg-type]

        async def start(i: int) -> None:
            e = await eng.start(TENANT, "noop10", None, {"n": i})
            if str(e.status) != "COMPLETED":
                raise RuntimeError(f"execution {e.id} is {e.status}")

        seq = await _timed(count, 1, start)
        conc = await _timed(count, concurrency, start)
    finally:
        await eng.stop()
    return seq, conc, template


def bare_sqlite(path: Path, template: Template, count: int) -> float:
    db = sqlite3.connect(str(path), isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    rows = list(clones(template, count, "bare"))
    t0 = time.perf_counter()
    for ex, atts in rows:
        db.execute("BEGIN IMMEDIATE")
        db.execute(_EX, ex)
        db.executemany(_AT, atts)
        db.execute("COMMIT")
    rate = count / (time.perf_counter() - t0)
    db.close()
    return rate


async def bare_pg(schema: str, template: Template, count: int, concurrency: int, prefix: str) -> float:
    from psycopg_pool import AsyncConnectionPool

    ex_sql, at_sql = _EX.replace("?", "%s"), _AT.replace("?", "%s")
    rows = list(clones(template, count, prefix))
    async with AsyncConnectionPool(PG_DSN, min_size=concurrency, max_size=concurrency, open=False,
                                   kwargs={"autocommit": True, "options": f"-c search_path={schema}"}) as pool:
        await pool.wait()

        async def insert(i: int) -> None:
            ex, atts = rows[i]
            async with pool.connection() as conn, conn.pipeline(), conn.transaction():
                await conn.execute(ex_sql, ex)  # type: ignore[arg-type]
                await conn.cursor().executemany(at_sql, atts)  # type: ignore[arg-type]

        return await _timed(count, concurrency, insert)


async def run_postgres(count: int, concurrency: int) -> list[list[str]]:
    schema = new_pg_schema()
    try:
        store = PostgresStore(PG_DSN, schema=schema, pool_size=max(concurrency, 2))
        seq, conc, template = await engine_rates(store, count, concurrency)
        bare_seq = await bare_pg(schema, template, count, 1, "bs")
        bare_conc = await bare_pg(schema, template, count, concurrency, "bc")
    finally:
        drop_pg_schema(schema)
    return [["PostgreSQL, sequential", f"{seq:,.0f}", f"{bare_seq:,.0f}", f"{seq / bare_seq:.0%}"],
            [f"PostgreSQL, {concurrency} in flight", f"{conc:,.0f}", f"{bare_conc:,.0f}", f"{conc / bare_conc:.0%}"]]


def run_sqlite(count: int, concurrency: int) -> list[list[str]]:
    with tempfile.TemporaryDirectory(prefix="wfgw-bench-") as d:
        path = Path(d) / "throughput.db"
        seq, conc, template = asyncio.run(engine_rates(SQLiteStore(path), count, concurrency))
        bare = bare_sqlite(path, template, count)
    return [["SQLite, sequential", f"{seq:,.0f}", f"{bare:,.0f}", f"{seq / bare:.0%}"],
            [f"SQLite, {concurrency} in flight", f"{conc:,.0f}", f"{bare:,.0f}", f"{conc / bare:.0%}"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    rows: list[list[str]] = []
    if args.store in ("sqlite", "both"):
        rows += run_sqlite(args.count, args.concurrency)
    if args.store in ("postgres", "both"):
        rows += asyncio.run(run_postgres(args.count, args.concurrency))
    print(f"`{command_line()}`\n")
    print(table(["10 noop tasks in a line, started and completed", "engine: executions/s",
                 "bare INSERT of the same rows: transactions/s", "engine / bare"], rows))


if __name__ == "__main__":
    main()
