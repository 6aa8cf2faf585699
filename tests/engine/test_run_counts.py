"""The totals a search answer carries come from the run counts the database keeps (store/counts.py) when
the filter is workflow names, statuses, dialect and a time range: they must equal the matches at every
moment -- after inserts, status changes, deletes and a commit that is rolled back, before and after
PostgreSQL folds its pending changes -- and a database written before the counts existed is counted when
it is opened.  Time ranges start and end mid-day, on a day's edges, inside one day, before 1970."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from wfgateway.engine.store.base import Changeset, SearchFilter, Store, VersionConflict
from wfgateway.engine.store.postgres import PostgresStore

from .test_store_contract import exec_row

TENANTS, NAMES, DIALECTS = ("t1", "t2"), ("orders", "refunds", "sync"), ("conductor", "cognite", None)
STATUSES = ("RUNNING", "COMPLETED", "FAILED", "TERMINATED", "PAUSED")
DAY = 86_400_000
T0 = 20_000 * DAY  # a day's first millisecond
# (created from, created to), inclusive
RANGES = ((T0 + DAY // 2, None), (None, T0 + 3 * DAY + 5), (T0, T0 + 3 * DAY - 1), (T0 + DAY + 7, T0 + DAY + 9_000_000),
          (T0 + 1, T0 + 4 * DAY), (-DAY, T0 + 2 * DAY), (None, -1), (T0 + 2 * DAY, None), (0, T0 + DAY))


def _created(i: int) -> int:
    """Runs over six days, a few on a day's edges, a few before 1970."""
    if i % 17 == 0:
        return -DAY - i if i % 34 else -1 - i // 17
    if i % 11 == 0:
        return T0 + (i % 5) * DAY - (i % 2)  # a day's first millisecond, or the last of the day before
    return T0 + i * DAY // 15


def _filters() -> list[SearchFilter]:
    """Every shape the counts answer: tenant alone, names (one, or Cognite's workflowFilters without a
    version), statuses (one or several), dialect, and their mixtures."""
    out = []
    for tenant in TENANTS:
        for names, statuses, dialect in itertools.product(
                (None, ["orders"], ["orders", "sync"], ["nowhere"]), (None, ["FAILED"], ["COMPLETED", "FAILED"]),
                (None, "conductor", "cognite")):
            if names and len(names) > 1:
                out.append(SearchFilter(tenant, workflows=[(n, None) for n in names], statuses=statuses,
                                        dialect=dialect))
            else:
                out.append(SearchFilter(tenant, name=names[0] if names else None, statuses=statuses,
                                        dialect=dialect))
    return (out + [replace(flt, created_from_ms=low, created_to_ms=high)
                   for i, flt in enumerate(out) for low, high in [RANGES[i % len(RANGES)]]]
            + [SearchFilter(tenant, created_from_ms=low, created_to_ms=high) for tenant in TENANTS for low, high in RANGES])


def _matches(rows: dict[str, dict[str, Any]], flt: SearchFilter) -> int:
    names = {flt.name} if flt.name else {n for n, _ in flt.workflows or ()}
    return sum(1 for r in rows.values() if r["tenant"] == flt.tenant and (not names or r["name"] in names)
               and (not flt.statuses or r["status"] in flt.statuses)
               and (flt.dialect is None or r["dialect"] == flt.dialect)
               and (flt.created_from_ms is None or r["created_ms"] >= flt.created_from_ms)
               and (flt.created_to_ms is None or r["created_ms"] <= flt.created_to_ms))


async def _check(store: Store, rows: dict[str, dict[str, Any]]) -> None:
    for flt in _filters():
        _page, total = await store.exec_search(flt, None, 1, True, True)  # a full page: the total is counted
        assert total == _matches(rows, flt), flt
        assert await store.exec_count(flt) == total, flt  # the exact count (not bounded) agrees


async def _fold(store: Store) -> None:
    if isinstance(store, PostgresStore):
        await store.fold_counts()


async def test_totals_follow_every_change(store_factory: Callable[[], Store]) -> None:
    store = store_factory()
    await store.open()
    try:
        rows: dict[str, dict[str, Any]] = {}
        inserts = []
        for i in range(90):
            row = {"tenant": TENANTS[i % 2], "name": NAMES[i % 3], "dialect": DIALECTS[(i // 3) % 3],
                   "status": STATUSES[i % 5], "created_ms": _created(i)}
            rows[f"e{i}"] = row
            inserts.append(exec_row(f"e{i}", **row))
        await store.commit(Changeset(exec_inserts=inserts))
        await _check(store, rows)
        await _fold(store)
        await _check(store, rows)

        # runs end, are rerun, are paused; one changes twice in one commit (its version is bumped each time)
        moves = [(f"e{i}", "COMPLETED" if i % 2 else "FAILED") for i in range(0, 90, 4)]
        await store.commit(Changeset(exec_updates=[(("status",), (status,), eid, 0) for eid, status in moves]))
        for eid, status in moves:
            rows[eid]["status"] = status
        await _check(store, rows)
        await store.commit(Changeset(exec_updates=[(("status",), ("RUNNING",), "e0", 1),
                                                   (("status",), ("TERMINATED",), "e0", 2)]))
        rows["e0"]["status"] = "TERMINATED"
        await _check(store, rows)
        # a commit that loses its race changes no count
        with pytest.raises(VersionConflict):
            await store.commit(Changeset(exec_updates=[(("status",), ("PAUSED",), "e1", 0),
                                                       (("status",), ("PAUSED",), "e4", 0)]))
        await _check(store, rows)
        await _fold(store)
        await _check(store, rows)
        # an update that does not move the run leaves its counts alone; one that changes its creation
        # time moves it to another day
        await store.commit(Changeset(exec_updates=[(("output",), ('{"ok": true}',), "e2", 0)]))
        await store.commit(Changeset(exec_updates=[(("created_ms",), (T0 + 5 * DAY + 1,), "e7", 0),
                                                   (("created_ms", "status"), (-5, "FAILED"), "e9", 0)]))
        rows["e7"]["created_ms"], rows["e9"]["created_ms"], rows["e9"]["status"] = T0 + 5 * DAY + 1, -5, "FAILED"
        await _check(store, rows)
        await store.commit(Changeset(exec_deletes=[("e3", 0), ("e5", 0), ("e8", 1)]))
        for eid in ("e3", "e5", "e8"):
            del rows[eid]
        await _check(store, rows)
        await _fold(store)
        await _check(store, rows)
    finally:
        await store.close()


async def test_runs_stored_before_the_counts_existed_are_counted(store_factory: Callable[[], Store]) -> None:
    """A database of an earlier release: the migration counts what it holds, once."""
    store = store_factory()
    await store.open()
    try:
        await store.commit(Changeset(exec_inserts=[
            exec_row(f"old{i}", tenant="t1", name=NAMES[i % 3], status=STATUSES[i % 5], dialect=DIALECTS[i % 3],
                     created_ms=_created(i))
            for i in range(40)]))
        undo = ["DROP TABLE exec_counts", "DROP TABLE exec_counts_daily",
                "DELETE FROM schema_version WHERE namespace = 'exec_counts'"]
        if isinstance(store, PostgresStore):
            undo = ["DROP TABLE exec_count_changes", "DROP TABLE exec_count_day_changes",
                    "DROP FUNCTION executions_count_change() CASCADE", *undo]
        else:
            undo = [f"DROP TRIGGER executions_count_{op}" for op in ("insert", "delete", "update")] + undo
        await store.run_sql([(sql, ()) for sql in undo])
    finally:
        await store.close()
    reopened = store_factory()
    await reopened.open()
    try:
        rows = {r[0]: {"tenant": r[1], "name": r[2], "status": r[3], "dialect": r[4], "created_ms": r[5]}
                for r in await reopened.fetch_sql(
                    "SELECT id, tenant, name, status, dialect, created_ms FROM executions")}
        assert len(rows) == 40
        await _check(reopened, rows)
        await reopened.commit(Changeset(exec_inserts=[exec_row("new", tenant="t1", name="orders", status="FAILED",
                                                               dialect="conductor", created_ms=T0 + DAY)]))
        rows["new"] = {"tenant": "t1", "name": "orders", "status": "FAILED", "dialect": "conductor",
                       "created_ms": T0 + DAY}
        await _check(reopened, rows)
    finally:
        await reopened.close()


@pytest.mark.postgres
async def test_replicas_writing_and_folding_at_once_keep_totals_exact(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two gateway replicas on one PostgreSQL database commit runs and status changes concurrently while
    both fold the pending changes: no change is lost or folded twice, and no writer waits on a count."""
    from .conftest import make_store
    from .pg import release_schema

    one, two = make_store("postgres", tmp_path), make_store("postgres", tmp_path)
    await one.open()
    await two.open()
    try:
        rows: dict[str, dict[str, Any]] = {}

        async def writer(store: Store, prefix: str) -> None:
            for i in range(60):
                eid, row = f"{prefix}{i}", {"tenant": "t1", "name": NAMES[i % 3], "dialect": "conductor",
                                            "status": "RUNNING", "created_ms": _created(i)}
                await store.commit(Changeset(exec_inserts=[exec_row(eid, **row)]))
                rows[eid] = row
                await store.commit(Changeset(exec_updates=[(("status",), (STATUSES[1 + i % 4],), eid, 0)]))
                rows[eid] = {**row, "status": STATUSES[1 + i % 4]}

        async def folder(store: Store) -> None:
            for _ in range(40):
                await _fold(store)
                await asyncio.sleep(0.005)

        await asyncio.gather(writer(one, "a"), writer(two, "b"), folder(one), folder(two))
        await _check(one, rows)
        await _fold(two)
        await _check(one, rows)
        await _check(two, rows)
    finally:
        await one.close()
        await two.close()
        release_schema(tmp_path)
