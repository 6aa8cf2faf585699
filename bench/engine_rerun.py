"""Reruns per second of a completed 10-task execution through the engine's own API, beside a bare
SQLite transaction of the same shape, in the same run and on the same database file.

    .venv/bin/python -m bench.engine_rerun [--count 3000] [--rounds 3]

The execution: 10 worker tasks in a line, all COMPLETED.  ``Engine.rerun(id)`` (from the start) reads
it, supersedes the 10 attempts, queues a new attempt of the first task and commits; the bare
transaction writes exactly that and nothing else: one execution UPDATE (checked row_version), one
multi-row attempt UPDATE, one attempt INSERT (WAL, synchronous=NORMAL).  Every rerun hits a different
execution (a rerun leaves it RUNNING).  Best of ``--rounds`` alternating rounds; rates are given per
wall-clock second and per CPU second of this process (the latter is what a busy shared machine
disturbs least).  Issue bar: engine >= 50% of bare.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.engine_common import bulk_load_sqlite, command_line, completed_worker_execution, table
from wfgateway.engine import Engine
from wfgateway.engine.store.base import ATT_COLS, ATT_IDX, EXEC_IDX
from wfgateway.engine.store.sqlite import SQLiteStore

Template = tuple[tuple[Any, ...], list[tuple[Any, ...]]]


async def make_template(path: Path) -> Template:
    eng = Engine(SQLiteStore(path))
    await eng.startup()
    try:
        return await completed_worker_execution(eng, "rerun10")
    finally:
        await eng.stop()


async def engine_round(path: Path, template: Template, count: int, prefix: str) -> tuple[float, float]:
    bulk_load_sqlite(str(path), template, count, prefix)
    eng = Engine(SQLiteStore(path))
    await eng.startup()
    try:
        ids = [f"{prefix}{n:09d}" for n in range(count)]
        await eng.rerun(ids[0])  # warm caches (definition snapshot, statements)
        t0, c0 = time.perf_counter(), time.process_time()
        for eid in ids[1:]:
            await eng.rerun(eid)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        check = await eng.get(ids[-1], include_history=True)
        visible = [t for t in check.tasks if t.visible]
        assert len(check.tasks) == 11 and len(visible) == 1 and str(visible[0].status) == "SCHEDULED", check
    finally:
        await eng.stop()
    return (count - 1) / wall, (count - 1) / cpu


def bare_round(path: Path, template: Template, count: int, prefix: str) -> tuple[float, float]:
    bulk_load_sqlite(str(path), template, count, prefix)
    db = sqlite3.connect(str(path), isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    first = list(template[1][0])
    first[ATT_IDX["status"]] = "SCHEDULED"
    first[ATT_IDX["seq"]] = 11
    for col in ("output", "worker_id"):
        first[ATT_IDX[col]] = None
    insert = f"INSERT INTO attempts ({', '.join(ATT_COLS)}) VALUES ({', '.join('?' * len(ATT_COLS))})"
    version = template[0][EXEC_IDX["row_version"]]
    ki, ai, xi = ATT_IDX["key"], ATT_IDX["id"], ATT_IDX["execution_id"]
    ids = [f"{prefix}{n:09d}" for n in range(count)]
    t0, c0 = time.perf_counter(), time.process_time()
    for eid in ids:
        now = time.time_ns() // 1_000_000
        db.execute("BEGIN IMMEDIATE")
        cur = db.execute(
            "UPDATE executions SET status = 'RUNNING', ended_ms = 0, updated_ms = ?, next_seq = 11,"
            " row_version = ? WHERE id = ? AND row_version = ?", (now, version + 1, eid, version))
        if cur.rowcount != 1:
            raise RuntimeError("version conflict")
        db.execute("UPDATE attempts SET visible = 0, updated_ms = ? WHERE execution_id = ? AND visible = 1",
                   (now, eid))
        first[ki], first[ai], first[xi] = f"{eid}k10", f"{eid}a10", eid
        db.execute(insert, first)
        db.execute("COMMIT")
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    db.close()
    return count / wall, count / cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=3000, help="reruns per round and side")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wfgw-bench-") as d:
        path = Path(d) / "rerun.db"
        template = asyncio.run(make_template(path))
        eng_wall = eng_cpu = bare_wall = bare_cpu = 0.0
        for r in range(args.rounds):
            w, c = asyncio.run(engine_round(path, template, args.count, f"e{r}x"))
            eng_wall, eng_cpu = max(eng_wall, w), max(eng_cpu, c)
            w, c = bare_round(path, template, args.count, f"b{r}x")
            bare_wall, bare_cpu = max(bare_wall, w), max(bare_cpu, c)
    print(f"`{command_line()}`\n")
    print(table(
        ["rerun of a completed 10-task execution (SQLite, WAL)", "engine API", "bare SQLite transaction",
         "engine / bare"],
        [["reruns per wall-clock second", f"{eng_wall:,.0f}", f"{bare_wall:,.0f}", f"{eng_wall / bare_wall:.0%}"],
         ["reruns per CPU second", f"{eng_cpu:,.0f}", f"{bare_cpu:,.0f}", f"{eng_cpu / bare_cpu:.0%}"]],
    ))
    verdict = {True: "met", False: "NOT met"}
    print(f"\nbar: engine >= 50% of bare -> wall-clock: {verdict[eng_wall / bare_wall >= 0.5]}, "
          f"CPU: {verdict[eng_cpu / bare_cpu >= 0.5]}")


if __name__ == "__main__":
    main()
