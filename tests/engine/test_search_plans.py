"""Every search a dialect makes walks an index on both stores (issue #23): a change that brings back a
full scan of the executions, or a sort of every match, fails here instead of slowing production
quietly at 10^6 stored runs.  The plans are read with enough rows and fresh statistics (SQLite) or
with sequential scans priced out (PostgreSQL), so they are the plans a big store gets."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from bench.search_scale import NOW_MS, operations, synthetic_rows
from wfgateway.engine.store import search, task_search
from wfgateway.engine.store.base import Changeset, TaskFilter
from wfgateway.engine.store.sqlite import SQLiteStore

from .pg import PG_DSN, create_schema, drop_schema, pg_store

ROWS = 20_000
OPS = operations(ROWS)


def _statements(op):  # type: ignore[no-untyped-def]
    cursor = (NOW_MS - 1, "e00000001") if op.deep else None
    sql = search.build(op.flt, cursor, op.limit, op.newest_first)
    out = [("page", sql.page, sql.page_args)]
    if op.count:
        out.append(("count", sql.count, sql.count_args))
    if op.skip:
        out.append(("seek", *search.seek(op.flt, cursor, op.skip, op.newest_first)))
    return out


def _sorts_every_match(op) -> bool:  # type: ignore[no-untyped-def]
    """One status or none, one workflow or none: the index gives the order, so a sort means it does not
    (several branches are each read in index order and merged: the merge sorts the branches' pages)."""
    return len(op.flt.statuses or ()) <= 1 and len(op.flt.workflows or ()) <= 1


@pytest.mark.parametrize("op", OPS, ids=[o.label for o in OPS])
async def test_sqlite_plans_walk_an_index(op, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = SQLiteStore(tmp_path / "plans.db")
    await store.open()
    try:
        await store.commit(Changeset(exec_inserts=list(synthetic_rows(0, ROWS))))
        await store.run_sql([("ANALYZE", ())])
        for kind, sql, args in _statements(op):
            plan = [row[3] for row in await store.fetch_sql("EXPLAIN QUERY PLAN " + sql, args)]
            assert not [p for p in plan if p.startswith("SCAN executions")], (kind, plan)
            assert any("USING" in p and "INDEX" in p for p in plan), (kind, plan)
            if kind == "page" and _sorts_every_match(op):
                assert not [p for p in plan if "TEMP B-TREE" in p], (kind, plan)
            if kind == "seek":  # an offset over index entries: no row of the table is read
                assert all("COVERING INDEX" in p for p in plan if p.startswith("SEARCH executions")), plan
    finally:
        await store.close()


@pytest.mark.postgres
@pytest.mark.parametrize("op", OPS, ids=[o.label for o in OPS])
async def test_postgres_plans_walk_an_index(op) -> None:  # type: ignore[no-untyped-def]
    schema = create_schema()
    store = pg_store(schema)
    try:
        await store.open()
        await store.commit(Changeset(exec_inserts=list(synthetic_rows(0, ROWS))))
        await store.run_sql([("ANALYZE executions", ())])
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'SET search_path TO "{schema}"')
            conn.execute("SET enable_seqscan = off")
            conn.execute("SET enable_bitmapscan = off")  # an index walk in order, or a sort: which one
            for kind, sql, args in _statements(op):
                plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + sql.replace("?", "%s"), args).fetchall())
                assert "Seq Scan on executions" not in plan, (kind, plan)
                if kind == "page" and _sorts_every_match(op):
                    assert "Sort" not in plan, (kind, plan)
    finally:
        await store.close()
        drop_schema(schema)


async def _registry_plans(home, explain: str, rows: int) -> list[str]:  # type: ignore[no-untyped-def]
    from wfgateway.routing.registry import ELSEWHERE_SQL, NEXT_BACKEND_SQL, OWNER_SQL, RunRegistry

    registry = RunRegistry(home)
    await registry.open()
    await registry.tables.transaction([
        ("INSERT INTO wfgateway_run_registry (execution_id, backend, dialect, tenant) VALUES (?, ?, ?, ?)",
         (f"r{i:07d}", "engine" if i % 10 else "orkes", "conductor", f"t{i % 7}")) for i in range(rows)])
    await home.run_sql([("ANALYZE", ())])
    plans = []
    for sql, args in (
        (OWNER_SQL, ("r0000005",)),
        (ELSEWHERE_SQL, ("orkes", "t1", "", 26)),
        (NEXT_BACKEND_SQL, ("",)),
    ):
        found = await home.fetch_sql(explain + sql, args)
        plans.append("\n".join(str(r[-1]) for r in found))
    return plans


async def test_sqlite_run_registry_plans_walk_an_index(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "registry.db")
    await store.open()
    try:
        for plan in await _registry_plans(store, "EXPLAIN QUERY PLAN ", 5_000):
            assert "SCAN wfgateway_run_registry" not in plan and "TEMP B-TREE" not in plan, plan
    finally:
        await store.close()


async def test_sqlite_key_value_scans_walk_the_key(tmp_path: Path) -> None:
    """Cognite's trigger history, workflow and trigger listings page a key-value namespace by key."""
    from wfgateway.engine.store.kv import KeyValue

    store = SQLiteStore(tmp_path / "kv.db")
    await store.open()
    try:
        kv = KeyValue(store, "cognite")
        await kv.open()
        await kv.tables.transaction([("INSERT INTO cognite_kv (ns, k, v) VALUES (?, ?, ?)",
                                      ("runs", f"p{i % 3}/wf/{i:07d}", "{}")) for i in range(5_000)])
        await store.run_sql([("ANALYZE", ())])
        for reverse in (False, True):
            sql = kv._backward if reverse else kv._forward  # the statements scan() runs
            plan = [r[3] for r in await store.fetch_sql("EXPLAIN QUERY PLAN " + sql, ("runs", "p1/", "p1/~", "", 26))]
            assert not [p for p in plan if p.startswith("SCAN") or "TEMP B-TREE" in p], plan
    finally:
        await store.close()


@pytest.mark.parametrize("flt", [
    TaskFilter("t", name="charge"), TaskFilter("t", name="charge", statuses=["FAILED"]),
    TaskFilter("t", statuses=["FAILED"]), TaskFilter("t", statuses=["FAILED", "TIMED_OUT"]),
    TaskFilter("t"), TaskFilter("t", scheduled_from_ms=1), TaskFilter("t", execution_ids=["e1", "e2"]),
    TaskFilter("t", task_ids=["a1"]),
], ids=["name", "name-status", "status", "statuses", "none", "since", "workflow-ids", "task-id"])
async def test_sqlite_task_search_walks_an_index(flt, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A task search (GET /api/tasks/search, /api/workflow/search-by-tasks) never scans every attempt."""
    store = SQLiteStore(tmp_path / "tasks.db")
    await store.open()
    try:
        sql = task_search.build(flt, (NOW_MS, "k1"), 100, True)
        for statement, args in ((sql.page, sql.page_args), (sql.count, sql.count_args)):
            plan = [row[3] for row in await store.fetch_sql("EXPLAIN QUERY PLAN " + statement, args)]
            assert not [p for p in plan if p.startswith("SCAN attempts")], plan
            if statement == sql.page and len(flt.statuses or ()) <= 1 and not (flt.execution_ids or flt.task_ids):
                assert not [p for p in plan if "TEMP B-TREE" in p], plan  # the index gives the order
    finally:
        await store.close()
