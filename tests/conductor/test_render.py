"""Executions rendered as Conductor's Workflow, Task and WorkflowSummary JSON (and valid per the spec)."""

from __future__ import annotations

import json

from wfgateway.adapters.conductor import def_defaults
from wfgateway.adapters.conductor.definitions import to_definition
from wfgateway.adapters.conductor.render import (
    iso,
    summary_json,
    task_json,
    workflow_json,
    workflow_status_json,
)

from tests.conductor.test_spec import component
from wfgateway.core.model import WORKER, Execution, TaskAttempt
from wfgateway.core.statuses import ExecutionStatus, TaskStatus

DEF = {"name": "order_flow", "version": 1, "timeoutSeconds": 0,
       "tasks": [{"name": "charge", "taskReferenceName": "charge_ref", "type": "SIMPLE"},
                 {"name": "ship", "taskReferenceName": "ship_ref", "type": "SIMPLE"}]}


def attempt(id: str, ref: str, status: TaskStatus, seq: int, **kw: object) -> TaskAttempt:
    return TaskAttempt(id=id, execution_id="wf-1", ref=ref, name=ref.removesuffix("_ref"), kind=WORKER,
                       status=status, seq=seq, scheduled_ms=1000 + seq, updated_ms=2000 + seq, **kw)


def execution(**kw: object) -> Execution:
    definition = to_definition(DEF, "default")
    base = dict(id="wf-1", tenant="default", definition_name="order_flow", definition_version=1,
                status=ExecutionStatus.FAILED, input={"amount": 10}, correlation_id="order-1", created_ms=1000,
                started_ms=1000, ended_ms=5000, updated_ms=5000, reason="card declined", definition=definition)
    base.update(kw)
    return Execution(**base)  # type: ignore[arg-type]


def test_workflow_json_uses_conductors_names_and_omits_nulls() -> None:
    exe = execution(tasks=[
        attempt("t1", "charge_ref", TaskStatus.FAILED, 1, reason="declined", retried=True, worker_id="w1",
                started_ms=1100, ended_ms=1200),
        attempt("t2", "charge_ref", TaskStatus.COMPLETED, 2, attempt=1, retried_from="t1", output={"ok": True}),
        attempt("t3", "ship_ref", TaskStatus.FAILED, 3, reason="no truck"),
    ])
    doc = workflow_json(exe)
    component("Workflow").validate(doc)
    assert doc["workflowId"] == "wf-1" and doc["workflowName"] == "order_flow" and doc["workflowVersion"] == 1
    assert doc["status"] == "FAILED" and doc["reasonForIncompletion"] == "card declined"
    assert doc["startTime"] == 1000 and doc["endTime"] == 5000
    assert doc["workflowDefinition"]["tasks"] == [def_defaults.workflow_task(t) for t in DEF["tasks"]]
    assert "parentWorkflowId" not in doc  # null fields are omitted, as Jackson NON_NULL does
    # Conductor adds every FAILED task of a workflow that ends, the retried attempt's too
    assert doc["failedReferenceTaskNames"] == ["charge_ref", "ship_ref"] and doc["failedTaskNames"] == ["charge", "ship"]
    first, retry, ship = doc["tasks"]
    assert (first["taskId"], first["retried"], first["retryCount"], first["status"]) == ("t1", True, 0, "FAILED")
    assert "retriedTaskId" not in first and first["reasonForIncompletion"] == "declined"
    assert (retry["taskId"], retry["retriedTaskId"], retry["retryCount"], retry["retried"]) == ("t2", "t1", 1, False)
    assert retry["taskType"] == "charge" and retry["taskDefName"] == "charge"
    assert retry["workflowTask"] == def_defaults.workflow_task(DEF["tasks"][0]) and retry["outputData"] == {"ok": True}
    assert ship["correlationId"] == "order-1" and ship["workflowType"] == "order_flow"
    assert first["workerId"] == "w1" and first["executed"] is True


def test_include_tasks_false_gives_an_empty_list() -> None:
    doc = workflow_json(execution(tasks=[attempt("t1", "charge_ref", TaskStatus.COMPLETED, 1)]), include_tasks=False)
    assert doc["tasks"] == []


def test_task_of_a_running_workflow_is_valid_per_spec() -> None:
    exe = execution(status=ExecutionStatus.RUNNING, ended_ms=0, reason=None)
    doc = task_json(attempt("t1", "charge_ref", TaskStatus.SCHEDULED, 1, input={"amount": 10}), exe)
    component("Task").validate(doc)
    assert doc["status"] == "SCHEDULED" and doc["executed"] is False and doc["inputData"] == {"amount": 10}
    assert "workerId" not in doc and "endTime" in doc


def test_summary_has_conductors_quirks() -> None:
    exe = execution(tasks=[attempt("t1", "charge_ref", TaskStatus.FAILED, 1)])
    doc = summary_json(exe)
    component("WorkflowSummary").validate(doc)
    assert doc["startTime"] == "1970-01-01T00:00:01.000Z" and doc["endTime"] == iso(5000)
    assert json.loads(doc["input"]) == {"amount": 10} and json.loads(doc["output"]) == {}
    assert doc["failedReferenceTaskNames"] == "charge_ref" and doc["failedTaskNames"] == ["charge"]
    assert doc["parentWorkflowId"] == "" and doc["executionTime"] == 4000 and doc["workflowType"] == "order_flow"


def test_status_json() -> None:
    exe = execution(output={"r": 1}, variables={"v": 2})
    assert workflow_status_json(exe, False, False) == {"workflowId": "wf-1", "correlationId": "order-1",
                                                       "status": "FAILED"}
    full = workflow_status_json(exe, True, True)
    component("WorkflowStatus").validate(full)
    assert full["output"] == {"r": 1} and full["variables"] == {"v": 2}


def test_an_upstream_loop_task_renders_back_with_its_iteration() -> None:
    from wfgateway.adapters.conductor.client import parse_task

    doc = {"taskId": "t9", "workflowInstanceId": "wf-1", "referenceTaskName": "step_ref__2", "taskDefName": "step",
           "taskType": "step", "status": "COMPLETED", "iteration": 2, "seq": 5, "outputData": {"n": 2}}
    got = task_json(parse_task(doc), None)
    assert (got["referenceTaskName"], got["iteration"], got["loopOverTask"]) == ("step_ref__2", 2, True)
    loop = task_json(parse_task({**doc, "taskId": "t1", "referenceTaskName": "loop_ref", "taskType": "DO_WHILE",
                                 "outputData": {"iteration": 2}}), None)
    assert (loop["referenceTaskName"], loop["taskType"], loop["iteration"]) == ("loop_ref", "DO_WHILE", 2)
