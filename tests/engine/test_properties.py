"""Property tests on random DAGs: reruns and retries touch exactly what they should; history only grows."""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wfgateway.core.model import WORKER, RetryPolicy
from wfgateway.core.statuses import ExecutionStatus as ES
from wfgateway.core.statuses import TaskStatus as TS
from wfgateway.engine.graph import Graph

from .helpers import TENANT, by_ref, definition, spec

SETTINGS = settings(max_examples=30, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@st.composite
def dags(draw: st.DrawFn) -> list[list[int]]:
    """deps[i] lists the earlier tasks task i depends on (so the graph is acyclic)."""
    n = draw(st.integers(2, 7))
    return [sorted(draw(st.sets(st.integers(0, i - 1), max_size=min(i, 3)))) if i else [] for i in range(n)]


async def _start(engine, deps):
    name = f"prop-{uuid.uuid4().hex[:8]}"
    tasks = [spec(f"t{i}", WORKER, *[f"t{d}" for d in ds], name=f"{name}-t{i}") for i, ds in enumerate(deps)]
    d = definition(name, *tasks)
    await engine.put_definition(d)
    return await engine.start(TENANT, name, None, {}), Graph(d.tasks)


async def _drive(engine, eid, *, tag, fail=frozenset(), limit=100):
    """Complete open tasks one at a time (oldest first) until the execution ends; fail those in ``fail``."""
    for _ in range(limit):
        e = await engine.get(eid)
        if e.status.terminal:
            return e
        open_ = sorted((t for t in e.tasks if not t.status.terminal), key=lambda t: t.seq)
        assert open_, f"execution is {e.status} with nothing left to run"
        t = open_[0]
        if t.ref in fail:
            await engine.complete_task(t.id, TS.FAILED, reason="planned failure")
        else:
            await engine.complete_task(t.id, TS.COMPLETED, output={"ref": t.ref, "tag": tag})
    raise AssertionError("execution did not end")


async def _history(engine, eid):
    return (await engine.get(eid, include_history=True)).tasks


@SETTINGS
@given(deps=dags(), data=st.data())
async def test_rerun_from_a_task_reruns_exactly_it_and_its_descendants(engine, deps, data):
    e, graph = await _start(engine, deps)
    done = await _drive(engine, e.id, tag=1)
    assert done.status is ES.COMPLETED
    before = by_ref(done)
    history_before = await _history(engine, e.id)
    target = data.draw(st.sampled_from(sorted(before)))
    again = {target} | graph.descendants([target])
    await engine.rerun(e.id, from_task_id=before[target].id)
    after = await _drive(engine, e.id, tag=2)
    assert after.status is ES.COMPLETED
    now = by_ref(after)
    assert set(now) == set(before)
    for ref, t in now.items():
        if ref in again:
            assert t.output["tag"] == 2, ref
        else:
            assert t.id == before[ref].id and t.output["tag"] == 1, ref  # upstream and unrelated tasks untouched
    assert now[target].id == before[target].id  # the rerun-from task keeps its public id
    history = await _history(engine, e.id)
    assert len(history) == len(history_before) + len(again)
    hidden = [t for t in history if not t.visible]
    assert sorted(t.ref for t in hidden) == sorted(again)


@SETTINGS
@given(deps=dags(), data=st.data())
async def test_retry_reattempts_exactly_the_failed_and_canceled(engine, deps, data):
    e, graph = await _start(engine, deps)
    refs = [f"t{i}" for i in range(len(deps))]
    failing = data.draw(st.sets(st.sampled_from(refs), min_size=1, max_size=2))
    failed = await _drive(engine, e.id, tag=1, fail=failing)
    assert failed.status is ES.FAILED
    before = by_ref(failed)
    history_before = await _history(engine, e.id)
    unsuccessful = {r for r, t in before.items() if t.status in (TS.FAILED, TS.CANCELED)}
    assert unsuccessful & failing
    retried = await engine.retry(e.id, RetryPolicy())
    assert retried.status is ES.RUNNING
    done = await _drive(engine, e.id, tag=2)
    assert done.status is ES.COMPLETED
    history = await _history(engine, e.id)
    by_id = {t.id: t for t in history}
    assert {t.id for t in history_before} <= set(by_id)  # nothing lost
    for t in history_before:  # finished attempts are never rewritten
        if t.status.terminal:
            assert by_id[t.id].status is t.status and by_id[t.id].output == t.output
    now = by_ref(done)
    for ref, t in now.items():
        if ref in unsuccessful:
            assert t.retried_from == before[ref].id and t.attempt == before[ref].attempt + 1, ref
            assert by_id[before[ref].id].retried
        elif ref in before:
            assert t.id == before[ref].id, ref  # completed tasks are not re-attempted
        else:
            assert t.attempt == 0 and t.retried_from is None  # never scheduled before: a first attempt
    assert all(t.visible for t in history)  # a retry supersedes nothing


OPS = st.lists(st.sampled_from(["rerun_start", "rerun_task", "retry", "restart", "fail_run", "ok_run"]),
               min_size=1, max_size=5)


@SETTINGS
@given(deps=dags(), ops=OPS, data=st.data())
async def test_attempt_rows_only_grow(engine, deps, ops, data):
    e, _ = await _start(engine, deps)
    refs = [f"t{i}" for i in range(len(deps))]
    seen: dict[str, int] = {}
    await _drive(engine, e.id, tag=0)
    for n, op in enumerate(ops):
        cur = await engine.get(e.id)
        try:
            if op == "rerun_start":
                await engine.rerun(e.id)
            elif op == "rerun_task":
                await engine.rerun(e.id, from_task_id=data.draw(st.sampled_from(sorted(t.id for t in cur.tasks))))
            elif op == "retry":
                await engine.retry(e.id, RetryPolicy())
            elif op == "restart":
                await engine.restart(e.id)
        except Exception as exc:  # refused operations are fine; they must not change anything
            assert type(exc).__name__ in ("Conflict",), exc
        fail = {data.draw(st.sampled_from(refs))} if op == "fail_run" else set()
        if not (await engine.get(e.id)).status.terminal:
            await _drive(engine, e.id, tag=n + 1, fail=fail)
        history = await _history(engine, e.id)
        counts: dict[str, int] = {}
        for t in history:
            counts[t.id] = counts.get(t.id, 0) + 1
        for tid, k in seen.items():
            assert counts.get(tid, 0) >= k, f"attempt {tid} lost after {op}"
        seen = counts
