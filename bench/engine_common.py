"""Shared pieces of the engine benchmarks: workflows, a completed template execution, bulk loading of
cloned executions straight into a store's tables, PostgreSQL schemas, and the markdown table.

Bulk loading bypasses the engine on purpose (a million executions through the API would take an hour);
the rows are byte-for-byte clones of an execution the engine itself ran, with fresh ids.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import sys
import time
from collections.abc import Iterator
from typing import Any

from wfgateway.core.model import NOOP, WORKER, Edge, TaskSpec, WorkflowDefinition
from wfgateway.core.statuses import TaskStatus
from wfgateway.engine import Engine
from wfgateway.engine.store.base import ATT_COLS, ATT_IDX, EXEC_COLS, EXEC_IDX
from wfgateway.engine.store.schema import MIGRATIONS

TENANT = "bench"
PG_DSN = os.environ.get("WFG_BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def chain(name: str, kind: str, n: int = 10) -> WorkflowDefinition:
    """``n`` tasks in a line, each reading the previous task's output (so templates are resolved)."""
    tasks = [TaskSpec(ref=f"t{i}", kind=kind, name=f"{name}-task",
                      input={"i": i, "prev": f"${{t{i - 1}.output.i}}" if i else 0},
                      depends_on=[Edge(f"t{i - 1}")] if i else []) for i in range(n)]
    return WorkflowDefinition(tenant=TENANT, name=name, version=1, tasks=tasks)


async def completed_worker_execution(engine: Engine, name: str) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
    """Run one execution of a 10-worker-task chain to completion through the engine; return its rows."""
    await engine.put_definition(chain(name, WORKER))
    e = await engine.start(TENANT, name, None, {})
    for _ in range(10):
        (task,) = await engine.poll(TENANT, f"{name}-task", worker_id="bench", timeout_ms=1000)
        await engine.complete_task(task.id, TaskStatus.COMPLETED, output={"i": task.input["i"]})
    row = await engine.store.exec_get(e.id)
    atts = await engine.store.attempts_of(e.id, True)
    assert row is not None and row[EXEC_IDX["status"]] == "COMPLETED" and len(atts) == 10
    return tuple(row), [tuple(a) for a in atts]


def clones(template: tuple[tuple[Any, ...], list[tuple[Any, ...]]], count: int, prefix: str
           ) -> Iterator[tuple[tuple[Any, ...], list[tuple[Any, ...]]]]:
    """``count`` copies of a template execution with fresh execution ids, attempt keys and public ids."""
    ex, atts = template
    ei, ki, ai, xi = EXEC_IDX["id"], ATT_IDX["key"], ATT_IDX["id"], ATT_IDX["execution_id"]
    for n in range(count):
        eid = f"{prefix}{n:09d}"
        row = list(ex)
        row[ei] = eid
        out = []
        for j, a in enumerate(atts):
            r = list(a)
            r[ki], r[ai], r[xi] = f"{eid}k{j}", f"{eid}a{j}", eid
            out.append(tuple(r))
        yield tuple(row), out


def _index_ddl() -> list[tuple[str, str]]:
    """(index name, CREATE statement) of every index the migrations create."""
    out = []
    for statements in MIGRATIONS:
        for stmt in statements:
            words = stmt.split()
            if words[0] == "CREATE" and "INDEX" in words[:3]:
                out.append((words[words.index("INDEX") + 1], stmt))
    return out


def bulk_load_sqlite(path: str, template: tuple[tuple[Any, ...], list[tuple[Any, ...]]], count: int,
                     prefix: str, progress: bool = False) -> float:
    """Insert ``count`` cloned executions (indexes dropped during the load, rebuilt after); seconds taken."""
    t0 = time.perf_counter()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = OFF")  # the only connection, and a failed load is thrown away
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA cache_size = -262144")
    big = count > 20000
    if big:
        for name, _ in _index_ddl():
            db.execute(f"DROP INDEX IF EXISTS {name}")
    ex_sql = f"INSERT INTO executions ({', '.join(EXEC_COLS)}) VALUES ({', '.join('?' * len(EXEC_COLS))})"
    att_sql = f"INSERT INTO attempts ({', '.join(ATT_COLS)}) VALUES ({', '.join('?' * len(ATT_COLS))})"
    batch_e: list[tuple[Any, ...]] = []
    batch_a: list[tuple[Any, ...]] = []
    for n, (ex, atts) in enumerate(clones(template, count, prefix), start=1):
        batch_e.append(ex)
        batch_a.extend(atts)
        if len(batch_e) >= 20000 or n == count:
            db.execute("BEGIN")
            db.executemany(ex_sql, batch_e)
            db.executemany(att_sql, batch_a)
            db.execute("COMMIT")
            batch_e, batch_a = [], []
            if progress:
                print(f"\r  loaded {n:,}/{count:,}", end="", file=sys.stderr, flush=True)
    if big:
        for _, ddl in _index_ddl():
            db.execute(ddl.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1)
                       .replace("CREATE UNIQUE INDEX", "CREATE UNIQUE INDEX IF NOT EXISTS", 1))
    db.execute("ANALYZE")
    db.execute("PRAGMA journal_mode = WAL")
    db.close()
    if progress:
        print(file=sys.stderr)
    return time.perf_counter() - t0


def bulk_load_pg(schema: str, template: tuple[tuple[Any, ...], list[tuple[Any, ...]]], count: int,
                 prefix: str, progress: bool = False) -> float:
    """COPY ``count`` cloned executions into a PostgreSQL schema; seconds taken."""
    import psycopg

    t0 = time.perf_counter()
    with psycopg.connect(PG_DSN, options=f"-c search_path={schema}") as conn:
        big = count > 20000
        if big:
            for name, _ in _index_ddl():
                conn.execute(f"DROP INDEX IF EXISTS {name}")  # type: ignore[arg-type]  # our own DDL
            conn.commit()
        done = 0
        for chunk_start in range(0, count, 50000):
            n = min(50000, count - chunk_start)
            rows = list(clones(template, n, f"{prefix}{chunk_start // 50000:04d}x"))
            with conn.cursor() as cur:
                with cur.copy(f"COPY executions ({', '.join(EXEC_COLS)}) FROM STDIN") as cp_e:
                    for ex, _ in rows:
                        cp_e.write_row(ex)
                with cur.copy(f"COPY attempts ({', '.join(ATT_COLS)}) FROM STDIN") as cp_a:
                    for _, atts in rows:
                        for a in atts:
                            cp_a.write_row(a)
            conn.commit()
            done += n
            if progress:
                print(f"\r  loaded {done:,}/{count:,}", end="", file=sys.stderr, flush=True)
        if big:
            for _, ddl in _index_ddl():
                conn.execute(ddl)  # type: ignore[arg-type]
            conn.commit()
        conn.execute("ANALYZE")
        conn.commit()
    if progress:
        print(file=sys.stderr)
    return time.perf_counter() - t0


def new_pg_schema() -> str:
    return f"bench_{int(time.time())}_{secrets.token_hex(3)}"


def drop_pg_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")  # type: ignore[arg-type]  # our own name


def noop_chain(name: str) -> WorkflowDefinition:
    return chain(name, NOOP)


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]


def table(headers: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def command_line() -> str:
    return ".venv/bin/python -m " + " ".join([sys.modules["__main__"].__spec__.name, *sys.argv[1:]])  # type: ignore[union-attr]
