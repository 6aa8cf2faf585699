"""WorkflowDef JSON -> engine definitions: chains, forks, switches, dynamic forks, task policies."""

from __future__ import annotations

from typing import Any

import pytest
from wfgateway.adapters.conductor.definitions import DEF_KEY, WT_KEY, to_definition
from wfgateway.adapters.conductor.durations import BadDuration, parse_duration_ms, parse_until_ms
from wfgateway.adapters.conductor.dynamic_fork import expand_dynamic_fork
from wfgateway.adapters.conductor.task_params import switch_params

from wfgateway.core.errors import InvalidArgument, ValidationFailed
from wfgateway.core.model import DYNAMIC, HTTP, NOOP, SET, SUBWORKFLOW, SWITCH, TERMINATE, WAIT, WORKER, Edge
from wfgateway.engine.validation import validate_definition


def simple(ref: str, **extra: Any) -> dict[str, Any]:
    return {"name": ref.removesuffix("_ref"), "taskReferenceName": ref, "type": "SIMPLE", **extra}


def wdef(*tasks: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": "flow", "version": 3, "timeoutSeconds": 0, "tasks": list(tasks), **extra}


def by_ref(definition: Any) -> dict[str, Any]:
    return {s.ref: s for s in definition.tasks}


def test_ordered_tasks_become_a_chain_and_the_registered_json_is_kept() -> None:
    doc = wdef(simple("a_ref", inputParameters={"x": "${workflow.input.x}"}), simple("b_ref"), simple("c_ref"))
    d = to_definition(doc, "default")
    specs = by_ref(d)
    assert [s.ref for s in d.tasks] == ["a_ref", "b_ref", "c_ref"]
    assert specs["a_ref"].depends_on == []
    assert specs["b_ref"].depends_on == [Edge("a_ref")]
    assert specs["c_ref"].depends_on == [Edge("b_ref")]
    assert all(s.kind == WORKER for s in d.tasks)
    assert specs["a_ref"].name == "a" and specs["a_ref"].input == {"x": "${workflow.input.x}"}
    assert specs["b_ref"].extra[WT_KEY] == doc["tasks"][1]
    assert d.extra[DEF_KEY]["tasks"] == doc["tasks"] and d.version == 3 and d.dialect == "conductor"


def test_fork_branches_run_in_parallel_and_the_join_waits_for_every_branch_end() -> None:
    doc = wdef(
        simple("start_ref"),
        {"name": "fork", "taskReferenceName": "fork_ref", "type": "FORK_JOIN",
         "forkTasks": [[simple("a1_ref"), simple("a2_ref")], [simple("b1_ref")]]},
        {"name": "join", "taskReferenceName": "join_ref", "type": "JOIN", "joinOn": ["a2_ref", "b1_ref"]},
        simple("after_ref"),
    )
    specs = by_ref(to_definition(doc, "default"))
    assert specs["fork_ref"].kind == NOOP and specs["fork_ref"].depends_on == [Edge("start_ref")]
    assert specs["a1_ref"].depends_on == [Edge("fork_ref")]
    assert specs["a2_ref"].depends_on == [Edge("a1_ref")]
    assert specs["b1_ref"].depends_on == [Edge("fork_ref")]
    assert specs["join_ref"].depends_on == [Edge("a2_ref"), Edge("b1_ref")]
    assert specs["join_ref"].input == {"a2_ref": "${a2_ref.output}", "b1_ref": "${b1_ref.output}"}
    assert specs["after_ref"].depends_on == [Edge("join_ref")]
    assert specs["fork_ref"].extra["taskType"] == "FORK"


def test_switch_cases_hang_on_branches_and_the_next_task_depends_on_all_of_them() -> None:
    doc = wdef(
        {"name": "route", "taskReferenceName": "route_ref", "type": "SWITCH", "evaluatorType": "value-param",
         "expression": "kind", "inputParameters": {"kind": "${workflow.input.kind}"},
         "decisionCases": {"fast": [simple("f1_ref"), simple("f2_ref")], "slow": [simple("s1_ref")]},
         "defaultCase": [simple("d1_ref")]},
        simple("after_ref"),
    )
    specs = by_ref(to_definition(doc, "default"))
    sw = specs["route_ref"]
    assert sw.kind == SWITCH and sw.params == {"value": "${workflow.input.kind}", "cases": ["fast", "slow"]}
    assert specs["f1_ref"].depends_on == [Edge("route_ref", "fast")]
    assert specs["f2_ref"].depends_on == [Edge("f1_ref")]
    assert specs["s1_ref"].depends_on == [Edge("route_ref", "slow")]
    assert specs["d1_ref"].depends_on == [Edge("route_ref", "default")]
    assert specs["after_ref"].depends_on == [Edge("route_ref"), Edge("f2_ref"), Edge("s1_ref"), Edge("d1_ref")]


def test_switch_params_from_decision_value_param_and_javascript() -> None:
    decision = {"type": "DECISION", "caseValueParam": "k", "inputParameters": {"k": "${workflow.input.k}"}}
    assert switch_params(decision) == {"value": "${workflow.input.k}"}
    js = {"type": "SWITCH", "evaluatorType": "graaljs", "expression": "$.a > 1 ? 'x' : 'y'",
          "inputParameters": {"a": 1}}
    assert switch_params(js) == {"evaluator": "conductor.switch", "expression": "$.a > 1 ? 'x' : 'y'"}
    with pytest.raises(InvalidArgument, match="evaluatorType python is not supported"):
        switch_params({"type": "SWITCH", "taskReferenceName": "s", "evaluatorType": "python", "expression": "1"})


def test_system_tasks_map_to_engine_kinds_with_their_parameters() -> None:
    doc = wdef(
        {"name": "call", "taskReferenceName": "http_ref", "type": "HTTP",
         "inputParameters": {"http_request": {"uri": "http://127.0.0.1:1/x", "method": "post",
                                              "headers": {"X-A": "1"}, "body": {"v": "${workflow.input.v}"},
                                              "contentType": "application/json", "readTimeOut": 500}}},
        {"name": "child", "taskReferenceName": "child_ref", "type": "SUB_WORKFLOW",
         "subWorkflowParam": {"name": "child_flow", "version": 2}, "inputParameters": {"a": 1}},
        {"name": "pause", "taskReferenceName": "wait_ref", "type": "WAIT", "inputParameters": {"duration": "1m 30s"}},
        {"name": "vars", "taskReferenceName": "set_ref", "type": "SET_VARIABLE", "inputParameters": {"n": 1}},
        {"name": "stop", "taskReferenceName": "stop_ref", "type": "TERMINATE",
         "inputParameters": {"terminationStatus": "FAILED", "terminationReason": "no", "workflowOutput": {"o": 1}}},
    )
    specs = by_ref(to_definition(doc, "default"))
    assert specs["http_ref"].kind == HTTP
    assert specs["http_ref"].params == {"method": "POST", "url": "http://127.0.0.1:1/x",
                                        "headers": {"X-A": "1", "Content-Type": "application/json"},
                                        "body": {"v": "${workflow.input.v}"}, "timeout_ms": 500}
    assert specs["child_ref"].kind == SUBWORKFLOW
    assert specs["child_ref"].params == {"name": "child_flow", "version": 2, "input": {"a": 1}}
    assert specs["wait_ref"].kind == WAIT and specs["wait_ref"].params == {"duration_ms": 90_000}
    assert specs["set_ref"].kind == SET and specs["set_ref"].params == {"variables": {"n": 1}}
    assert specs["stop_ref"].kind == TERMINATE
    assert specs["stop_ref"].params == {"status": "FAILED", "reason": "no", "output": {"o": 1}}
    assert specs["child_ref"].extra["taskType"] == "SUB_WORKFLOW"


def test_dynamic_fork_is_one_dynamic_task_expanded_by_the_conductor_expander() -> None:
    doc = wdef(
        {"name": "dyn", "taskReferenceName": "dyn_ref", "type": "FORK_JOIN_DYNAMIC",
         "dynamicForkTasksParam": "tasks", "dynamicForkTasksInputParamName": "inputs",
         "inputParameters": {"tasks": "${workflow.input.tasks}", "inputs": "${workflow.input.inputs}"}},
        {"name": "join", "taskReferenceName": "join_ref", "type": "JOIN"},
    )
    specs = by_ref(to_definition(doc, "default"))
    dyn = specs["dyn_ref"]
    assert dyn.kind == DYNAMIC
    assert dyn.params == {"tasks": "${workflow.input.tasks}", "inputs": "${workflow.input.inputs}",
                          "mode": "tasks", "expander": "conductor"}
    assert specs["join_ref"].depends_on == [Edge("dyn_ref")]
    children = expand_dynamic_fork({"tasks": [simple("x_ref"), simple("y_ref", retryCount=2)],
                                    "inputs": {"x_ref": {"n": 1}, "y_ref": {"n": 2}}, "mode": "tasks"}, dyn)
    assert [(c.ref, c.kind, c.name, c.input, c.retries) for c in children] == [
        ("x_ref", WORKER, "x", {"n": 1}, 0), ("y_ref", WORKER, "y", {"n": 2}, 2)]
    assert children[0].extra["taskType"] == "x"
    with pytest.raises(InvalidArgument, match="list"):
        expand_dynamic_fork({"tasks": "nope", "mode": "tasks"}, dyn)
    with pytest.raises(InvalidArgument, match="name and taskReferenceName"):
        expand_dynamic_fork({"tasks": [{"name": "x"}], "mode": "tasks"}, dyn)


def test_fork_task_inputs_style_makes_one_task_per_input() -> None:
    doc = wdef({"name": "dyn", "taskReferenceName": "dyn_ref", "type": "FORK_JOIN_DYNAMIC",
                "inputParameters": {"forkTaskName": "work", "forkTaskInputs": "${workflow.input.items}"}})
    dyn = by_ref(to_definition(doc, "default"))["dyn_ref"]
    children = expand_dynamic_fork({**dyn.params, "tasks": [{"a": 1}, {"a": 2}]}, dyn)
    assert [(c.ref, c.name, c.input) for c in children] == [("_work_0", "work", {"a": 1}), ("_work_1", "work", {"a": 2})]


def test_retry_count_comes_from_the_workflow_task_then_the_task_def_else_none() -> None:
    doc = wdef(simple("a_ref", retryCount=0), simple("b_ref"), {"name": "other", "taskReferenceName": "c_ref"})
    task_defs = {"a": {"name": "a", "retryCount": 5}, "b": {"name": "b", "retryDelaySeconds": 2,
                                                            "retryLogic": "EXPONENTIAL_BACKOFF", "timeoutSeconds": 30}}
    specs = by_ref(to_definition(doc, "default", task_defs))
    assert specs["a_ref"].retries == 0
    assert (specs["b_ref"].retries, specs["b_ref"].retry_delay_ms, specs["b_ref"].backoff, specs["b_ref"].timeout_ms) \
        == (3, 2000, "exponential", 30_000)
    assert specs["c_ref"].retries == 0 and specs["c_ref"].kind == WORKER  # type defaults to SIMPLE


def test_optional_tasks_and_workflow_timeouts() -> None:
    doc = wdef(simple("a_ref", optional=True), timeoutSeconds=10, timeoutPolicy="TIME_OUT_WF",
               outputParameters={"r": "${a_ref.output.r}"}, restartable=False)
    d = to_definition(doc, "default")
    assert d.tasks[0].optional and d.timeout_ms == 10_000 and d.output == {"r": "${a_ref.output.r}"}
    assert not d.restartable
    assert to_definition(wdef(simple("a_ref"), timeoutSeconds=10), "default").timeout_ms is None  # ALERT_ONLY


def test_duplicate_reference_names_fail_with_conductors_message() -> None:
    doc = wdef(simple("same"), {"name": "fork", "taskReferenceName": "f", "type": "FORK_JOIN",
                                "forkTasks": [[simple("same")]]})
    with pytest.raises(ValidationFailed) as err:
        to_definition(doc, "default")
    assert err.value.violations[0].message == (
        "taskReferenceName: same should be unique across tasks for a given workflowDefinition: flow")


def test_unsupported_task_types_are_refused_by_name() -> None:
    with pytest.raises(InvalidArgument, match="Task type KAFKA_PUBLISH of task k_ref is not supported"):
        to_definition(wdef({"name": "k", "taskReferenceName": "k_ref", "type": "KAFKA_PUBLISH"}), "default")


def test_translated_definitions_pass_the_engines_checks() -> None:
    doc = wdef(
        simple("a_ref"),
        {"name": "fork", "taskReferenceName": "fork_ref", "type": "FORK_JOIN",
         "forkTasks": [[simple("b_ref")], [simple("c_ref")]]},
        {"name": "join", "taskReferenceName": "join_ref", "type": "JOIN", "joinOn": ["b_ref", "c_ref"]},
        {"name": "route", "taskReferenceName": "route_ref", "type": "SWITCH", "evaluatorType": "value-param",
         "expression": "k", "inputParameters": {"k": "${a_ref.output.k}"},
         "decisionCases": {"x": [simple("x_ref")]}, "defaultCase": []},
        simple("z_ref", inputParameters={"j": "${join_ref.output}"}),
    )
    validate_definition(to_definition(doc, "default"))


@pytest.mark.parametrize(("text", "ms"), [("10s", 10_000), ("1m", 60_000), ("2 hours", 7_200_000),
                                          ("1d2h3m4s", 93_784_000), ("5 seconds", 5000)])
def test_wait_durations(text: str, ms: int) -> None:
    assert parse_duration_ms(text) == ms


def test_bad_wait_values_are_refused() -> None:
    with pytest.raises(BadDuration):
        parse_duration_ms("soon")
    assert parse_until_ms("2030-01-01 00:00") == 1_893_456_000_000
    with pytest.raises(InvalidArgument, match="WAIT task w_ref"):
        to_definition(wdef({"name": "w", "taskReferenceName": "w_ref", "type": "WAIT",
                            "inputParameters": {"duration": "later"}}), "default")
