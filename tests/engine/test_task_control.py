"""TaskControl: a task skipped on request lets the run go on past it (after its own upstream), stays
dead on a branch that is not taken; a reset of callbacks makes a delayed worker task pollable now;
variables set from outside reach the tasks that run after them."""

from __future__ import annotations

import pytest

from wfgateway.core.errors import Conflict
from wfgateway.core.model import NOOP, SKIPPED_ON_REQUEST, SWITCH, WAIT, WORKER
from wfgateway.core.statuses import ExecutionStatus as ES
from wfgateway.core.statuses import TaskStatus as TS

from .helpers import TENANT, by_ref, run, spec, statuses


async def test_a_skipped_task_passes_on_once_its_upstream_finished(engine):
    e = await run(engine, "skip-chain", spec("a", WAIT), spec("b", WORKER, "a", name="b_job"), spec("c", NOOP, "b"))
    await engine.skip_task(e.id, "b", tenant=TENANT, output={"note": "skipped"})
    e = await engine.get(e.id)
    assert statuses(e) == {"a": "IN_PROGRESS", "b": "SKIPPED"}  # c waits for a
    assert by_ref(e)["b"].extra.get(SKIPPED_ON_REQUEST) and by_ref(e)["b"].output == {"note": "skipped"}
    with pytest.raises(Conflict) as err:
        await engine.skip_task(e.id, "a", tenant=TENANT)
    assert err.value.details["reason"] == "already_processed"
    with pytest.raises(Conflict) as err:
        await engine.skip_task(e.id, "ghost", tenant=TENANT)
    assert err.value.details["reason"] == "unknown_ref"
    await engine.complete_task(by_ref(e)["a"].id, TS.COMPLETED)
    e = await engine.wait_until(e.id, ES.COMPLETED)
    assert statuses(e) == {"a": "COMPLETED", "b": "SKIPPED", "c": "COMPLETED"}
    assert await engine.poll(TENANT, "b_job") == []
    with pytest.raises(Conflict) as err:
        await engine.skip_task(e.id, "c", tenant=TENANT)
    assert err.value.details["reason"] == "not_running"


async def test_a_skip_on_a_branch_not_taken_stays_dead(engine):
    e = await run(
        engine, "skip-switch", spec("gate", WAIT),
        spec("sw", SWITCH, "gate", params={"value": "${workflow.input.size}", "cases": ["big"]}),
        spec("big", WAIT, ("sw", "big")), spec("big2", NOOP, "big"),
        spec("small", NOOP, ("sw", "default")), spec("join", NOOP, "big2", "small"), input={"size": "tiny"})
    await engine.skip_task(e.id, "big", tenant=TENANT)
    await engine.complete_task(by_ref(e)["gate"].id, TS.COMPLETED)
    e = await engine.wait_until(e.id, ES.COMPLETED)
    s = statuses(e)
    assert (s["big"], s["big2"], s["small"], s["join"]) == ("SKIPPED", "SKIPPED", "COMPLETED", "COMPLETED")
    assert not by_ref(e)["big2"].extra.get(SKIPPED_ON_REQUEST)


async def test_reset_callbacks_makes_a_delayed_worker_task_pollable(engine):
    e = await run(engine, "cb", spec("w", WORKER, name="cb_job"))
    [task] = await engine.poll(TENANT, "cb_job", worker_id="w1")
    await engine.complete_task(task.id, TS.IN_PROGRESS, callback_after_ms=3_600_000)
    assert await engine.poll(TENANT, "cb_job") == []
    assert await engine.reset_callbacks(e.id, tenant=TENANT) == [task.id]
    [again] = await engine.poll(TENANT, "cb_job", worker_id="w1")
    assert again.id == task.id
    await engine.complete_task(task.id, TS.COMPLETED)
    await engine.wait_until(e.id, ES.COMPLETED)
    with pytest.raises(Conflict):
        await engine.reset_callbacks(e.id, tenant=TENANT)


async def test_set_variables_reaches_the_tasks_that_run_after_it(engine):
    e = await run(
        engine, "vars", spec("gate", WAIT),
        spec("sw", SWITCH, "gate", params={"value": "${workflow.variables.route}", "cases": ["fast"]}),
        spec("fast", NOOP, ("sw", "fast")), spec("slow", NOOP, ("sw", "default")))
    changed = await engine.set_variables(e.id, {"route": "fast", "n": 1}, tenant=TENANT)
    assert changed.variables == {"route": "fast", "n": 1}
    await engine.set_variables(e.id, {"n": 2}, tenant=TENANT)
    await engine.complete_task(by_ref(e)["gate"].id, TS.COMPLETED)
    e = await engine.wait_until(e.id, ES.COMPLETED)
    assert e.variables == {"route": "fast", "n": 2}
    assert (statuses(e)["fast"], statuses(e)["slow"]) == ("COMPLETED", "SKIPPED")
    with pytest.raises(Conflict) as err:
        await engine.set_variables(e.id, {"late": True}, tenant=TENANT)
    assert err.value.details["reason"] == "terminal"
    assert (await engine.get(e.id)).variables == {"route": "fast", "n": 2}
