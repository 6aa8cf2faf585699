"""The loop kind: iterations of a body DAG under an adapter's condition evaluator, with retry and rerun."""

from __future__ import annotations

from wfgateway.core.errors import EvaluationFailed
from wfgateway.core.model import ITERATION, LOOP, NOOP, WORKER
from wfgateway.core.statuses import ExecutionStatus as ES
from wfgateway.core.statuses import TaskStatus as TS

from .helpers import TENANT, run, spec


def _times(params, data):
    """Go on while the loop's iteration is below input.times; a negative count is an error."""
    times = data["input"].get("times")
    if times is not None and times < 0:
        raise EvaluationFailed("negative count")
    return data["iteration"] < (times or 0) and data["tasks"]["step"]["n"] == data["iteration"]


def body() -> list:
    return [spec("step", WORKER, name="loopwork", input={"it": "${loop.output.iteration}"}),
            spec("echo", NOOP, "step", input={"n": "${step.output.n}"})]


def visible(e, kind=None):
    return [t for t in e.tasks if t.visible and (kind is None or t.kind == kind)]


async def _loop_flow(engine, name, times, **kw):
    engine.register_evaluator("times", _times)
    return await run(engine, name,
                     spec("loop", LOOP, input={"times": "${workflow.input.times}"},
                          params={"evaluator": "times", **kw}, body=body()),
                     spec("after", NOOP, "loop", input={"last": "${echo.output.n}", "it": "${loop.output.iteration}"}),
                     input={"times": times})


async def _step(engine, fail=None):
    got = await engine.poll(TENANT, "loopwork", worker_id="w", timeout_ms=2000)
    assert got
    t = got[0]
    if fail:
        return await engine.complete_task(t.id, TS.FAILED, reason=fail)
    return await engine.complete_task(t.id, TS.COMPLETED, output={"n": t.input["it"]})


async def test_a_loop_runs_its_body_until_the_condition_says_stop(engine):
    e = await _loop_flow(engine, "loop3", 3)
    for _ in range(3):
        await _step(engine)
    e = await engine.wait_until(e.id, [ES.COMPLETED], 3)
    loop = next(t for t in e.tasks if t.ref == "loop")
    assert loop.status is TS.COMPLETED
    assert loop.output == {"iteration": 3, "1": {"step": {"n": 1}, "echo": {"n": 1}},
                           "2": {"step": {"n": 2}, "echo": {"n": 2}}, "3": {"step": {"n": 3}, "echo": {"n": 3}}}
    steps = [t for t in visible(e) if t.extra.get("local_ref") == "step"]
    assert [(t.extra["iteration"], t.extra["loop_id"], t.input) for t in steps] == [
        (1, loop.id, {"it": 1}), (2, loop.id, {"it": 2}), (3, loop.id, {"it": 3})]
    assert len(visible(e, ITERATION)) == 3
    after = next(t for t in e.tasks if t.ref == "after")
    assert after.input == {"last": 3, "it": 3}  # a loop task's latest output is visible after the loop


async def test_a_failed_iteration_fails_the_loop_and_retry_resumes_that_pass(engine):
    e = await _loop_flow(engine, "loopfail", 3)
    await _step(engine)
    await _step(engine, fail="broke in pass 2")
    e = await engine.wait_until(e.id, [ES.FAILED], 3)
    loop = next(t for t in e.tasks if t.ref == "loop")
    assert loop.status is TS.FAILED and loop.reason == "broke in pass 2" and e.reason == "broke in pass 2"
    assert loop.output["iteration"] == 2 and "1" in loop.output and "2" not in loop.output

    from wfgateway.core.model import RetryPolicy
    e = await engine.retry(e.id, RetryPolicy(resume_subworkflows=True))
    loop_again = next(t for t in e.tasks if t.ref == "loop")
    assert loop_again.id == loop.id and loop_again.status is TS.IN_PROGRESS and loop_again.attempt == 1
    await _step(engine)  # the new attempt of pass 2
    await _step(engine)
    e = await engine.wait_until(e.id, [ES.COMPLETED], 3)
    steps = [t for t in visible(e) if t.extra.get("local_ref") == "step"]
    assert [(t.extra["iteration"], t.status, t.attempt) for t in steps] == [
        (1, TS.COMPLETED, 0), (2, TS.FAILED, 0), (2, TS.COMPLETED, 1), (3, TS.COMPLETED, 0)]
    assert steps[2].retried_from == steps[1].id and steps[1].retried


async def test_rerun_from_a_task_of_an_earlier_pass_drops_the_later_passes(engine):
    e = await _loop_flow(engine, "looprerun", 2)
    for _ in range(2):
        await _step(engine)
    e = await engine.wait_until(e.id, [ES.COMPLETED], 3)
    first_step = next(t for t in visible(e) if t.extra.get("local_ref") == "step" and t.extra["iteration"] == 1)
    e = await engine.rerun(e.id, from_task_id=first_step.id, task_input={"it": 1, "again": True})
    assert [t.extra["iteration"] for t in visible(e, ITERATION)] == [1]
    rerun_step = next(t for t in visible(e) if t.id == first_step.id)
    assert rerun_step.status is TS.SCHEDULED and rerun_step.input == {"it": 1, "again": True}
    for _ in range(2):
        await _step(engine)
    e = await engine.wait_until(e.id, [ES.COMPLETED], 3)
    assert [t.extra["iteration"] for t in visible(e, ITERATION)] == [1, 2]
    assert next(t for t in e.tasks if t.ref == "loop").output["iteration"] == 2


async def test_rerun_from_the_loop_starts_over_at_pass_one(engine):
    e = await _loop_flow(engine, "looprerun2", 1)
    await _step(engine)
    e = await engine.wait_until(e.id, [ES.COMPLETED], 3)
    loop = next(t for t in e.tasks if t.ref == "loop")
    e = await engine.rerun(e.id, from_task_id=loop.id)
    assert [t.extra["iteration"] for t in visible(e, ITERATION)] == [1]
    assert next(t for t in visible(e) if t.ref == "loop").output == {"iteration": 1}
    await _step(engine)
    e = await engine.wait_until(e.id, [ES.COMPLETED], 3)


async def test_condition_errors_and_the_iteration_limit_fail_the_loop(engine):
    e = await _loop_flow(engine, "loopbad", -1)
    await _step(engine)
    e = await engine.wait_until(e.id, [ES.FAILED], 3)
    loop = next(t for t in e.tasks if t.ref == "loop")
    assert loop.status is TS.FAILED_WITH_TERMINAL_ERROR and loop.reason == "negative count"

    engine.register_evaluator("always", lambda params, data: True)
    e = await run(engine, "forever", spec("loop", LOOP, params={"evaluator": "always", "max_iterations": 5},
                                          body=[spec("x", NOOP)]))
    e = await engine.wait_until(e.id, [ES.FAILED], 3)
    assert e.reason == "The loop reached its limit of 5 iterations" and len(visible(e, ITERATION)) == 5
