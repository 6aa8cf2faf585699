"""Removing an execution (Backend.delete_execution) on every store kind: everything keyed by the execution
goes in one transaction, linked executions stay and are settled, and a removal racing a task result or a
timer never leaves half of either behind."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from wfgateway.core.errors import NotFound
from wfgateway.core.model import SUBWORKFLOW, WAIT, WORKER
from wfgateway.core.statuses import ExecutionStatus as ES
from wfgateway.core.statuses import TaskStatus as TS
from wfgateway.engine.store.base import ATT_COLS, EXEC_COLS, Changeset, Store, VersionConflict

from .helpers import TENANT, by_ref, definition, run, spec

FAR = 2**62  # a "now" past every timer


async def leftovers(store: Store, execution_id: str) -> dict[str, Any]:
    """Whatever the store still holds for ``execution_id``: nothing at all once it is removed."""
    timers = [t for t in await store.timers_due(FAR, 100_000) if t[2] == execution_id]
    return {k: v for k, v in {
        "execution": await store.exec_get(execution_id),
        "attempts": await store.attempts_of(execution_id, include_hidden=True),
        "timers": timers,
    }.items() if v}


# -- the store contract ------------------------------------------------------------------------------
def _exec_row(eid: str, **kw: Any) -> tuple[Any, ...]:
    values = {"id": eid, "tenant": "t1", "name": "wf", "def_version": "1", "status": "RUNNING", "input": "{}",
              "priority": 0, "created_ms": 1000, "started_ms": 1000, "ended_ms": 0, "updated_ms": 1000,
              "last_retried_ms": 0, "row_version": 0, "def_hash": "h", "next_seq": 0, "deadline_ms": 0, **kw}
    return tuple(values.get(c) for c in EXEC_COLS)


def _att_row(key: str, eid: str, **kw: Any) -> tuple[Any, ...]:
    values = {"key": key, "id": key, "execution_id": eid, "tenant": "t1", "ref": "a", "name": "job",
              "kind": "worker", "status": "SCHEDULED", "seq": 1, "attempt": 0, "input": "{}", "retried": 0,
              "visible": 1, "poll_count": 0, "scheduled_ms": 1000, "started_ms": 0, "ended_ms": 0,
              "updated_ms": 1000, "lease_until_ms": 0, "callback_after_ms": 0, "retry_base": 0,
              "retry_pending": 0, "logs": '[{"message": "hi"}]', **kw}
    return tuple(values.get(c) for c in ATT_COLS)


@pytest.fixture
async def store(store_factory: Callable[[], Store]) -> AsyncIterator[Store]:
    s = store_factory()
    await s.open()
    try:
        yield s
    finally:
        await s.close()


async def _seed(store: Store) -> str:
    eid = uuid.uuid4().hex
    await store.commit(Changeset(
        exec_inserts=[_exec_row(eid)],
        attempt_inserts=[_att_row(f"{eid}-0", eid), _att_row(f"{eid}-1", eid, visible=0, status="FAILED")],
        timer_inserts=[(uuid.uuid4().hex, 5000, eid, f"{eid}-0", "lease", None),
                       (uuid.uuid4().hex, 9000, eid, None, "exec_timeout", None)],
    ))
    return eid


async def test_a_removal_takes_the_execution_its_attempts_and_timers_and_nothing_else(store):
    gone, kept = await _seed(store), await _seed(store)
    await store.commit(Changeset(exec_deletes=[(gone, 0)]))
    assert await leftovers(store, gone) == {}
    assert await store.attempt_by_id(f"{gone}-0") is None
    queued = await store.poll_candidates("t1", "job", FAR, 10)
    assert {r[ATT_COLS.index("execution_id")] for r in queued} == {kept}
    left = await leftovers(store, kept)
    assert left["execution"] is not None and len(left["attempts"]) == 2 and len(left["timers"]) == 2


async def test_a_removal_at_a_stale_version_rolls_back_and_removes_nothing(store):
    eid = await _seed(store)
    other = await _seed(store)
    with pytest.raises(VersionConflict):
        await store.commit(Changeset(exec_deletes=[(other, 0), (eid, 7)]))
    for each in (eid, other):
        left = await leftovers(store, each)
        assert left["execution"] is not None and len(left["attempts"]) == 2 and len(left["timers"]) == 2


# -- through the engine ------------------------------------------------------------------------------
async def test_a_running_execution_is_removed_with_its_history_logs_leases_and_timeouts(engine):
    e = await run(engine, "rm_run", spec("w", WORKER, name="rm-job", timeout_ms=60_000), timeout_ms=600_000)
    leased = (await engine.poll(TENANT, "rm-job", worker_id="w1"))[0]
    await engine.add_task_log(leased.id, "halfway")
    assert set(await leftovers(engine.store, e.id)) == {"execution", "attempts", "timers"}

    await engine.delete_execution(e.id, tenant=TENANT)

    assert await leftovers(engine.store, e.id) == {}
    with pytest.raises(NotFound):
        await engine.get(e.id)
    with pytest.raises(NotFound):
        await engine.get_task(leased.id)
    with pytest.raises(NotFound):  # the worker that held the lease reports too late
        await engine.complete_task(leased.id, TS.COMPLETED, output={"x": 1})
    with pytest.raises(NotFound):
        await engine.delete_execution(e.id)
    assert e.id not in {x.id for x in (await engine.search(TENANT, name="rm_run")).items}


async def test_a_finished_execution_with_superseded_attempts_is_removed_whole(engine):
    e = await run(engine, "rm_done", spec("w", WORKER, name="rm-done-job"))
    got = (await engine.poll(TENANT, "rm-done-job", worker_id="w1"))[0]
    await engine.complete_task(got.id, TS.FAILED, reason="boom")
    await engine.wait_until(e.id, [ES.FAILED], 3)
    await engine.rerun(e.id)  # the failed attempt becomes history
    got = (await engine.poll(TENANT, "rm-done-job", worker_id="w1", timeout_ms=2000))[0]
    await engine.complete_task(got.id, TS.COMPLETED)
    done = await engine.wait_until(e.id, [ES.COMPLETED], 3, include_history=True)
    assert len(done.tasks) == 2
    await engine.delete_execution(e.id)
    assert await leftovers(engine.store, e.id) == {}


async def test_unknown_ids_and_other_tenants_are_not_found(engine):
    e = await run(engine, "rm_tenant", spec("w", WAIT))
    with pytest.raises(NotFound):
        await engine.delete_execution("no-such-execution")
    with pytest.raises(NotFound):
        await engine.delete_execution(e.id, tenant="another-tenant")
    assert (await engine.get(e.id)).status is ES.RUNNING


async def test_removing_a_running_parent_terminates_its_children_and_keeps_them(engine):
    await engine.put_definition(definition("rm_child", spec("cw", WORKER, name="rm-child-job")))
    parent = await run(engine, "rm_parent", spec("sub", SUBWORKFLOW, params={"name": "rm_child"}))
    child_id = by_ref(parent)["sub"].subworkflow_id

    await engine.delete_execution(parent.id)

    assert await leftovers(engine.store, parent.id) == {}
    child = await engine.get(child_id)
    assert child.status is ES.TERMINATED and child.parent_execution_id == parent.id
    assert [str(t.status) for t in child.tasks] == ["CANCELED"]
    assert await engine.poll(TENANT, "rm-child-job") == []
    await engine.delete_execution(child_id)  # a child is removed by its own id
    assert await leftovers(engine.store, child_id) == {}


async def test_removing_a_running_child_settles_the_parent_waiting_for_it(engine):
    await engine.put_definition(definition("rm_child2", spec("cw", WORKER, name="rm-child2-job")))
    parent = await run(engine, "rm_parent2", spec("sub", SUBWORKFLOW, params={"name": "rm_child2"}))
    child_id = by_ref(parent)["sub"].subworkflow_id

    await engine.delete_execution(child_id)

    assert await leftovers(engine.store, child_id) == {}
    after = await engine.get(parent.id)  # settled in the same transaction, not waiting forever
    assert by_ref(after)["sub"].status is TS.CANCELED and after.status is ES.FAILED


async def test_removing_a_finished_child_leaves_its_finished_parent_alone(engine):
    await engine.put_definition(definition("rm_child3", spec("cw", WAIT)))
    parent = await run(engine, "rm_parent3", spec("sub", SUBWORKFLOW, params={"name": "rm_child3"}))
    child_id = by_ref(parent)["sub"].subworkflow_id
    await engine.complete_task(by_ref(await engine.get(child_id))["cw"].id, TS.COMPLETED, output={"v": 1})
    done = await engine.wait_until(parent.id, [ES.COMPLETED], 3)
    await engine.delete_execution(child_id)
    again = await engine.get(parent.id)
    assert again.status is ES.COMPLETED and again.version == done.version
    assert by_ref(again)["sub"].output == {"v": 1}


async def _race(first: Callable[[], Any], second: Callable[[], Any]) -> list[Any]:
    return await asyncio.gather(first(), second(), return_exceptions=True)


async def test_a_removal_racing_task_results_leaves_no_half_written_rows(make_engine):
    """Two engines on one database (two gateway processes): one removes executions while the other
    reports their tasks' results.  Each execution ends either wholly gone or, never, partly there."""
    remover, worker = make_engine(), make_engine()
    await remover.startup()
    await worker.startup()
    try:
        await worker.put_definition(definition("rm_race", spec("a", WORKER, name="rm-race-job"),
                                               spec("b", WORKER, "a", name="rm-race-next")))
        ids = [(await worker.start(TENANT, "rm_race", None, {})).id for _ in range(12)]
        leased = await worker.poll(TENANT, "rm-race-job", worker_id="w", count=12, timeout_ms=2000)
        assert len(leased) == 12
        results = []
        for task in leased:
            results += await _race(
                lambda t=task: worker.complete_task(t.id, TS.COMPLETED, output={"n": 1}),
                lambda t=task: remover.delete_execution(t.execution_id),
            )
        completions, removals = results[0::2], results[1::2]
        assert all(r is None for r in removals), removals
        assert all(isinstance(c, NotFound) or c.status is TS.COMPLETED for c in completions), completions
        for eid in ids:
            assert await leftovers(remover.store, eid) == {}
            assert await leftovers(worker.store, eid) == {}
        assert await worker.poll(TENANT, "rm-race-next", timeout_ms=0) == []  # no orphaned next task queued
    finally:
        await worker.stop()
        await remover.stop()


async def test_a_removal_racing_a_firing_timer_leaves_no_half_written_rows(make_engine):
    remover, waker = make_engine(), make_engine()
    await remover.startup()
    await waker.startup()
    try:
        await waker.put_definition(definition("rm_timer", spec("w", WAIT, params={"duration_ms": 30}),
                                              spec("after", WORKER, "w", name="rm-timer-next")))
        ids = [(await waker.start(TENANT, "rm_timer", None, {})).id for _ in range(10)]
        await asyncio.sleep(0.03)
        removals = await asyncio.gather(*(remover.delete_execution(eid) for eid in ids), return_exceptions=True)
        assert all(r is None for r in removals), removals
        await asyncio.sleep(0.2)  # both timer loops have fired (or found nothing to fire) by now
        for eid in ids:
            assert await leftovers(remover.store, eid) == {}
        assert await waker.poll(TENANT, "rm-timer-next", timeout_ms=0) == []
    finally:
        await waker.stop()
        await remover.stop()
