"""Rerun, retry, restart and clone: every vendor's rules expressed on the engine."""

from __future__ import annotations

import pytest

from wfgateway.core.errors import Conflict, InvalidArgument, NotFound
from wfgateway.core.model import DYNAMIC, NOOP, SUBWORKFLOW, WORKER, RetryPolicy, TaskSpec
from wfgateway.core.statuses import ExecutionStatus as ES
from wfgateway.core.statuses import TaskStatus as TS

from .helpers import by_ref, definition, run, spec, statuses, work

CHAIN = [spec("a", WORKER, name="wa"), spec("b", WORKER, "a", name="wb", input={"from_a": "${a.output.v}"}),
         spec("c", WORKER, "b", name="wc")]


async def _chain_done(engine, name="chain"):
    e = await run(engine, name, *CHAIN)
    await work(engine, "wa", {"v": 1})
    await work(engine, "wb", {"v": 2})
    await work(engine, "wc", {"v": 3})
    return await engine.wait_until(e.id, [ES.COMPLETED], 3)


async def test_rerun_from_a_task_keeps_its_id_and_upstream(engine):
    e = await _chain_done(engine)
    old = by_ref(e)
    e2 = await engine.rerun(e.id, from_task_id=old["b"].id, task_input={"custom": True})
    assert e2.id == e.id and e2.status is ES.RUNNING
    now = by_ref(e2)
    assert now["a"].id == old["a"].id and now["a"].output == {"v": 1}
    assert now["b"].id == old["b"].id  # Conductor: the rerun-from task keeps its id
    assert now["b"].status is TS.SCHEDULED and now["b"].input == {"custom": True}
    assert "c" not in now
    hist = await engine.get(e.id, include_history=True)
    hidden = [t for t in hist.tasks if not t.visible]
    assert {t.ref for t in hidden} == {"b", "c"}
    assert all(t.status is TS.COMPLETED for t in hidden)
    assert (await engine.get_task(old["b"].id)).status is TS.SCHEDULED  # get_task returns the visible one
    await work(engine, "wb", {"v": 20})
    await work(engine, "wc", {"v": 30})
    e3 = await engine.wait_until(e.id, [ES.COMPLETED], 3)
    assert e3.output == {"v": 30}


async def test_rerun_from_start_replaces_input_and_correlation(engine):
    e = await _chain_done(engine, "chain2")
    e2 = await engine.rerun(e.id, workflow_input={"new": 1}, correlation_id="corr-2")
    assert e2.input == {"new": 1} and e2.correlation_id == "corr-2" and e2.status is ES.RUNNING
    assert statuses(e2) == {"a": "SCHEDULED"}
    assert by_ref(e2)["a"].id != by_ref(e)["a"].id
    hist = await engine.get(e.id, include_history=True)
    assert len(hist.tasks) == 4 and sum(not t.visible for t in hist.tasks) == 3


async def test_rerun_refuses_non_terminal_and_unknown_tasks(engine):
    e = await run(engine, "running", *CHAIN)
    with pytest.raises(Conflict) as err:
        await engine.rerun(e.id)
    assert "RUNNING" in err.value.message
    await work(engine, "wa")
    await work(engine, "wb")
    await work(engine, "wc")
    await engine.wait_until(e.id, [ES.COMPLETED], 3)
    with pytest.raises(InvalidArgument, match="Task nope not found"):
        await engine.rerun(e.id, from_task_id="nope")
    with pytest.raises(NotFound):
        await engine.rerun("no-such-execution")
    with pytest.raises(NotFound):
        await engine.rerun(e.id, tenant="someone-else")


async def test_rerun_from_a_task_inside_a_subworkflow(engine):
    await engine.put_definition(definition("kid", spec("k1", WORKER, name="k1"), spec("k2", WORKER, "k1", name="k2")))
    e = await run(engine, "mom", spec("sub", SUBWORKFLOW, params={"name": "kid"}), spec("after", WORKER, "sub",
                                                                                         name="after"))
    child_id = by_ref(e)["sub"].subworkflow_id
    await work(engine, "k1", {"x": 1})
    await work(engine, "k2", {"x": 2})
    await work(engine, "after")
    e = await engine.wait_until(e.id, [ES.COMPLETED], 3)
    child = await engine.get(child_id)
    k2 = by_ref(child)["k2"]
    e2 = await engine.rerun(e.id, from_task_id=k2.id)
    assert e2.status is ES.RUNNING
    assert statuses(e2) == {"sub": "IN_PROGRESS"}
    assert by_ref(e2)["sub"].subworkflow_id == child_id  # the same child, rerun in place
    child = await engine.get(child_id)
    assert child.status is ES.RUNNING and statuses(child) == {"k1": "COMPLETED", "k2": "SCHEDULED"}
    await work(engine, "k2", {"x": 22})
    await work(engine, "after")
    e3 = await engine.wait_until(e.id, [ES.COMPLETED], 3)
    assert by_ref(e3)["sub"].output == {"x": 22}


async def test_retry_reattempts_failed_and_reschedules_canceled(engine):
    e = await run(engine, "par", spec("a", WORKER, name="pa"), spec("b", WORKER, name="pb"),
                  spec("c", WORKER, "b", name="pc"), spec("d", NOOP, "a", "c"))
    await work(engine, "pb", {})
    await work(engine, "pa", fail="a broke")  # c is running when a fails: it gets canceled
    e = await engine.wait_until(e.id, [ES.FAILED], 3)
    assert statuses(e) == {"a": "FAILED", "b": "COMPLETED", "c": "CANCELED"}
    old = by_ref(e)
    e2 = await engine.retry(e.id, RetryPolicy())
    assert e2.status is ES.RUNNING and e2.id == e.id and e2.reason is None
    now = by_ref(e2)
    assert now["a"].retried_from == old["a"].id and now["a"].attempt == 1 and now["a"].id != old["a"].id
    assert now["c"].retried_from == old["c"].id and now["c"].status is TS.SCHEDULED
    assert now["b"].id == old["b"].id
    retried = {t.id: t.retried for t in e2.tasks}
    assert retried[old["a"].id] and retried[old["c"].id]
    await work(engine, "pa")
    await work(engine, "pc")
    await engine.wait_until(e.id, [ES.COMPLETED], 3)


async def test_retry_refusals(engine):
    e = await run(engine, "ok", spec("a", NOOP))
    with pytest.raises(Conflict) as err:
        await engine.retry(e.id, RetryPolicy())
    assert err.value.details == {"status": "COMPLETED"}
    e = await run(engine, "busy", spec("a", WORKER, name="busy"))
    with pytest.raises(Conflict) as err:
        await engine.retry(e.id, RetryPolicy())
    assert err.value.details == {"status": "RUNNING"}
    e = await run(engine, "opt-only", spec("a", WORKER, name="oo"), spec("o", WORKER, name="oo2", optional=True))
    await engine.terminate(e.id, "stop")
    e2 = await engine.retry(e.id, RetryPolicy(skip_optional=True))  # a is retried, o is not
    assert statuses(e2) == {"a": "SCHEDULED", "o": "COMPLETED_WITH_ERRORS"}  # optional: the workflow goes on
    await work(engine, "oo")
    e3 = await engine.wait_until(e.id, [ES.COMPLETED], 3)
    assert statuses(e3)["o"] == "COMPLETED_WITH_ERRORS"
    e = await run(engine, "only-optional", spec("o", WORKER, name="oo3", optional=True), spec("n", NOOP, "o"))
    await engine.terminate(e.id, "stop")
    with pytest.raises(Conflict) as err:
        await engine.retry(e.id, RetryPolicy(skip_optional=True))
    assert err.value.details["reason"] == "nothing_to_retry"


async def test_retry_gives_exactly_one_extra_attempt_past_the_limit(engine):
    e = await run(engine, "limit", spec("a", WORKER, name="lim", retries=1))
    await work(engine, "lim", fail="1")
    await work(engine, "lim", fail="2")
    e = await engine.wait_until(e.id, [ES.FAILED], 3)
    await engine.retry(e.id, RetryPolicy(extra_attempt_past_limit=True))
    await work(engine, "lim", fail="3")
    e = await engine.wait_until(e.id, [ES.FAILED], 3)
    assert [t.attempt for t in e.tasks] == [0, 1, 2]  # no automatic retry after the extra attempt
    await engine.retry(e.id, RetryPolicy(extra_attempt_past_limit=False))
    await work(engine, "lim", fail="4")
    await work(engine, "lim", fail="5")  # the budget was reset: one automatic retry again
    e = await engine.wait_until(e.id, [ES.FAILED], 3)
    assert [t.attempt for t in e.tasks] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("resume", [True, False])
async def test_retry_inside_a_failed_subworkflow(engine, resume):
    await engine.put_definition(definition("kid2", spec("k1", WORKER, name=f"k1-{resume}"),
                                           spec("k2", WORKER, "k1", name=f"k2-{resume}")))
    e = await run(engine, f"mom2-{resume}", spec("sub", SUBWORKFLOW, params={"name": "kid2"}))
    child_id = by_ref(e)["sub"].subworkflow_id
    await work(engine, f"k1-{resume}", {"keep": 1})
    await work(engine, f"k2-{resume}", fail="kid failed")
    e = await engine.wait_until(e.id, [ES.FAILED], 3)
    old_sub = by_ref(e)["sub"]
    e2 = await engine.retry(e.id, RetryPolicy(resume_subworkflows=resume))
    sub = by_ref(e2)["sub"]
    if resume:
        assert sub.id == old_sub.id and sub.status is TS.IN_PROGRESS and sub.subworkflow_id == child_id
        child = await engine.get(child_id)
        assert child.status is ES.RUNNING
        assert statuses(child) == {"k1": "COMPLETED", "k2": "SCHEDULED"}
        assert by_ref(child)["k2"].attempt == 1
    else:
        assert sub.id != old_sub.id and sub.retried_from == old_sub.id
        assert sub.subworkflow_id != child_id
        assert (await engine.get(child_id)).status is ES.FAILED
        await work(engine, f"k1-{resume}")
    await work(engine, f"k2-{resume}", {"fixed": True})
    e3 = await engine.wait_until(e.id, [ES.COMPLETED], 3)
    assert by_ref(e3)["sub"].output == {"fixed": True}


async def test_retry_of_a_child_directly_resumes_the_parent(engine):
    await engine.put_definition(definition("kid3", spec("k", WORKER, name="k3")))
    e = await run(engine, "mom3", spec("sub", SUBWORKFLOW, params={"name": "kid3"}), spec("after", NOOP, "sub"))
    child_id = by_ref(e)["sub"].subworkflow_id
    await work(engine, "k3", fail="x")
    await engine.wait_until(e.id, [ES.FAILED], 3)
    await engine.retry(child_id, RetryPolicy())
    parent = await engine.get(e.id)
    assert parent.status is ES.RUNNING and statuses(parent) == {"sub": "IN_PROGRESS"}
    await work(engine, "k3")
    e = await engine.wait_until(e.id, [ES.COMPLETED], 3)
    assert statuses(e) == {"sub": "COMPLETED", "after": "COMPLETED"}


def _two(params, spec_, execution):
    return [TaskSpec(ref="x", kind=WORKER, name="dx"), TaskSpec(ref="y", kind=WORKER, name="dy")]


async def test_retry_inside_a_dynamic_task_keeps_the_container(engine):
    engine.register_expander("t", _two)
    e = await run(engine, "dyn-retry", spec("d", DYNAMIC), spec("after", NOOP, "d"), dialect="t")
    await work(engine, "dx", {"x": 1})
    await work(engine, "dy", fail="y failed")
    e = await engine.wait_until(e.id, [ES.FAILED], 3)
    container = by_ref(e)["d"]
    e2 = await engine.retry(e.id, RetryPolicy())
    now = by_ref(e2)
    assert now["d"].id == container.id and now["d"].status is TS.IN_PROGRESS and now["d"].attempt == 0
    assert now["d:x"].status is TS.COMPLETED and now["d:x"].attempt == 0
    assert now["d:y"].status is TS.SCHEDULED and now["d:y"].attempt == 1
    await work(engine, "dy", {"y": 2})
    e3 = await engine.wait_until(e.id, [ES.COMPLETED], 3)
    assert by_ref(e3)["d"].output == {"x": {"x": 1}, "y": {"y": 2}}


async def test_restart_runs_everything_anew(engine):
    e = await _chain_done(engine, "chain3")
    await engine.put_definition(definition("chain3", spec("only", NOOP), version=2))
    e2 = await engine.restart(e.id)
    assert e2.id == e.id and e2.status is ES.RUNNING and statuses(e2) == {"a": "SCHEDULED"}
    await engine.terminate(e.id, "again")
    e3 = await engine.restart(e.id, use_latest_definition=True)
    assert e3.definition_version == 2 and e3.status is ES.COMPLETED
    hist = await engine.get(e.id, include_history=True)
    assert len(hist.tasks) == 5
    with pytest.raises(Conflict):
        await engine.restart((await run(engine, "busy2", spec("w", WORKER, name="nobody"))).id)


async def test_clone_and_resume_from(engine):
    e = await run(engine, "fork", spec("a", WORKER, name="fa"), spec("b", WORKER, "a", name="fb"),
                  spec("c", WORKER, "b", name="fc"), input={"k": 1})
    await work(engine, "fa", {"a": 1})
    await work(engine, "fb", {"b": 2})
    await work(engine, "fc", fail="c broke")
    e = await engine.wait_until(e.id, [ES.FAILED], 3)
    clone = await engine.clone(e.id)
    assert clone.id != e.id and clone.cloned_from == e.id and clone.input == {"k": 1}
    assert statuses(clone) == {"a": "SCHEDULED"}
    resumed = await engine.clone(e.id, resume_from_ref="b")
    assert statuses(resumed) == {"a": "COMPLETED", "b": "COMPLETED", "c": "SCHEDULED"}
    assert by_ref(resumed)["b"].output == {"b": 2}
    assert by_ref(resumed)["b"].id != by_ref(e)["b"].id
    with pytest.raises(Conflict):
        await engine.clone(e.id, resume_from_ref="c")
    with pytest.raises(InvalidArgument):
        await engine.clone(e.id, resume_from_ref="zzz")
    assert (await engine.get(e.id)).status is ES.FAILED  # the original is untouched
    await engine.terminate(clone.id)
    await work(engine, "fc", {"c": 3})
    done = await engine.wait_until(resumed.id, [ES.COMPLETED], 3)
    assert done.output == {"c": 3}


async def test_rerun_from_a_nested_dynamic_task_reopens_the_container(engine):
    engine.register_expander("t", _two)
    e = await run(engine, "dyn-rerun", spec("d", DYNAMIC), spec("after", WORKER, "d", name="dafter"), dialect="t")
    await work(engine, "dx", {"x": 1})
    await work(engine, "dy", {"y": 1})
    await work(engine, "dafter")
    e = await engine.wait_until(e.id, [ES.COMPLETED], 3)
    before = by_ref(e)
    e2 = await engine.rerun(e.id, from_task_id=before["d:y"].id)
    now = by_ref(e2)
    assert now["d"].id == before["d"].id and now["d"].status is TS.IN_PROGRESS
    assert now["d:x"].id == before["d:x"].id and now["d:x"].status is TS.COMPLETED
    assert now["d:y"].id == before["d:y"].id and now["d:y"].status is TS.SCHEDULED
    assert "after" not in now  # downstream of the container runs again later
    await work(engine, "dy", {"y": 2})
    await work(engine, "dafter")
    e3 = await engine.wait_until(e.id, [ES.COMPLETED], 3)
    assert by_ref(e3)["d"].output == {"x": {"x": 1}, "y": {"y": 2}}


async def test_rerun_from_a_subworkflow_task_starts_a_fresh_child(engine):
    await engine.put_definition(definition("kid5", spec("k", WORKER, name="k5")))
    e = await run(engine, "mom5", spec("sub", SUBWORKFLOW, params={"name": "kid5"}))
    first_child = by_ref(e)["sub"].subworkflow_id
    await work(engine, "k5", {"n": 1})
    e = await engine.wait_until(e.id, [ES.COMPLETED], 3)
    e2 = await engine.rerun(e.id, from_task_id=by_ref(e)["sub"].id)
    sub = by_ref(e2)["sub"]
    assert sub.status is TS.IN_PROGRESS and sub.subworkflow_id != first_child
    assert (await engine.get(first_child)).status is ES.COMPLETED  # the old child is kept as it was
    await work(engine, "k5", {"n": 2})
    assert by_ref(await engine.wait_until(e.id, [ES.COMPLETED], 3))["sub"].output == {"n": 2}


async def test_rerun_of_a_failed_parallel_execution_reruns_the_failed_branch_too(engine):
    e = await run(engine, "branches", spec("a", WORKER, name="ba"), spec("b", WORKER, name="bb"),
                  spec("a2", WORKER, "a", name="ba2"), spec("join", NOOP, "a2", "b"))
    await work(engine, "ba", {"a": 1})
    await work(engine, "bb", fail="b broke")
    e = await engine.wait_until(e.id, [ES.FAILED], 3)
    assert statuses(e) == {"a": "COMPLETED", "b": "FAILED", "a2": "CANCELED"}
    e2 = await engine.rerun(e.id, from_task_id=by_ref(e)["a2"].id)
    assert statuses(e2) == {"a": "COMPLETED", "b": "SCHEDULED", "a2": "SCHEDULED"}
    await work(engine, "bb")
    await work(engine, "ba2")
    await engine.wait_until(e.id, [ES.COMPLETED], 3)


async def test_restart_of_a_terminal_child_resumes_its_parent(engine):
    await engine.put_definition(definition("kid6", spec("k", WORKER, name="k6")))
    e = await run(engine, "mom6", spec("sub", SUBWORKFLOW, params={"name": "kid6"}))
    child_id = by_ref(e)["sub"].subworkflow_id
    await engine.terminate(child_id, "stop")
    assert (await engine.get(e.id)).status is ES.FAILED
    await engine.restart(child_id)
    parent = await engine.get(e.id)
    assert parent.status is ES.RUNNING and statuses(parent) == {"sub": "IN_PROGRESS"}
    await work(engine, "k6")
    await engine.wait_until(e.id, [ES.COMPLETED], 3)
