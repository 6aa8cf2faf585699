"""Each task kind, run on a real store (and a real HTTP server for http tasks)."""

from __future__ import annotations

import pytest

from wfgateway.core.errors import EvaluationFailed
from wfgateway.core.model import (
    COMPUTE,
    CONDITION,
    DYNAMIC,
    HTTP,
    NOOP,
    SET,
    START,
    SUBWORKFLOW,
    SWITCH,
    TERMINATE,
    WAIT,
    WORKER,
    TaskSpec,
)
from wfgateway.core.statuses import ExecutionStatus as ES
from wfgateway.core.statuses import TaskStatus as TS

from .helpers import TENANT, by_ref, definition, run, spec, statuses, work


async def test_noop_and_set_resolve_templates_and_keep_types(engine):
    e = await run(
        engine, "pure",
        spec("a", NOOP, input={"n": "${workflow.input.n}", "msg": "n=${workflow.input.n}", "all": "${workflow.input}",
                               "missing": "${workflow.input.nope.deeper}", "wid": "${workflow.workflowId}"}),
        spec("s", SET, "a", params={"variables": {"count": "${a.output.n}", "tag": "x"}}),
        spec("b", NOOP, "s", input={"count": "${workflow.variables.count}", "first": "${a.input.all.list[0]}"}),
        input={"n": 3, "list": [7, 8]},
    )
    assert e.status is ES.COMPLETED
    t = by_ref(e)
    assert t["a"].output == {"n": 3, "msg": "n=3", "all": {"n": 3, "list": [7, 8]}, "missing": None, "wid": e.id}
    assert e.variables == {"count": 3, "tag": "x"}
    assert t["b"].output == {"count": 3, "first": 7}
    assert e.output == {"count": 3, "first": 7}  # the last task's output


async def test_definition_output_templates(engine):
    e = await run(engine, "outs", spec("a", NOOP, input={"v": 1}), output={"result": "${a.output.v}"})
    assert e.output == {"result": 1}


@pytest.mark.parametrize("value,taken", [("big", "big"), ("small", "small"), ("other", "default")])
async def test_switch_takes_one_branch_and_skips_the_others(engine, value, taken):
    e = await run(
        engine, f"sw-{value}",
        spec("sw", SWITCH, params={"value": "${workflow.input.size}", "cases": ["big", "small"]}),
        spec("big", NOOP, ("sw", "big")),
        spec("big2", NOOP, "big"),
        spec("small", NOOP, ("sw", "small")),
        spec("default", NOOP, ("sw", "default")),
        spec("join", NOOP, "big2", "small", "default"),
        input={"size": value},
    )
    assert e.status is ES.COMPLETED
    s = statuses(e)
    assert by_ref(e)["sw"].output == {"selected": taken}
    for branch in ("big", "small", "default"):
        assert s[branch] == ("COMPLETED" if branch == taken else "SKIPPED")
    assert s["big2"] == ("COMPLETED" if taken == "big" else "SKIPPED")
    assert s["join"] == "COMPLETED"


@pytest.mark.parametrize(
    "left,op,right,expected",
    [(5, "greater_than", 3, "true"), ("abc", "contains", "b", "true"), ("", "is_empty", None, "true"),
     (2, "less_or_equal", 1, "false"), ("true", "is_true", None, "true"), ("x", "not_equals", "x", "false")],
)
async def test_condition_branches(engine, left, op, right, expected):
    e = await run(
        engine, f"cond-{op}",
        spec("c", CONDITION, params={"left": "${workflow.input.l}", "operator": op, "right": right}),
        spec("yes", NOOP, ("c", "true")),
        spec("no", NOOP, ("c", "false")),
        input={"l": left},
    )
    s = statuses(e)
    assert by_ref(e)["c"].branch == expected
    assert s["yes"] == ("COMPLETED" if expected == "true" else "SKIPPED")
    assert s["no"] == ("SKIPPED" if expected == "true" else "COMPLETED")
    assert e.status is ES.COMPLETED


@pytest.mark.parametrize("status,expected", [("COMPLETED", ES.COMPLETED), ("FAILED", ES.FAILED),
                                             ("TERMINATED", ES.TERMINATED)])
async def test_terminate_ends_the_execution(engine, status, expected):
    e = await run(
        engine, f"term-{status}",
        spec("a", NOOP),
        spec("w", WORKER, "a", name="never"),
        spec("stop", TERMINATE, "a", params={"status": status, "reason": "enough", "output": {"k": 1}}),
    )
    assert e.status is expected
    assert e.reason == "enough"
    assert e.output == {"k": 1}
    s = statuses(e)
    assert s["stop"] == "COMPLETED"
    assert s["w"] == "CANCELED"
    assert await engine.poll(TENANT, "never") == []


async def test_wait_until_signalled(engine):
    e = await run(engine, "waits", spec("w", WAIT), spec("after", NOOP, "w"))
    w = by_ref(e)["w"]
    assert w.status is TS.IN_PROGRESS
    await engine.complete_task(w.id, TS.COMPLETED, output={"ok": True})
    e = await engine.wait_until(e.id, [ES.COMPLETED], 2)
    assert by_ref(e)["w"].output == {"ok": True}


async def test_wait_with_duration_fires_from_the_timer(engine):
    e = await run(engine, "naps", spec("w", WAIT, params={"duration_ms": 150}), spec("after", NOOP, "w"))
    assert e.status is ES.RUNNING
    e = await engine.wait_until(e.id, [ES.COMPLETED], 3)
    w = by_ref(e)["w"]
    assert w.ended_ms - w.started_ms >= 140


async def test_http_task_calls_a_real_server(engine, http_server):
    e = await run(
        engine, "calls",
        spec("h", HTTP, params={"method": "POST", "url": f"{http_server.base_url}/echo?q=1",
                                "headers": {"Authorization": "Bearer ${workflow.input.token}"},
                                "body": {"n": "${workflow.input.n}"}}),
        spec("t", HTTP, "h", params={"url": f"{http_server.base_url}/text"}),
        input={"token": "abc", "n": 4},
    )
    e = await engine.wait_until(e.id, [ES.COMPLETED], 5)
    h = by_ref(e)["h"]
    assert h.output["status"] == 200
    assert h.output["body"] == {"method": "POST", "query": {"q": "1"}, "body": '{"n":4}', "auth": "Bearer abc"}
    assert h.output["headers"]["content-type"] == "application/json"
    assert by_ref(e)["t"].output["body"] == "plain words"


async def test_http_non_2xx_fails_with_reason(engine, http_server):
    e = await run(engine, "bad", spec("h", HTTP, params={"url": f"{http_server.base_url}/status/418"}))
    e = await engine.wait_until(e.id, [ES.FAILED], 5)
    h = by_ref(e)["h"]
    assert h.status is TS.FAILED and "418" in h.reason
    assert h.output["status"] == 418 and h.output["body"] == {"code": 418}
    assert e.extra["failed_task"] == {"id": h.id, "ref": "h", "status": "FAILED", "reason": h.reason}
    assert e.reason == h.reason


async def test_http_timeout_is_timed_out(engine, http_server):
    e = await run(engine, "slow", spec("h", HTTP, params={"url": f"{http_server.base_url}/slow?ms=2000",
                                                          "timeout_ms": 200}))
    e = await engine.wait_until(e.id, [ES.TIMED_OUT], 5)
    assert by_ref(e)["h"].status is TS.TIMED_OUT


async def test_http_host_outside_the_allow_list_fails_clearly(engine):
    for name, url, host in (("ssrf-ip", "http://10.1.2.3/admin", "10.1.2.3"),
                            ("ssrf-name", "http://example.com/x", "example.com")):
        e = await run(engine, name, spec("h", HTTP, params={"url": url}))
        e = await engine.wait_until(e.id, [ES.FAILED], 5)
        reason = by_ref(e)["h"].reason
        assert host in reason and "not allowed" in reason


async def test_http_secrets_are_used_but_never_stored(engine, http_server):
    engine.register_secret_resolver(lambda tenant, name: "s3cr3t-value" if (tenant, name) == (TENANT, "api") else None)
    e = await run(engine, "vault", spec("h", HTTP, input={"auth": "${secrets.api}"},
                                        params={"url": f"{http_server.base_url}/echo",
                                                "headers": {"Authorization": "Bearer ${secrets.api}"}}))
    e = await engine.wait_until(e.id, [ES.COMPLETED], 5)
    h = by_ref(e)["h"]
    assert http_server.calls[-1]["headers"]["authorization"] == "Bearer s3cr3t-value"
    assert h.input == {"auth": "${secrets.api}"}
    assert h.output["body"]["auth"] == "Bearer ***"
    if hasattr(engine.store, "path"):  # nothing on disk holds the secret (database and WAL)
        import glob

        data = b""
        for f in glob.glob(engine.store.path + "*"):
            with open(f, "rb") as fh:
                data += fh.read()
        assert b"Bearer ${secrets.api}" in data  # the template is stored ...
        assert b"s3cr3t-value" not in data  # ... the secret is not


async def test_subworkflow_mirrors_the_child(engine):
    await engine.put_definition(definition("child", spec("c1", NOOP, input={"v": "${workflow.input.v}"}),
                                           spec("cw", WORKER, "c1", name="child-work")))
    e = await run(engine, "parent",
                  spec("sub", SUBWORKFLOW, params={"name": "child", "input": {"v": "${workflow.input.v}"}}),
                  spec("after", NOOP, "sub", input={"got": "${sub.output.r}"}), input={"v": 9})
    sub = by_ref(e)["sub"]
    assert sub.status is TS.IN_PROGRESS and sub.subworkflow_id
    child = await engine.get(sub.subworkflow_id)
    assert child.parent_execution_id == e.id and child.parent_task_id == sub.id
    assert child.input == {"v": 9} and child.status is ES.RUNNING
    await work(engine, "child-work", {"r": 10})
    e = await engine.wait_until(e.id, [ES.COMPLETED], 3)
    assert by_ref(e)["sub"].output == {"r": 10}
    assert by_ref(e)["after"].output == {"got": 10}


async def test_subworkflow_failure_and_termination_propagate(engine):
    await engine.put_definition(definition("child2", spec("cw", WORKER, name="child2-work")))
    e = await run(engine, "parent2", spec("sub", SUBWORKFLOW, params={"name": "child2"}))
    await work(engine, "child2-work", fail="child broke")
    e = await engine.wait_until(e.id, [ES.FAILED], 3)
    assert by_ref(e)["sub"].status is TS.FAILED
    assert "child broke" in e.reason
    e = await run(engine, "parent3", spec("sub", SUBWORKFLOW, params={"name": "child2"}))
    child_id = by_ref(e)["sub"].subworkflow_id
    await engine.terminate(child_id, "stop child")
    e = await engine.get(e.id)
    assert by_ref(e)["sub"].status is TS.CANCELED
    assert e.status is ES.FAILED


async def test_terminating_a_parent_terminates_its_children(engine):
    await engine.put_definition(definition("child4", spec("cw", WORKER, name="child4-work")))
    e = await run(engine, "parent4", spec("sub", SUBWORKFLOW, params={"name": "child4"}))
    child_id = by_ref(e)["sub"].subworkflow_id
    await engine.terminate(e.id, "all stop")
    child = await engine.get(child_id)
    assert child.status is ES.TERMINATED
    assert statuses(child) == {"cw": "CANCELED"}


def _fan_out(params, spec_, execution):
    return [TaskSpec(ref=f"item{i}", kind=WORKER, name="fan", input={"item": item})
            for i, item in enumerate(params["items"])] + [
        TaskSpec(ref="summary", kind=NOOP, depends_on=[], input={"n": len(params["items"])})]


async def test_dynamic_fan_out_runs_nested_tasks_and_joins(engine):
    engine.register_expander("testdialect", _fan_out)
    e = await run(engine, "fan", spec("dyn", DYNAMIC, params={"items": "${workflow.input.items}"}),
                  spec("after", NOOP, "dyn", input={"joined": "${dyn.output}"}),
                  input={"items": ["x", "y"]}, dialect="testdialect")
    nested = [t for t in e.tasks if t.parent_attempt_id == by_ref(e)["dyn"].id]
    assert {t.ref for t in nested} == {"dyn:item0", "dyn:item1", "dyn:summary"}
    assert {t.extra["local_ref"] for t in nested} == {"item0", "item1", "summary"}
    for _ in range(2):
        got = await engine.poll(TENANT, "fan", timeout_ms=1000)
        await engine.complete_task(got[0].id, TS.COMPLETED, output={"done": got[0].input["item"]})
    e = await engine.wait_until(e.id, [ES.COMPLETED], 3)
    joined = by_ref(e)["after"].output["joined"]
    assert joined == {"item0": {"done": "x"}, "item1": {"done": "y"}, "summary": {"n": 2}}


async def test_dynamic_nested_failure_fails_the_container(engine):
    engine.register_expander("testdialect", _fan_out)
    e = await run(engine, "fanfail", spec("dyn", DYNAMIC, params={"items": ["a"]}), dialect="testdialect")
    await work(engine, "fan", fail="nested broke")
    e = await engine.wait_until(e.id, [ES.FAILED], 3)
    assert by_ref(e)["dyn"].status is TS.FAILED
    assert e.reason == "nested broke"


async def test_dynamic_without_expander_fails_clearly(engine):
    e = await run(engine, "noexp", spec("dyn", DYNAMIC, params={}), dialect="nobody")
    assert e.status is ES.FAILED
    assert "expander" in e.reason and "nobody" in e.reason


async def test_http_unknown_secret_fails_the_task_clearly(engine, http_server):
    e = await run(engine, "nosecret", spec("h", HTTP, params={"url": f"{http_server.base_url}/echo",
                                                             "headers": {"X-Key": "${secrets.missing}"}}))
    e = await engine.wait_until(e.id, [ES.FAILED], 5)
    assert "Unknown secret 'missing'" in by_ref(e)["h"].reason


def _calc(params, data):
    if data.get("x") is None:
        raise EvaluationFailed("x is missing", output={"error": "x is missing"})
    if data.get("x") == "bug":
        raise KeyError("boom")
    return {"doubled": data["x"] * 2} if params.get("shape") == "dict" else data["x"] + 1


async def test_compute_runs_the_registered_evaluator_and_its_failures_fail_the_task(engine):
    engine.register_evaluator("calc", _calc)
    e = await run(engine, "calc",
                  spec("c", COMPUTE, input={"x": "${workflow.input.x}"}, params={"evaluator": "calc", "shape": "dict"}),
                  spec("d", COMPUTE, "c", input={"x": "${c.output.doubled}"}, params={"evaluator": "calc"}),
                  spec("sw", SWITCH, "d", input={"x": "${d.output.result}"},
                       params={"evaluator": "calc", "cases": ["8", "9"]}),
                  spec("eight", NOOP, ("sw", "8")), spec("other", NOOP, ("sw", "default")),
                  input={"x": 3})
    assert e.status is ES.COMPLETED
    t = by_ref(e)
    assert t["c"].output == {"doubled": 6} and t["d"].output == {"result": 7}
    assert t["sw"].branch == "8" and t["other"].status is TS.SKIPPED
    failed = await run(engine, "calc2", spec("c", COMPUTE, params={"evaluator": "calc"}))
    assert failed.status is ES.FAILED and by_ref(failed)["c"].reason == "x is missing"
    assert by_ref(failed)["c"].output == {"error": "x is missing"}
    buggy = await run(engine, "calc3", spec("c", COMPUTE, input={"x": "bug"}, params={"evaluator": "calc"}))
    assert by_ref(buggy)["c"].status is TS.FAILED and by_ref(buggy)["c"].reason == "KeyError: 'boom'"
    missing = await run(engine, "calc4", spec("c", COMPUTE, params={"evaluator": "nobody"}))
    assert "No evaluator registered for 'nobody'" in by_ref(missing)["c"].reason


async def test_on_failure_starts_a_workflow_in_the_same_commit(engine):
    engine.register_failure_input("fdialect", lambda e: {"failed": e.id, "why": e.reason, "n": len(e.tasks)})
    await engine.put_definition(definition("handler", spec("h", NOOP, input={"got": "${workflow.input}"})))
    e = await run(engine, "breaks", spec("a", WORKER, name="breaker"), dialect="fdialect",
                  on_failure={"name": "${workflow.input.handler}", "output_key": "failure_run"},
                  input={"handler": "handler"})
    await work(engine, "breaker", fail="boom")
    e = await engine.wait_until(e.id, [ES.FAILED], 3)
    child = await engine.get(e.output["failure_run"])
    assert child.definition_name == "handler" and child.status is ES.COMPLETED
    assert child.input == {"failed": e.id, "why": "boom", "n": 1} and child.metadata == {"triggered_by": e.id}
    terminated = await run(engine, "breaks2", spec("a", WORKER, name="breaker2"),
                           on_failure={"name": "handler", "output_key": "failure_run"})
    terminated = await engine.terminate(terminated.id, "by hand")
    assert "failure_run" not in terminated.output  # only a failure of its own starts it
    missing = await run(engine, "breaks3", spec("a", WORKER, name="breaker3"),
                        on_failure={"name": "nobody", "output_key": "failure_run"})
    await work(engine, "breaker3", fail="boom")
    missing = await engine.wait_until(missing.id, [ES.FAILED], 3)
    assert missing.output["failure_run"].startswith("Error workflow nobody failed to start.")


async def test_a_workflow_that_starts_itself_fails_at_the_nesting_limit_instead_of_looping(engine):
    e = await run(engine, "ouroboros", spec("again", SUBWORKFLOW, params={"name": "ouroboros"}))
    e = await engine.wait_until(e.id, [ES.FAILED], 10)
    assert "nest deeper than" in e.reason
    depth, node = 0, e
    while (child_id := by_ref(node)["again"].subworkflow_id) is not None:
        node = await engine.get(child_id)
        assert node.status is ES.FAILED  # every level failed and told its parent
        depth += 1
    assert depth == 32


async def test_a_start_task_starts_an_execution_of_its_own_and_completes_at_once(engine):
    await engine.put_definition(definition("started", spec("sw", WORKER, name="started-work",
                                                           input={"v": "${workflow.input.v}"})))
    e = await run(engine, "starter",
                  spec("go", START, params={"name": "started", "input": {"v": "${workflow.input.v}"},
                                            "correlation_id": "c-1", "priority": 3, "metadata": {"k": "m"}}),
                  spec("after", NOOP, "go", input={"id": "${go.output.execution_id}"}), input={"v": 5})
    assert e.status is ES.COMPLETED  # nothing waits for the started execution
    go = by_ref(e)["go"]
    started = await engine.get(go.output["execution_id"])
    assert go.status is TS.COMPLETED and by_ref(e)["after"].output == {"id": started.id}
    assert started.parent_execution_id is None and started.parent_task_id is None
    assert (started.definition_name, started.input, started.correlation_id, started.priority, started.metadata) == (
        "started", {"v": 5}, "c-1", 3, {"k": "m"})
    assert started.status is ES.RUNNING and statuses(started) == {"sw": "SCHEDULED"}
    await work(engine, "started-work", {"done": True})
    assert (await engine.wait_until(started.id, [ES.COMPLETED], 3)).status is ES.COMPLETED
    assert (await engine.get(e.id)).status is ES.COMPLETED  # and the starter is not told


async def test_a_start_task_names_its_output_key_and_reads_its_request_through_an_evaluator(engine):
    engine.register_evaluator("req", lambda params, data: {"name": data["which"], "input": {"from": params["tag"]}})
    await engine.put_definition(definition("target", spec("n", NOOP, input={"from": "${workflow.input.from}"})))
    e = await run(engine, "starter2",
                  spec("go", START, input={"which": "${workflow.input.which}"},
                       params={"evaluator": "req", "tag": "t", "output_key": "startedId"}),
                  input={"which": "target"})
    started = await engine.get(by_ref(e)["go"].output["startedId"])
    assert started.status is ES.COMPLETED and started.output == {"from": "t"}


async def test_a_start_task_fails_for_a_missing_definition_or_a_bad_request(engine):
    e = await run(engine, "starter3", spec("go", START, params={"name": "nowhere", "version": 2}))
    go = by_ref(e)["go"]
    assert e.status is ES.FAILED and go.status is TS.FAILED and go.reason == "No such workflow definition: nowhere version 2"
    worded = await run(engine, "starter3b", spec("go", START, params={"name": "nowhere", "missing_reason": "gone"}))
    assert by_ref(worded)["go"].reason == "gone"
    bad = await run(engine, "starter4", spec("go", START, params={"name": "${workflow.input.none}"}))
    assert by_ref(bad)["go"].reason == "A start task needs the name of the workflow to start"
    bad_input = await run(engine, "starter5", spec("go", START, params={"name": "starter5", "input": [1]}))
    assert by_ref(bad_input)["go"].reason == "A start task's input must be an object"
    engine.register_evaluator("refuse", lambda params, data: (_ for _ in ()).throw(EvaluationFailed("no way")))
    refused = await run(engine, "starter6", spec("go", START, params={"evaluator": "refuse"}))
    assert by_ref(refused)["go"].reason == "no way"


async def test_a_workflow_that_starts_itself_at_once_stops_at_the_chain_limit(engine):
    e = await run(engine, "restarter", spec("again", START, params={"name": "restarter"}))
    chain = [e]
    while by_ref(chain[-1])["again"].status is TS.COMPLETED:
        chain.append(await engine.get(by_ref(chain[-1])["again"].output["execution_id"]))
        assert len(chain) < 100
    last = by_ref(chain[-1])["again"]
    assert last.status is TS.FAILED and "chain deeper than 32" in last.reason
    assert len(chain) == 33 and all(x.parent_execution_id is None for x in chain)


async def test_a_held_compute_task_keeps_its_output_in_progress_until_completed(engine):
    engine.register_evaluator("calc", _calc)
    e = await run(engine, "held", spec("c", COMPUTE, input={"x": "${workflow.input.x}"},
                                       params={"evaluator": "calc", "shape": "dict", "hold": True}),
                  spec("d", NOOP, "c", input={"got": "${c.output.doubled}"}), input={"x": 4})
    held = by_ref(e)["c"]
    assert e.status is ES.RUNNING and held.status is TS.IN_PROGRESS and held.output == {"doubled": 8}
    assert "d" not in by_ref(e)
    await engine.complete_task(held.id, TS.COMPLETED, output={"doubled": 9})
    e = await engine.wait_until(e.id, [ES.COMPLETED], 3)
    assert by_ref(e)["d"].output == {"got": 9}


async def test_a_worker_task_named_by_a_template_is_queued_under_the_resolved_name(engine):
    e = await run(engine, "named",
                  spec("w", WORKER, name="placeholder", input={"v": 1},
                       params={"name": "${workflow.input.queue}", "missing_name_reason": "no queue named"}),
                  input={"queue": "picked-queue"})
    assert by_ref(e)["w"].name == "picked-queue"
    assert not await engine.poll(TENANT, "placeholder", worker_id="x", timeout_ms=0)
    await work(engine, "picked-queue", {"ok": True})
    assert (await engine.wait_until(e.id, [ES.COMPLETED], 3)).status is ES.COMPLETED
    unnamed = await run(engine, "named2", spec("w", WORKER, name="placeholder",
                                               params={"name": "${workflow.input.queue}",
                                                       "missing_name_reason": "no queue named"}))
    assert unnamed.status is ES.FAILED and by_ref(unnamed)["w"].reason == "no queue named"
