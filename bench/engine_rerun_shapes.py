"""Rerun throughput of the engine against a bare SQLite transaction of the same shape.

    .venv/bin/python -m bench.engine_rerun_shapes [seconds]

Rates are per CPU second of this process (time.process_time), best of three alternating rounds, so
that other work on a shared machine does not decide the ratio.

Shape A: a 10-task chain of noop tasks, rerun from the start (10 attempts superseded, 10 new attempts
run to completion, the execution row updated) -- the same execution again and again.
Shape C: a 10-task chain of noop tasks, rerun from the 6th task (5 attempts superseded, 5 new
attempts run to completion) -- the same execution again and again.
Shape D: like B, rerun from the start (10 attempts superseded, one new attempt queued).
Shape B: a 10-task chain of worker tasks, completed, rerun from the 6th task (5 attempts superseded,
one new attempt queued) -- a fresh execution each time.
The bare baselines run the same statements with prepared parameters and no engine logic.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

from wfgateway.core.model import NOOP, WORKER, Edge, TaskSpec, WorkflowDefinition
from wfgateway.core.statuses import TaskStatus
from wfgateway.engine import Engine, create_store

N_TASKS = 10


def chain(kind: str) -> list[TaskSpec]:
    return [TaskSpec(ref=f"t{i}", kind=kind, name="bench", input={"i": i, "prev": f"${{t{i-1}.output.i}}" if i else 0},
                     depends_on=[Edge(f"t{i-1}")] if i else []) for i in range(N_TASKS)]


async def engine_a(path: Path, seconds: float) -> float:
    eng = Engine(create_store({"kind": "sqlite", "path": str(path)}))
    await eng.startup()
    await eng.put_definition(WorkflowDefinition(tenant="b", name="a", version=1, tasks=chain(NOOP)))
    e = await eng.start("b", "a", None, {})
    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < seconds:
        for _ in range(200):
            await eng.rerun(e.id)
        n += 200
    rate = n / (time.process_time() - c0)
    await eng.stop()
    return rate


async def engine_c(path: Path, seconds: float) -> float:
    eng = Engine(create_store({"kind": "sqlite", "path": str(path)}))
    await eng.startup()
    await eng.put_definition(WorkflowDefinition(tenant="b", name="c", version=1, tasks=chain(NOOP)))
    e = await eng.start("b", "c", None, {})
    tid = next(t.id for t in e.tasks if t.ref == "t5")
    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < seconds:
        for _ in range(200):
            await eng.rerun(e.id, from_task_id=tid)
        n += 200
    rate = n / (time.process_time() - c0)
    await eng.stop()
    return rate


async def engine_b(path: Path, seconds: float, from_start: bool = False) -> float:
    eng = Engine(create_store({"kind": "sqlite", "path": str(path)}))
    await eng.startup()
    await eng.put_definition(WorkflowDefinition(tenant="b", name="b", version=1, tasks=chain(WORKER)))
    pool = []
    for _ in range(int(4000 * seconds)):
        e = await eng.start("b", "b", None, {})
        pool.append(e.id)
    for _ in range(N_TASKS):
        while True:
            got = await eng.poll("b", "bench", count=500)
            if not got:
                break
            for t in got:
                await eng.complete_task(t.id, TaskStatus.COMPLETED, output={"i": t.input["i"]})
    targets = []
    for eid in pool:
        e = await eng.get(eid)
        targets.append((eid, next(t.id for t in e.tasks if t.ref == "t5")))
    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    for eid, tid in targets:
        await eng.rerun(eid, from_task_id=None if from_start else tid)
        n += 1
        if time.perf_counter() - t0 > seconds:
            break
    rate = n / (time.process_time() - c0)
    await eng.stop()
    return rate


def bare(path: Path, seconds: float, shape: str) -> float:
    """The same statements an engine rerun of ``shape`` needs, with no engine logic (shape B on a
    fresh execution each time, like the engine run)."""
    db = sqlite3.connect(str(path), isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE ex (id TEXT PRIMARY KEY, status TEXT, output TEXT, updated BIGINT, v BIGINT)")
    db.execute("CREATE TABLE att (key TEXT PRIMARY KEY, eid TEXT, ref TEXT, status TEXT, seq INT, input TEXT,"
               " output TEXT, visible INT, ts BIGINT)")
    db.execute("CREATE INDEX att_e ON att (eid, visible, seq)")
    n_new = {"A": N_TASKS, "B": 1, "C": 5, "D": 1}[shape]
    n_hide = {"A": N_TASKS, "B": 5, "C": 5, "D": N_TASKS}[shape]
    pooled = shape in ("B", "D")
    pool = [f"e{i}" for i in range(int(4000 * seconds) if pooled else 1)]
    db.execute("BEGIN")
    for eid in pool:
        db.execute("INSERT INTO ex VALUES (?, 'COMPLETED', '{}', 0, 0)", (eid,))
    for i in range(N_TASKS):  # attempts written in waves, as a real run interleaves executions
        db.executemany("INSERT INTO att VALUES (?, ?, ?, 'COMPLETED', ?, '{}', '{}', 1, 0)",
                       [(uuid.uuid4().hex, eid, f"t{i}", i) for eid in pool])
    db.execute("COMMIT")
    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < seconds and n < len(pool) * (1 if pooled else 10**9):
        eid = pool[n % len(pool)]
        db.execute("BEGIN IMMEDIATE")
        db.execute("SELECT * FROM ex WHERE id = ?", (eid,)).fetchone()
        db.execute("SELECT * FROM att WHERE eid = ? AND visible = 1 ORDER BY seq", (eid,)).fetchall()
        db.execute("UPDATE ex SET status = 'RUNNING', v = v + 1 WHERE id = ? AND v >= 0", (eid,))
        db.execute("UPDATE att SET visible = 0 WHERE eid = ? AND visible = 1 AND seq >= ?", (eid, N_TASKS - n_hide))
        db.executemany("INSERT INTO att VALUES (?, ?, ?, 'COMPLETED', ?, '{\"i\":1}', '{\"i\":1}', 1, ?)",
                       [(uuid.uuid4().hex, eid, f"t{i}", N_TASKS - n_hide + i, n) for i in range(n_new)])
        db.execute("COMMIT")
        n += 1
    rate = n / (time.process_time() - c0)
    db.close()
    return rate


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    ra = rb = rc = rd = ba = bb = bc = bd = 0.0
    for _ in range(3):
        with tempfile.TemporaryDirectory() as d:
            base = Path(d)
            ra = max(ra, asyncio.run(engine_a(base / "a.db", seconds)))
            ba = max(ba, bare(base / "bare_a.db", seconds, "A"))
            rb = max(rb, asyncio.run(engine_b(base / "b.db", seconds)))
            bb = max(bb, bare(base / "bare_b.db", seconds, "B"))
            rc = max(rc, asyncio.run(engine_c(base / "c.db", seconds)))
            bc = max(bc, bare(base / "bare_c.db", seconds, "C"))
            rd = max(rd, asyncio.run(engine_b(base / "d.db", seconds, from_start=True)))
            bd = max(bd, bare(base / "bare_d.db", seconds, "D"))
    print(f"shape A (rerun from start, 10 noop tasks run again): engine {ra:,.0f}/s  bare {ba:,.0f}/s  "
          f"ratio {ra / ba:.0%}")
    print(f"shape B (rerun from task 6 of 10 worker tasks):     engine {rb:,.0f}/s  bare {bb:,.0f}/s  "
          f"ratio {rb / bb:.0%}")
    print(f"shape C (rerun from task 6 of 10 noop tasks):       engine {rc:,.0f}/s  bare {bc:,.0f}/s  "
          f"ratio {rc / bc:.0%}")
    print(f"shape D (rerun from start of 10 worker tasks):      engine {rd:,.0f}/s  bare {bd:,.0f}/s  "
          f"ratio {rd / bd:.0%}")


if __name__ == "__main__":
    main()
