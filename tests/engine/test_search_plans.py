"""Every search a dialect makes walks an index on both stores (issue #23): a change that brings back a
full scan of the executions, or a sort of every match, fails here instead of slowing production
quietly at 10^6 stored runs.  The plans are read with enough rows and fresh statistics (SQLite) or
with sequential scans priced out (PostgreSQL), so they are the plans a big store gets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from bench.search_store_calls import NAMES, NOW_MS, Operation, operations, synthetic_rows
from wfgateway.engine.store import counts, search, task_search
from wfgateway.engine.store.base import Changeset, SearchFilter, TaskFilter
from wfgateway.engine.store.sqlite import SQLiteStore

from .pg import PG_DSN, create_schema, drop_schema, pg_store

ROWS = 20_000
MIXED = [(f"cognite_wf{n % NAMES}", None if n < NAMES else str(n // NAMES)) for n in range(40)]
OPS = [*operations(ROWS),  # the benchmark's calls, and many-branch shapes it does not time
       Operation("80 branches, workflows in any version and in one, cursor", SearchFilter(
           "proj", workflows=[(f"x{n}", None) for n in range(20)] + MIXED[NAMES:], statuses=["FAILED", "RUNNING"]),
           101, deep=True),
       Operation("500 branches, oldest first, skip", SearchFilter(
           "proj", workflows=[(f"cognite_wf{n % NAMES}", str(1 + n // NAMES)) for n in range(100)],
           statuses=["FAILED", "RUNNING", "COMPLETED", "TERMINATED", "TIMED_OUT"]), 101, newest_first=False,
           skip=300),
       Operation("12 workflowFilters, 6 of them also in any version, no status",
                 SearchFilter("proj", workflows=MIXED[:12]), 101)]


def _many(op: Operation, lateral: bool = False) -> bool:
    """A page of more branches than a union holds: one join of the branches to their index walks."""
    most = search.UNION_MAX_LATERAL if lateral else search.UNION_MAX
    return search.branch_count(op.flt) > most


def _by_day(op: Operation) -> bool:
    """A total of names, statuses and a time range with a whole day inside it: counted by day."""
    flt = op.flt
    return (counts.countable_by_day(flt) and not counts.countable(flt)
            and counts.day_span(flt.created_from_ms, flt.created_to_ms) is not None)


def _ids_op(op: Operation) -> bool:
    """A filter Conductor's running workflows list every id of: names, versions, statuses, a time range."""
    return op.flt.correlation_id is None and op.flt.parent_execution_id is None and op.flt.dialect is None


def _statements(op):  # type: ignore[no-untyped-def]
    cursor = (NOW_MS - 1, "e00000001") if op.deep else None
    sql = search.build(op.flt, cursor, op.limit, op.newest_first, lateral=False)
    out = [("page", sql.page, sql.page_args), ("ids", *search.ids(op.flt))]
    if op.count:
        out.append(("count", sql.count, sql.count_args))
    if op.skip:
        out.append(("seek", *search.seek(op.flt, cursor, op.skip, op.newest_first)))
    return out


def _pg_statements(op):  # type: ignore[no-untyped-def]
    cursor = (NOW_MS - 1, "e00000001") if op.deep else None
    sql = search.build(op.flt, cursor, op.limit, op.newest_first, lateral=True, pending_counts=True)
    out = [("page", sql.page, sql.page_args), ("ids", *search.ids(op.flt, lateral=True))]
    if op.count:
        out.append(("count", sql.count, sql.count_args))
    if op.skip:
        out.append(("seek", *search.seek(op.flt, cursor, op.skip, op.newest_first, lateral=True)))
    return out


def _equalities(op: Operation) -> list[str]:
    """The columns a one-branch page's index walk must be constrained by (a filter left to be checked
    row by row reads every run the other constraints match)."""
    flt = op.flt
    cols = [c for c in ("name", "def_version", "correlation_id", "parent_execution_id", "dialect")
            if getattr(flt, c) is not None]
    if flt.workflows:
        cols += ["name"] + (["def_version"] if flt.workflows[0][1] is not None else [])
    return cols + (["status"] if flt.statuses else [])


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
            if kind == "count" and counts.countable(op.flt):  # a sum of the run counts, not a walk of runs
                assert not [p for p in plan if "executions" in p] and "exec_counts" in " ".join(plan), plan
            if kind == "count" and _by_day(op):  # whole days summed; each partial day a walk of that day alone
                assert "exec_counts_daily" in " ".join(plan), plan
                assert all("created_ms>?" in p and "created_ms<?" in p for p in plan
                           if p.startswith("SEARCH executions")), plan
            if kind == "page" and _sorts_every_match(op):
                assert not [p for p in plan if "TEMP B-TREE" in p], (kind, plan)
                walk = next(p for p in plan if p.startswith("SEARCH executions"))
                assert all(f"{c}=?" in walk for c in _equalities(op)), (walk, _equalities(op))
            assert not [p for p in plan if "AUTOMATIC" in p], (kind, plan)  # an index built per call
            if kind == "ids" and _ids_op(op):  # every match's id (Conductor's running workflows): the index alone
                assert all("COVERING INDEX" in p or "(id=?)" in p for p in plan
                           if p.startswith("SEARCH executions")), (kind, plan)
            if kind == "seek" or (_many(op) and kind == "page"):
                # keys from the index alone (an offset; many branches' walks), rows then read by id
                assert all("COVERING INDEX" in p or "(id=?)" in p for p in plan
                           if p.startswith("SEARCH executions")), (kind, plan)
            if _many(op) and kind == "page":  # one join, not a union per branch; each walk a bounded range
                assert any("json_each" in p for p in plan), plan  # the branches as rows, not a union of them
                assert len([p for p in plan if "UNION" in p]) <= 1, plan  # (workflows in any version and in one)
                assert any(("created_ms>?" in p or "created_ms<?" in p) for p in plan), plan
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
            for kind, sql, args in _pg_statements(op):
                plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + sql.replace("?", "%s"), args).fetchall())
                assert "Seq Scan on executions" not in plan, (kind, plan)
                if kind == "count" and counts.countable(op.flt):  # the run counts and their pending changes
                    assert " on executions" not in plan and "exec_counts_pkey" in plan, plan
                if kind == "count" and _by_day(op):  # whole days summed; each partial day a walk of that day
                    assert "exec_counts_daily_pkey" in plan, plan
                    walks = [line for line in plan.splitlines() if "Index Cond" in line and "created_ms" in line]
                    assert walks and all("created_ms >=" in w and "created_ms <=" in w for w in walks), plan
                if kind == "page" and _sorts_every_match(op):
                    assert "Sort" not in plan, (kind, plan)
                    cond = next(line for line in plan.splitlines() if "Index Cond" in line)
                    assert all(f"({c} = " in cond for c in _equalities(op)), (cond, _equalities(op))
                if kind == "ids" and _ids_op(op) and not _many(op, lateral=True):  # the index alone
                    assert "Index Only Scan" in plan and "Index Scan" not in plan.replace("Index Only Scan", ""), plan
                if _many(op, lateral=True) and kind in ("page", "seek"):
                    tree = conn.execute("EXPLAIN (FORMAT JSON) " + sql.replace("?", "%s"), args).fetchone()[0]
                    _check_walks_are_bounded(tree[0]["Plan"], kind)
                    assert "Function Scan on" in plan, (kind, plan)  # the branches as rows, not a union
    finally:
        await store.close()
        drop_schema(schema)


def _check_walks_are_bounded(node: dict[str, Any], kind: str, limited: bool = False) -> None:
    """Every walk of the executions stops after a page of keys (a Limit above it, inside its branch)
    or reads one run by id: a Sort above them then sorts at most branches x limit keys, never every
    match.  The branch walks read keys from the index alone."""
    limited = limited or node["Node Type"] == "Limit"
    if node.get("Relation Name") == "executions":
        by_id = node.get("Index Name") == "executions_pkey"
        assert by_id or limited, (kind, node)
        assert by_id or node["Node Type"] == "Index Only Scan", (kind, node)
    for child in node.get("Plans", []):
        # a Sort or an Append under a Limit reads everything below it: the bound must be lower
        _check_walks_are_bounded(child, kind, limited and node["Node Type"] not in ("Sort", "Append"))


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


TASK_FILTERS = [
    TaskFilter("t", name="charge"), TaskFilter("t", name="charge", statuses=["FAILED"]),
    TaskFilter("t", statuses=["FAILED"]), TaskFilter("t", statuses=["FAILED", "TIMED_OUT"]),
    TaskFilter("t"), TaskFilter("t", scheduled_from_ms=1), TaskFilter("t", execution_ids=["e1", "e2"]),
    TaskFilter("t", task_ids=["a1"]),
]


@pytest.mark.postgres
async def test_postgres_task_search_walks_an_index() -> None:
    """The same task searches on PostgreSQL (sequential and bitmap scans priced out): no scan of every
    attempt, and a page in the index's order when one name or status leads it; a cursor is a range of
    the index, not a filter."""
    schema = create_schema()
    store = pg_store(schema)
    try:
        await store.open()
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'SET search_path TO "{schema}"')
            # attempts of a few names and statuses, some hidden; vacuumed so an index-only walk is priced as one
            conn.execute("""INSERT INTO attempts (key, id, execution_id, tenant, ref, name, kind, status, seq, attempt,
                retried, visible, poll_count, scheduled_ms, started_ms, ended_ms, updated_ms, lease_until_ms,
                callback_after_ms, retry_base, retry_pending)
                SELECT 'k' || i, 'a' || i, 'e' || (i / 3), 't', 'r', 'n' || (i % 7), 'worker',
                       (ARRAY['FAILED', 'COMPLETED', 'TIMED_OUT'])[1 + i % 3], i, 0, 0, (i % 5 > 0)::int, 0, i, i, i, i,
                       0, 0, 0, 0 FROM generate_series(1, 20000) AS i""")
            conn.execute("VACUUM (ANALYZE) attempts")
            conn.execute("SET enable_seqscan = off")
            conn.execute("SET enable_bitmapscan = off")
            for flt in TASK_FILTERS:
                sql = task_search.build(flt, (NOW_MS, "k1"), 100, True)
                for statement, args in ((sql.page, sql.page_args), (sql.count, sql.count_args)):
                    plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + statement.replace("?", "%s"), args))
                    assert "Seq Scan on attempts" not in plan, (flt, plan)
                    if statement == sql.count and not (flt.execution_ids or flt.task_ids):
                        assert "Index Only Scan" in plan, (flt, plan)  # a total reads no attempt
                    if statement == sql.page and len(flt.statuses or ()) <= 1 and not (flt.execution_ids
                                                                                      or flt.task_ids):
                        assert "Sort" not in plan, (flt, plan)
                        assert "ROW(scheduled_ms, key) <" in plan.split("Index Cond:")[1], (flt, plan)
    finally:
        await store.close()
        drop_schema(schema)


@pytest.mark.parametrize("flt", TASK_FILTERS, ids=["name", "name-status", "status", "statuses", "none", "since", "workflow-ids", "task-id"])
async def test_sqlite_task_search_walks_an_index(flt, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A task search (GET /api/tasks/search, /api/workflow/search-by-tasks) never scans every attempt."""
    store = SQLiteStore(tmp_path / "tasks.db")
    await store.open()
    try:
        sql = task_search.build(flt, (NOW_MS, "k1"), 100, True)
        for statement, args in ((sql.page, sql.page_args), (sql.count, sql.count_args)):
            plan = [row[3] for row in await store.fetch_sql("EXPLAIN QUERY PLAN " + statement, args)]
            assert not [p for p in plan if p.startswith("SCAN attempts")], plan
            if statement == sql.count and not (flt.execution_ids or flt.task_ids):  # a total reads no attempt
                assert [p for p in plan if "USING COVERING INDEX attempts_visible_" in p], plan
            if statement == sql.page and len(flt.statuses or ()) <= 1 and not (flt.execution_ids or flt.task_ids):
                assert not [p for p in plan if "TEMP B-TREE" in p], plan  # the index gives the order
    finally:
        await store.close()


@pytest.mark.parametrize("lateral", [False, True], ids=["sqlite", "postgres"])
def test_many_branches_are_one_statement_whatever_their_number(lateral: bool) -> None:
    """80 and 500 branches (Cognite's 40 and 100 workflowFilters x statuses) are the same statement with
    other arguments: what the database plans does not grow with the branches (a union of 80 planned in
    38 ms on PostgreSQL), and a statement cache keeps it."""
    def page(workflows: int, statuses: list[str]) -> str:
        flt = SearchFilter("proj", workflows=[(f"w{n}", "1") for n in range(workflows)], statuses=statuses)
        return search.build(flt, (NOW_MS, "e1"), 101, True, lateral=lateral).page

    assert page(40, ["FAILED", "RUNNING"]) == page(100, ["FAILED", "RUNNING", "COMPLETED", "TERMINATED", "TIMED_OUT"])
    assert len(page(100, ["FAILED"])) < 2_000
