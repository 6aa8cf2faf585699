"""The Store contract itself, on every store kind: atomic changesets, optimistic versions, one-winner
claims, migrations.  (The engine suite checks behaviour through the engine; these check the promises
the engine relies on, including between two store objects — two processes — on one database.)"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from wfgateway.engine.store.base import (
    ATT_COLS,
    ATT_IDX,
    EXEC_COLS,
    EXEC_IDX,
    Changeset,
    Claim,
    ClaimLost,
    DuplicateKey,
    SearchFilter,
    Store,
    TaskFilter,
    VersionConflict,
)
from wfgateway.engine.store.schema import MIGRATIONS

_EXEC_DEFAULTS: dict[str, Any] = {
    "tenant": "t1", "name": "wf", "def_version": "1", "status": "RUNNING", "input": "{}", "priority": 0,
    "created_ms": 1000, "started_ms": 1000, "ended_ms": 0, "updated_ms": 1000, "last_retried_ms": 0,
    "row_version": 0, "def_hash": "h", "next_seq": 0, "deadline_ms": 0,
}
_ATT_DEFAULTS: dict[str, Any] = {
    "tenant": "t1", "ref": "a", "name": "job", "kind": "worker", "status": "SCHEDULED", "seq": 1, "attempt": 0,
    "input": "{}", "retried": 0, "visible": 1, "poll_count": 0, "scheduled_ms": 1000, "started_ms": 0,
    "ended_ms": 0, "updated_ms": 1000, "lease_until_ms": 0, "callback_after_ms": 0, "retry_base": 0,
    "retry_pending": 0,
}


def exec_row(execution_id: str, **kw: Any) -> tuple[Any, ...]:
    values = {**_EXEC_DEFAULTS, "id": execution_id, **kw}
    return tuple(values.get(c) for c in EXEC_COLS)


def att_row(key: str, execution_id: str, **kw: Any) -> tuple[Any, ...]:
    values = {**_ATT_DEFAULTS, "key": key, "id": key, "execution_id": execution_id, **kw}
    return tuple(values.get(c) for c in ATT_COLS)


@pytest.fixture
async def store(store_factory: Callable[[], Store]) -> AsyncIterator[Store]:
    s = store_factory()
    await s.open()
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
async def other(store_factory: Callable[[], Store], store: Store) -> AsyncIterator[Store]:
    """A second store object on the same database: what another gateway process would hold."""
    s = store_factory()
    await s.open()
    try:
        yield s
    finally:
        await s.close()


async def _seed(store: Store, n_attempts: int = 1) -> str:
    eid = uuid.uuid4().hex
    await store.commit(Changeset(
        exec_inserts=[exec_row(eid)],
        attempt_inserts=[att_row(f"{eid}-{i}", eid, seq=i) for i in range(n_attempts)],
    ))
    return eid


async def test_migrations_are_recorded_and_reopening_applies_nothing_twice(store_factory, store):
    eid = await _seed(store)
    again = store_factory()
    await again.open()  # a second opener (another process starting) finds the schema current
    try:
        row = await again.exec_get(eid)
        assert row is not None and row[EXEC_IDX["status"]] == "RUNNING"
    finally:
        await again.close()
    if hasattr(store, "pool"):
        async with store.pool.connection() as conn:  # type: ignore[attr-defined]
            versions = await (await conn.execute("SELECT namespace, version FROM schema_version")).fetchall()
    else:
        versions = store._conn.execute("SELECT namespace, version FROM schema_version").fetchall()  # type: ignore[attr-defined]
    assert sorted(v for ns, v in versions if ns == "") == list(range(1, len(MIGRATIONS) + 1))
    from wfgateway.engine.store import counts  # the run counts' own ledger, each store's own SQL

    own = counts.PG_MIGRATIONS if hasattr(store, "pool") else counts.SQLITE_MIGRATIONS
    assert sorted(v for ns, v in versions if ns == "exec_counts") == list(range(1, len(own) + 1))


async def test_a_stale_version_rolls_back_the_whole_changeset(store):
    eid = await _seed(store)
    key = f"{eid}-0"
    await store.commit(Changeset(exec_updates=[(("status",), ("PAUSED",), eid, 0)]))
    stale = Changeset(
        exec_updates=[(("status",), ("COMPLETED",), eid, 0)],
        attempt_updates=[(("status",), ("COMPLETED",), key)],
        timer_inserts=[("t-stale", 5, eid, key, "timeout", None)],
        exec_inserts=[exec_row("never-" + eid)],
    )
    with pytest.raises(VersionConflict):
        await store.commit(stale)
    row = await store.exec_get(eid)
    assert row[EXEC_IDX["status"]] == "PAUSED" and row[EXEC_IDX["row_version"]] == 1
    assert (await store.attempt_by_key(key))[ATT_IDX["status"]] == "SCHEDULED"
    assert await store.exec_get("never-" + eid) is None
    assert await store.timers_due(10**12, 100) == []


async def test_two_writers_on_one_version_exactly_one_wins(store, other):
    eid = await _seed(store)

    async def write(s: Store, status: str) -> str:
        try:
            await s.commit(Changeset(exec_updates=[(("status",), (status,), eid, 0)]))
            return status
        except VersionConflict:
            return "conflict"

    results = await asyncio.gather(write(store, "PAUSED"), write(other, "TERMINATED"))
    assert sorted(results).count("conflict") == 1
    winner = next(r for r in results if r != "conflict")
    row = await other.exec_get(eid)
    assert row[EXEC_IDX["status"]] == winner and row[EXEC_IDX["row_version"]] == 1


async def test_a_timer_fires_once_even_when_two_processes_claim_it(store, other):
    eid = await _seed(store)
    await store.commit(Changeset(exec_updates=[((), (), eid, 0)], timer_inserts=[("tm1", 50, eid, None, "wait", None)]))
    assert await store.next_timer_due() == 50
    assert [t[0] for t in await other.timers_due(60, 10)] == ["tm1"]
    await store.commit(Changeset(timer_claims=["tm1"], version_bumps=[eid]))
    with pytest.raises(ClaimLost):
        await other.commit(Changeset(timer_claims=["tm1"], attempt_updates=[(("status",), ("FAILED",), f"{eid}-0")]))
    assert (await store.attempt_by_key(f"{eid}-0"))[ATT_IDX["status"]] == "SCHEDULED"
    assert await store.next_timer_due() is None


async def test_concurrent_claims_of_one_task_have_one_winner(store, other):
    eid = await _seed(store, n_attempts=3)
    keys = [f"{eid}-{i}" for i in range(3)]

    def claims(worker: str) -> list[Claim]:
        return [Claim(key=k, execution_id=eid, expect_status="SCHEDULED",
                      sets={"status": "IN_PROGRESS", "worker_id": worker, "poll_count": 1},
                      timers=[(f"lease-{worker}-{k}", 99, eid, k, "lease", None)]) for k in keys]

    got = await asyncio.gather(*(s.claim(claims(f"w{i}")) for i, s in enumerate([store, other, store, other])))
    claimed = [k for g in got for k in g]
    assert sorted(claimed) == sorted(keys)  # every task claimed, none twice
    for i, g in enumerate(got):
        for k in g:
            assert (await store.attempt_by_key(k))[ATT_IDX["worker_id"]] == f"w{i}"
    assert len(await store.timers_due(100, 100)) == 3  # only the winners' lease timers exist
    row = await store.exec_get(eid)
    assert row[EXEC_IDX["row_version"]] >= 1  # a claim invalidates what a concurrent writer read
    # a claim that expects a worker only matches that worker
    lease_holder = (await store.attempt_by_key(keys[0]))[ATT_IDX["worker_id"]]
    assert await other.claim([Claim(key=keys[0], execution_id=eid, expect_status="IN_PROGRESS",
                                    expect_worker="nobody", sets={"worker_id": "thief"})]) == []
    assert await other.claim([Claim(key=keys[0], execution_id=eid, expect_status="IN_PROGRESS",
                                    expect_worker=lease_holder, sets={"worker_id": "heir"})]) == [keys[0]]


async def test_the_stamp_changes_with_every_write_a_reader_in_another_process_could_miss(store, other):
    """exec_stamp (tenant, created_ms, row_version) is what a kept answer is checked against: every
    kind of write to the execution or one of its attempts, by either store object, changes it."""
    eid = await _seed(store, n_attempts=2)
    seen = [await other.exec_stamp(eid)]
    assert seen[0] == ("t1", 1000, 0)

    async def changed(s: Store) -> None:
        stamp = await s.exec_stamp(eid)
        assert stamp is not None and stamp not in seen, stamp
        seen.append(stamp)

    await store.commit(Changeset(exec_updates=[(("status",), ("PAUSED",), eid, 0)]))  # the run itself
    await changed(other)
    assert await other.claim([Claim(key=f"{eid}-0", execution_id=eid, expect_status="SCHEDULED",
                                    sets={"status": "IN_PROGRESS", "worker_id": "w"})]) == [f"{eid}-0"]  # a poll
    await changed(store)
    version = seen[-1][2]
    await other.commit(Changeset(exec_updates=[((), (), eid, version)],  # an attempt only, as a unit writes it
                                 attempt_updates=[(("status",), ("COMPLETED",), f"{eid}-0")]))
    await changed(store)
    await store.commit(Changeset(timer_claims=[], version_bumps=[eid]))
    await changed(other)
    await other.commit(Changeset(exec_deletes=[(eid, seen[-1][2])]))
    assert await store.exec_stamp(eid) is None and await store.exec_stamp("no-such-" + eid) is None


async def test_crossing_transactions_on_two_executions_never_hang(store, other):
    a, b = await _seed(store), await _seed(store)

    async def hammer(s: Store, first: str, second: str, rounds: int) -> int:
        done = 0
        for _ in range(rounds):
            while True:
                va = (await s.exec_get(first))[EXEC_IDX["row_version"]]
                vb = (await s.exec_get(second))[EXEC_IDX["row_version"]]
                try:
                    await s.commit(Changeset(exec_updates=[(("reason",), ("x",), first, va),
                                                           (("reason",), ("y",), second, vb)],
                                             attempt_updates=[(("poll_count",), (done,), f"{first}-0"),
                                                              (("poll_count",), (done,), f"{second}-0")]))
                    done += 1
                    break
                except VersionConflict:
                    await asyncio.sleep(0)
        return done

    results = await asyncio.wait_for(asyncio.gather(hammer(store, a, b, 15), hammer(other, b, a, 15)), 30)
    assert results == [15, 15]
    assert (await store.exec_get(a))[EXEC_IDX["row_version"]] == 30


async def test_duplicate_execution_ids_and_idempotency_keys_are_refused(store):
    eid = await _seed(store)
    with pytest.raises(DuplicateKey):
        await store.commit(Changeset(exec_inserts=[exec_row(eid)]))
    await store.commit(Changeset(exec_inserts=[exec_row("k1-" + eid, idempotency_key="order-7")]))
    with pytest.raises(DuplicateKey):
        await store.commit(Changeset(exec_inserts=[exec_row("k2-" + eid, idempotency_key="order-7")]))
    assert (await store.exec_by_idempotency("t1", "order-7"))[0] == "k1-" + eid
    await store.commit(Changeset(exec_inserts=[exec_row("k3-" + eid, tenant="t2", idempotency_key="order-7")]))


async def test_definitions_latest_version_overwrite_and_listing(store):
    assert await store.def_put("t1", "wf", "1", 1, "v1", 10, False) == 10
    assert await store.def_put("t1", "wf", "10", 10, "v10", 11, False) == 11
    assert await store.def_put("t1", "wf", "2", 2, "v2", 12, False) == 12
    assert await store.def_put("t1", "wf", "draft", None, "vd", 13, False) == 13
    assert await store.def_get("t1", "wf", None) == "v10"  # numeric versions compare as numbers
    with pytest.raises(DuplicateKey):
        await store.def_put("t1", "wf", "2", 2, "again", 14, False)
    assert await store.def_put("t1", "wf", "2", 2, "v2b", 15, True) == 12  # keeps its creation time
    assert await store.def_get("t1", "wf", "2") == "v2b"
    bodies, total = await store.def_list("t1", "wf", 1, 2)
    assert bodies == ["v10", "v2b"] and total == 4
    assert await store.def_delete("t1", "wf", "draft") == 1
    assert await store.def_delete("t1", "wf", None) == 3
    assert await store.def_get("t1", "wf", None) is None


async def test_search_filters_and_keyset_pages(store):
    ids = []
    for i in range(5):
        eid = f"s{i}-{uuid.uuid4().hex[:6]}"
        ids.append(eid)
        await store.commit(Changeset(exec_inserts=[exec_row(eid, created_ms=100 + i // 2,
                                                            status="COMPLETED" if i % 2 else "FAILED")]))
    flt = SearchFilter(tenant="t1", name="wf")
    rows, total = await store.exec_search(flt, None, 2, True)
    page2, total2 = await store.exec_search(flt, (rows[-1][EXEC_IDX["created_ms"]], rows[-1][0]), 10, True)
    assert total == 5 and total2 == 5  # a short page past a cursor still counts every match
    seen = [r[0] for r in rows + page2]
    assert sorted(seen) == sorted(ids) and len(set(seen)) == 5
    assert [r[EXEC_IDX["created_ms"]] for r in rows + page2] == sorted([100, 100, 101, 101, 102], reverse=True)
    rows, total = await store.exec_search(SearchFilter(tenant="t1", statuses=["COMPLETED"], created_from_ms=100),
                                          None, 10, False)
    assert total == 2 and {r[EXEC_IDX["status"]] for r in rows} == {"COMPLETED"}


async def test_search_skips_by_key_and_matches_any_of_several_workflows(store):
    """exec_search's ``skip`` (Conductor's start) answers what an offset would; ``workflows`` matches
    runs of any (name, version) pair, newest first across them, status sets included."""
    rows = [exec_row(f"k{i:02d}-{uuid.uuid4().hex[:6]}", created_ms=200 + i, name=f"wf{i % 3}",
                     def_version=str(1 + i % 2), status="FAILED" if i % 4 else "COMPLETED") for i in range(12)]
    await store.commit(Changeset(exec_inserts=rows))
    ids = [r[0] for r in rows]
    newest = list(reversed(ids))
    flt = SearchFilter(tenant="t1", created_from_ms=200)
    for skip in (0, 1, 5, 11, 12, 30):
        page, total = await store.exec_search(flt, None, 4, True, True, skip)
        assert ([r[0] for r in page], total) == (newest[skip:skip + 4], 12)
    page, _ = await store.exec_search(flt, None, 3, False, False, 4)
    assert [r[0] for r in page] == ids[4:7]
    both = SearchFilter(tenant="t1", workflows=[("wf0", None), ("wf1", "2")], statuses=["FAILED", "COMPLETED"])
    want = [r[0] for r in reversed(rows) if r[EXEC_IDX["name"]] == "wf0"
            or (r[EXEC_IDX["name"]] == "wf1" and r[EXEC_IDX["def_version"]] == "2")]
    page, total = await store.exec_search(both, None, 20, True)
    assert [r[0] for r in page] == want and total == len(want)
    page, _ = await store.exec_search(both, None, 2, True, False, 1)
    assert [r[0] for r in page] == want[1:3]
    # every match's id, oldest first (Conductor's running workflows); a name holding NUL matches nothing
    assert await store.exec_ids(both) == want[::-1]
    assert await store.exec_ids(SearchFilter(tenant="t1", name="wf1", def_version="2", statuses=["FAILED"])) == [
        r[0] for r in rows if r[EXEC_IDX["name"]] == "wf1" and r[EXEC_IDX["def_version"]] == "2"
        and r[EXEC_IDX["status"]] == "FAILED"]
    assert await store.exec_ids(SearchFilter(tenant="t1", name="wf\x00")) == []


async def test_search_of_many_workflows_and_statuses_pages_each_match_once(store):
    """Cognite's many ``workflowFilters`` x statuses (more branches than a union holds: one join of
    them to their index walks): every page, by key or by skip, newest or oldest first, is what one
    filter over all runs answers, ties of created time included; a workflow asked for in any version
    and in one matches each of its runs once."""
    rows = [exec_row(f"m{i:03d}-{uuid.uuid4().hex[:4]}", created_ms=300 + i // 3, name=f"wf{i % 6}",
                     def_version=str(1 + i % 4), status=("FAILED", "COMPLETED", "RUNNING")[i % 5 % 3])
            for i in range(90)]
    await store.commit(Changeset(exec_inserts=rows))
    workflows: list[tuple[str, str | None]] = [("wf0", None), ("wf0", "3"), ("wf1", "2"), ("wf1", "3"),
                                               ("wf2", None), ("wf3", "1"), ("wf3", "4"), ("gone", None)]
    statuses = ["FAILED", "COMPLETED"]
    want = sorted((r for r in rows if r[EXEC_IDX["status"]] in statuses and any(
        r[EXEC_IDX["name"]] == n and v in (None, r[EXEC_IDX["def_version"]]) for n, v in workflows)),
        key=lambda r: (r[EXEC_IDX["created_ms"]], r[0]), reverse=True)
    want_ids = [r[0] for r in want]
    wf0_ids = [r[0] for r in want if r[EXEC_IDX["name"]] == "wf0"]
    for flt, ids in ((SearchFilter("t1", workflows=workflows, statuses=statuses), want_ids),
                     (SearchFilter("t1", workflows=workflows[:2] * 3, statuses=statuses), wf0_ids)):  # a union
        page, total = await store.exec_search(flt, None, 200, True)
        assert [r[0] for r in page] == ids and total == len(ids)
        paged, cursor = [], None
        while True:
            page, _ = await store.exec_search(flt, cursor, 4, True, False)
            if not page:
                break
            paged += [r[0] for r in page]
            cursor = (page[-1][EXEC_IDX["created_ms"]], page[-1][0])
        assert paged == ids
        page, _ = await store.exec_search(flt, None, 6, False, False, 3)
        assert [r[0] for r in page] == list(reversed(ids))[3:9]
        page, _ = await store.exec_search(flt, None, 5, True, False, 7)
        assert [r[0] for r in page] == ids[7:12]


async def test_search_totals_are_bounded_whether_counted_or_read_off_a_short_page(store):
    """A total (Conductor's totalHits) is min(matches, COUNT_CAP): counted for a full page, read off a
    first page that is not full (a page past ``skip`` matches included), counted again past a cursor."""
    from wfgateway.engine.store.search import COUNT_CAP

    n = COUNT_CAP + 3
    await store.commit(Changeset(exec_inserts=[exec_row(f"b{i:05d}", name="busy", created_ms=10 + i)
                                               for i in range(n)]))
    flt = SearchFilter("t1", name="busy")
    for limit, skip, answered in ((5, 0, 5), (5, COUNT_CAP, 3), (5, n, 0), (5, n + 7, 0), (n + 1, 0, n)):
        page, total = await store.exec_search(flt, None, limit, True, True, skip)
        assert (len(page), total) == (answered, COUNT_CAP), (limit, skip)
    page, total = await store.exec_search(flt, (12, "b00002"), 50, True)
    assert ([r[0] for r in page], total) == (["b00001", "b00000"], COUNT_CAP)
    assert await store.exec_count(flt) == n  # exact, past the bound (Altostrat's paginator)
    assert await store.exec_count(SearchFilter("t1", name="busy", correlation_id="x")) == 0
    few = SearchFilter("t1", name="busy", created_to_ms=14)
    for limit, skip, answered in ((2, 0, 2), (10, 0, 5), (10, 3, 2), (10, 9, 0)):
        page, total = await store.exec_search(few, None, limit, False, True, skip)
        assert (len(page), total) == (answered, 5), (limit, skip)


async def test_poll_candidates_and_recovery_queries(store):
    eid = await _seed(store)
    await store.commit(Changeset(version_bumps=[eid], attempt_inserts=[
        att_row(f"{eid}-later", eid, seq=2, callback_after_ms=5000),
        att_row(f"{eid}-hidden", eid, seq=3, visible=0),
        att_row(f"{eid}-http", eid, seq=4, kind="http", status="IN_PROGRESS"),
        att_row(f"{eid}-gpu", eid, seq=5, extra='{"domain": "gpu", "iteration": 1}'),
        att_row(f"{eid}-plain", eid, seq=6, extra='{"iteration": 1}'),
    ]))
    assert [r[0] for r in await store.poll_candidates("t1", "job", 2000, 10)] == [f"{eid}-0", f"{eid}-plain"]
    assert [r[0] for r in await store.poll_candidates("t1", "job", 6000, 10)] == [
        f"{eid}-0", f"{eid}-later", f"{eid}-plain"]
    # a domain is a queue of its own: only a poll naming it gets its tasks
    assert [r[0] for r in await store.poll_candidates("t1", "job", 2000, 10, "gpu")] == [f"{eid}-gpu"]
    assert await store.poll_candidates("t1", "job", 2000, 10, "cpu") == []
    assert [r[0] for r in await store.attempts_in("http", ["SCHEDULED", "IN_PROGRESS"])] == [f"{eid}-http"]
    assert len(await store.attempts_of(eid, False)) == 5 and len(await store.attempts_of(eid, True)) == 6
    assert await store.attempt_by_id(f"{eid}-hidden") is None


async def test_queue_sizes_count_visible_scheduled_worker_attempts_per_name(store):
    eid = await _seed(store, n_attempts=2)
    await store.commit(Changeset(version_bumps=[eid], attempt_inserts=[
        att_row(f"{eid}-other", eid, seq=5, name="other_job"),
        att_row(f"{eid}-hidden", eid, seq=6, visible=0),
        att_row(f"{eid}-leased", eid, seq=7, status="IN_PROGRESS"),
        att_row(f"{eid}-http", eid, seq=8, kind="http"),
        att_row(f"{eid}-gpu", eid, seq=9, extra='{"domain": "gpu"}'),
        att_row(f"{eid}-gpu-leased", eid, seq=10, status="IN_PROGRESS", extra='{"domain": "gpu"}'),
    ]))
    # each domain is a queue of its own, the queue without one first
    assert [tuple(r) for r in await store.queue_sizes("t1")] == [("job", None, 2), ("job", "gpu", 1),
                                                                ("other_job", None, 1)]
    assert [tuple(r) for r in await store.queue_leased("t1")] == [("job", None, 1), ("job", "gpu", 1)]
    assert list(await store.queue_sizes("t2")) == []


async def test_hide_all_supersedes_every_visible_attempt_of_that_execution_only(store):
    assert getattr(store, "supports_hide_all", False)
    eid, other = await _seed(store, n_attempts=3), await _seed(store, n_attempts=2)
    await store.commit(Changeset(attempt_updates=[(("retry_pending",), (1,), f"{eid}-1")], version_bumps=[eid]))
    await store.commit(Changeset(
        exec_updates=[(("status",), ("RUNNING",), eid, 1)], hide_all=[eid],
        attempt_inserts=[att_row(f"{eid}-new", eid, seq=9)],
    ))
    rows = await store.attempts_of(eid, True)
    assert [(r[0], r[ATT_IDX["visible"]], r[ATT_IDX["retry_pending"]]) for r in rows] == [
        (f"{eid}-0", 0, 0), (f"{eid}-1", 0, 0), (f"{eid}-2", 0, 0), (f"{eid}-new", 1, 0)]
    assert len(await store.attempts_of(other, False)) == 2


@pytest.mark.postgres
async def test_a_call_cancelled_while_waiting_for_a_pooled_connection_is_cancelled(pg_schema):
    """Python 3.11's wait_for (used by the pool's queue) can drop a cancellation that arrives just as
    a connection is handed over; the store must still end the call with CancelledError, or an engine's
    stop() waits forever for its timer loop."""
    from .pg import pg_store

    store = pg_store(pg_schema, pool_size=1)
    await store.open()
    try:
        lost = []
        for steps in range(40):
            release = asyncio.Event()

            async def hold(release: asyncio.Event) -> None:
                async with store._conn():  # type: ignore[attr-defined]
                    await release.wait()

            holder = asyncio.ensure_future(hold(release))
            await asyncio.sleep(0.005)
            waiter = asyncio.ensure_future(store.next_timer_due())  # queues for the only connection
            await asyncio.sleep(0.005)
            release.set()
            for _ in range(steps % 20):
                await asyncio.sleep(0)
            accepted = waiter.cancel()
            try:
                await waiter
                if accepted:
                    lost.append(steps)
            except asyncio.CancelledError:
                pass
            await holder
        assert lost == []
    finally:
        await store.close()


async def test_task_search_pages_the_tenants_visible_attempts_in_order(store):
    """Store.task_search: one tenant, visible attempts only, each filter, keyset pages in both orders."""
    eid, other_eid = uuid.uuid4().hex, uuid.uuid4().hex
    await store.commit(Changeset(
        exec_inserts=[exec_row(eid), exec_row(other_eid, tenant="t2")],
        attempt_inserts=[
            att_row(f"{eid}-a", eid, name="charge", status="FAILED", scheduled_ms=1001),
            att_row(f"{eid}-b", eid, name="charge", status="COMPLETED", scheduled_ms=1002, seq=2),
            att_row(f"{eid}-c", eid, name="ship", status="TIMED_OUT", scheduled_ms=1003, seq=3),
            att_row(f"{eid}-d", eid, name="charge", status="FAILED", scheduled_ms=1000, seq=4, visible=0),
            att_row(f"{other_eid}-a", other_eid, tenant="t2", name="charge", status="FAILED", scheduled_ms=1001),
        ],
    ))
    key = ATT_IDX["key"]

    async def keys(flt: TaskFilter, newest_first: bool = True, limit: int = 10) -> tuple[list[str], int | None]:
        rows, total = await store.task_search(flt, None, limit, newest_first)
        return [r[key] for r in rows], total

    assert await keys(TaskFilter("t1")) == ([f"{eid}-c", f"{eid}-b", f"{eid}-a"], 3)
    assert await keys(TaskFilter("t1", name="charge"), newest_first=False) == ([f"{eid}-a", f"{eid}-b"], 2)
    assert await keys(TaskFilter("t1", statuses=["FAILED", "TIMED_OUT"])) == ([f"{eid}-c", f"{eid}-a"], 2)
    assert await keys(TaskFilter("t1", task_ids=[f"{eid}-b"])) == ([f"{eid}-b"], 1)
    assert await keys(TaskFilter("t1", execution_ids=[other_eid])) == ([], 0)  # another tenant's run
    assert await keys(TaskFilter("t1", scheduled_from_ms=1002, scheduled_to_ms=1002)) == ([f"{eid}-b"], 1)
    first, _ = await store.task_search(TaskFilter("t1"), None, 2, True, False)
    rest, total = await store.task_search(TaskFilter("t1"), (first[-1][ATT_IDX["scheduled_ms"]], first[-1][key]),
                                          2, True, False)
    assert total is None and [r[key] for r in rest] == [f"{eid}-a"]


async def test_queue_sizes_and_leased_count_visible_worker_attempts_of_the_tenant(store):
    eid = uuid.uuid4().hex
    await store.commit(Changeset(exec_inserts=[exec_row(eid)], attempt_inserts=[
        att_row(f"{eid}-a", eid, name="encode"), att_row(f"{eid}-b", eid, name="encode", status="IN_PROGRESS", seq=2),
        att_row(f"{eid}-c", eid, name="encode", status="IN_PROGRESS", seq=3, visible=0),
        att_row(f"{eid}-d", eid, name="call", kind="http", status="IN_PROGRESS", seq=4),
        att_row(f"{eid}-e", eid, name="encode", status="IN_PROGRESS", seq=5, tenant="t2"),
    ]))
    assert [tuple(r) for r in await store.queue_sizes("t1")] == [("encode", None, 1)]
    assert [tuple(r) for r in await store.queue_leased("t1")] == [("encode", None, 1)]
