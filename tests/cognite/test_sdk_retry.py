"""Issue 5, the heart: the official cognite-sdk runs, fails, retries and completes executions on the
gateway exactly as Cognite documents retry (seed 003)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from cognite.client import CogniteClient
from cognite.client.data_classes.workflows import (
    CDFTaskParameters,
    DynamicTaskParameters,
    FunctionTaskParameters,
    SubworkflowReferenceParameters,
    WorkflowDefinitionUpsert,
    WorkflowExecutionDetailed,
    WorkflowTask,
    WorkflowUpsert,
    WorkflowVersionUpsert,
)
from cognite.client.exceptions import CogniteAPIError, CogniteNotFoundError

from tests.cognite.conftest import FunctionServer, wait_for
from tests.cognite.test_spec import component, errors


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def async_task(xid: str, *, retries: int = 0, depends_on: list[str] | None = None,
               on_failure: str = "abortWorkflow") -> WorkflowTask:
    return WorkflowTask(xid, FunctionTaskParameters("manual", is_async_complete=True), retries=retries,
                        depends_on=depends_on, on_failure=on_failure)  # type: ignore[arg-type]


def upsert(client: CogniteClient, xid: str, tasks: list[WorkflowTask], version: str = "1") -> None:
    client.workflows.upsert(WorkflowUpsert(xid, description=f"{xid} for tests"))
    client.workflows.versions.upsert(WorkflowVersionUpsert(xid, version, WorkflowDefinitionUpsert(tasks)))


def detailed(client: CogniteClient, execution_id: str) -> WorkflowExecutionDetailed:
    got = client.workflows.executions.retrieve_detailed(execution_id)
    assert got is not None
    return got


def attempts(ex: WorkflowExecutionDetailed, xid: str) -> list[Any]:
    return [t for t in ex.executed_tasks if t.external_id == xid]


def statuses(ex: WorkflowExecutionDetailed, xid: str) -> list[str]:
    return [t.status for t in attempts(ex, xid)]


def wait_task(client: CogniteClient, execution_id: str, xid: str, status: str, count: int = 1) -> Any:
    """The latest attempt of ``xid`` once it has ``count`` attempts and the last one has ``status``."""
    ex = wait_for(lambda: detailed(client, execution_id),
                  lambda e: len(attempts(e, xid)) == count and attempts(e, xid)[-1].status == status)
    return attempts(ex, xid)[-1]


def wait_status(client: CogniteClient, execution_id: str, status: str) -> WorkflowExecutionDetailed:
    return wait_for(lambda: detailed(client, execution_id), lambda e: e.status == status)


def raw_detailed(gateway_url: str, project: str, execution_id: str) -> dict[str, Any]:
    r = httpx.get(f"{gateway_url}/api/v1/projects/{project}/workflows/executions/{execution_id}")
    assert r.status_code == 200, r.text
    return r.json()


def test_fail_retry_complete_with_function_cdf_and_dynamic_tasks(client, gateway, functions: FunctionServer):
    xid = unique("etl")
    children = [
        {"externalId": "d-echo", "type": "function", "parameters": {"function": {"externalId": "echo",
                                                                                 "data": {"part": 1}}}},
        {"externalId": "d-async", "type": "function", "retries": 0,
         "parameters": {"function": {"externalId": "manual"}, "isAsyncComplete": True}},
    ]
    upsert(client, xid, [
        WorkflowTask("plan", FunctionTaskParameters("echo", data={"tasks": children})),
        WorkflowTask("fanout", DynamicTaskParameters("${plan.output.response.tasks}"), depends_on=["plan"]),
        WorkflowTask("check", CDFTaskParameters("/timeseries", "GET", query_parameters={"limit": 1}),
                     depends_on=["plan"]),
        async_task("load", depends_on=["fanout", "check"]),
    ])
    plans_before = functions.count("/fn/echo")
    run = client.workflows.executions.run(xid, "1", input={"day": "2024-10-29"}, metadata={"team": "ops"})
    assert run.status == "running"

    # a failure inside the dynamic task: only the nested task runs again, not the container
    nested = wait_task(client, run.id, "d-async", "in_progress")
    # let the sibling finish first: one still in flight when the execution fails is CANCELED, and a
    # retry rightly runs it again (that is not what this part of the test is about)
    wait_task(client, run.id, "d-echo", "completed")
    failed = client.workflows.tasks.update(nested.id, "failed", output={"error": "disk full"})
    assert failed.status == "failed"
    ex = wait_status(client, run.id, "failed")
    assert statuses(ex, "fanout") == ["failed"]
    retried = client.workflows.executions.retry(run.id)
    assert (retried.id, retried.status) == (run.id, "running")
    second = wait_task(client, run.id, "d-async", "in_progress", count=2)
    ex = detailed(client, run.id)
    assert statuses(ex, "d-async") == ["failed", "in_progress"]
    assert len(attempts(ex, "fanout")) == 1 and len(attempts(ex, "d-echo")) == 1 and len(attempts(ex, "plan")) == 1
    assert functions.count("/fn/echo") == plans_before + 2  # plan and d-echo ran once each
    client.workflows.tasks.update(second.id, "completed", output={"rows": 3})

    # a failure of a top-level async task, retried past its retry limit (retries=0)
    load = wait_task(client, run.id, "load", "in_progress")
    client.workflows.tasks.update(load.id, "failed")
    ex = wait_status(client, run.id, "failed")
    assert statuses(ex, "load") == ["failed"]
    again = client.workflows.executions.retry(run.id)
    assert (again.id, again.status, again.created_time) == (run.id, "running", run.created_time)
    load2 = wait_task(client, run.id, "load", "in_progress", count=2)
    assert load2.id != load.id
    done = client.workflows.tasks.update(load2.id, "completed", output={"response": {"loaded": 42}})
    assert done.status == "completed" and done.output.response == {"loaded": 42}
    ex = wait_status(client, run.id, "completed")

    # what retrieve_detailed shows: Cognite's shapes, every attempt in order
    assert [t.external_id for t in ex.executed_tasks] == ["plan", "fanout", "d-echo", "d-async", "d-async",
                                                          "check", "load", "load"]
    assert statuses(ex, "load") == ["failed", "completed"]
    assert ex.input == {"day": "2024-10-29"} and ex.metadata == {"team": "ops"}
    raw = raw_detailed(gateway.url, "acme", run.id)
    assert errors(component("WorkflowExecutionDetailed"), raw) == []
    assert raw["workflowDefinition"]["hash"] == client.workflows.versions.retrieve((xid, "1")).workflow_definition.hash_
    by_id = {t["id"]: t for t in raw["executedTasks"]}
    plan = next(t for t in raw["executedTasks"] if t["externalId"] == "plan")
    assert plan["taskType"] == "function" and plan["output"]["response"] == {"tasks": children}
    assert plan["input"] == {"function": {"externalId": "echo", "data": {"tasks": children}}, "asyncComplete": False}
    fanout = next(t for t in raw["executedTasks"] if t["externalId"] == "fanout")
    assert fanout["taskType"] == "dynamic" and fanout["output"] == {}
    assert [t["externalId"] for t in fanout["input"]["dynamic"]["tasks"]] == ["d-echo", "d-async"]
    assert {t["parentTaskExternalId"] for t in raw["executedTasks"] if t["externalId"].startswith("d-")} == {"fanout"}
    check = next(t for t in raw["executedTasks"] if t["externalId"] == "check")
    assert check["output"] == {"response": {"items": [{"externalId": "ts-1"}]}, "statusCode": 200}
    first_load = by_id[load.id]
    assert first_load["status"] == "FAILED" and first_load["reasonForIncompletion"]
    assert first_load["input"]["asyncComplete"] is True
    assert raw["status"] == "COMPLETED" and raw["endTime"] >= raw["startTime"] >= raw["createdTime"]


@pytest.mark.parametrize("retries", [0, 1])
def test_retry_gives_exhausted_tasks_exactly_one_attempt_per_call(client, retries):
    xid = unique(f"limits{retries}")
    upsert(client, xid, [async_task("step", retries=retries)])
    run = client.workflows.executions.run(xid, "1")
    for n in range(1, retries + 2):  # the task's own retries happen automatically
        task = wait_task(client, run.id, "step", "in_progress", count=n)
        client.workflows.tasks.update(task.id, "failed")
    ex = wait_status(client, run.id, "failed")
    assert len(attempts(ex, "step")) == retries + 1
    for call in (1, 2):
        client.workflows.executions.retry(run.id)
        task = wait_task(client, run.id, "step", "in_progress", count=retries + 1 + call)
        client.workflows.tasks.update(task.id, "failed")
        ex = wait_status(client, run.id, "failed")
        assert statuses(ex, "step") == ["failed"] * (retries + 1 + call)  # no automatic retry past the limit


def test_skip_task_is_not_retried(client):
    xid = unique("optional")
    upsert(client, xid, [async_task("optional", on_failure="skipTask"), async_task("required")])
    run = client.workflows.executions.run(xid, "1")
    optional = wait_task(client, run.id, "optional", "in_progress")
    client.workflows.tasks.update(optional.id, "failed")
    wait_task(client, run.id, "optional", "completed_with_errors")
    required = wait_task(client, run.id, "required", "in_progress")
    client.workflows.tasks.update(required.id, "failed")
    wait_status(client, run.id, "failed")
    client.workflows.executions.retry(run.id)
    wait_task(client, run.id, "required", "in_progress", count=2)
    ex = detailed(client, run.id)
    assert statuses(ex, "optional") == ["completed_with_errors"]


def test_failure_inside_subworkflow_retries_only_the_nested_task(client):
    child, parent = unique("child"), unique("parent")
    upsert(client, child, [async_task("extract"), async_task("transform", depends_on=["extract"])])
    upsert(client, parent, [WorkflowTask("stage", SubworkflowReferenceParameters(child, "1"), retries=0),
                            async_task("publish", depends_on=["stage"])])
    run = client.workflows.executions.run(parent, "1", input={"source": "s3"})
    extract = wait_task(client, run.id, "extract", "in_progress")
    client.workflows.tasks.update(extract.id, "completed")
    transform = wait_task(client, run.id, "transform", "in_progress")
    client.workflows.tasks.update(transform.id, "failed")
    ex = wait_status(client, run.id, "failed")
    assert statuses(ex, "stage") == ["failed"]
    client.workflows.executions.retry(run.id)
    transform2 = wait_task(client, run.id, "transform", "in_progress", count=2)
    ex = detailed(client, run.id)
    assert statuses(ex, "extract") == ["completed"]
    assert len(attempts(ex, "stage")) == 1 and statuses(ex, "stage") == ["in_progress"]
    client.workflows.tasks.update(transform2.id, "completed")
    publish = wait_task(client, run.id, "publish", "in_progress")
    client.workflows.tasks.update(publish.id, "completed")
    ex = wait_status(client, run.id, "completed")
    nested = [t for t in ex.executed_tasks if t.external_id in ("extract", "transform")]
    assert len(nested) == 3


def test_retry_refusals_are_cognite_errors(client):
    xid = unique("refusals")
    upsert(client, xid, [async_task("step")])
    run = client.workflows.executions.run(xid, "1")
    with pytest.raises(CogniteAPIError) as running:
        client.workflows.executions.retry(run.id)
    assert running.value.code == 400 and "status=RUNNING" in running.value.message
    step = wait_task(client, run.id, "step", "in_progress")
    client.workflows.tasks.update(step.id, "completed")
    wait_status(client, run.id, "completed")
    with pytest.raises(CogniteAPIError) as completed:
        client.workflows.executions.retry(run.id)
    assert completed.value.code == 400 and "status=COMPLETED" in completed.value.message
    unknown = str(uuid.uuid4())
    with pytest.raises(CogniteNotFoundError) as missing:
        client.workflows.executions.retry(unknown)
    assert missing.value.code == 404 and missing.value.missing == [{"id": unknown}]
    assert client.workflows.executions.retrieve_detailed(unknown) is None
    assert client.workflows.executions.retrieve_detailed("not-a-uuid") is None
    with pytest.raises(CogniteAPIError) as done_task:
        client.workflows.tasks.update(step.id, "completed")
    assert done_task.value.code == 400 and "already in a terminal state" in done_task.value.message


def test_a_function_endpoint_failure_fails_the_execution_and_retry_calls_it_again(client, functions):
    xid = unique("broken")
    upsert(client, xid, [WorkflowTask("call", FunctionTaskParameters("broken"), retries=0)])
    before = functions.count("/fn/broken")
    run = client.workflows.executions.run(xid, "1")
    ex = wait_status(client, run.id, "failed")
    assert statuses(ex, "call") == ["failed"]
    client.workflows.executions.retry(run.id)
    ex = wait_for(lambda: detailed(client, run.id), lambda e: statuses(e, "call") == ["failed", "failed"])
    assert ex.status == "failed" and functions.count("/fn/broken") == before + 2


def test_async_function_is_called_with_its_task_id_and_waits_for_tasks_update(client, functions):
    xid = unique("async-call")
    upsert(client, xid, [WorkflowTask("job", FunctionTaskParameters("starter", data={"rows": "${workflow.input.rows}"},
                                                                    is_async_complete=True), retries=0)])
    run = client.workflows.executions.run(xid, "1", input={"rows": 5})
    job = wait_task(client, run.id, "job", "in_progress")
    call = wait_for(lambda: [b for p, b in functions.calls if p == "/fn/started" and
                             b.get("cogniteOrchestrationTaskId") == job.id], lambda found: len(found) == 1)[0]
    assert call == {"rows": 5, "cogniteOrchestrationTaskId": job.id}
    assert detailed(client, run.id).status == "running"  # the 202 of the function does not complete the task
    client.workflows.tasks.update(job.id, "failed_with_terminal_error")
    wait_status(client, run.id, "failed")
    client.workflows.executions.retry(run.id)
    job2 = wait_task(client, run.id, "job", "in_progress", count=2)
    wait_for(lambda: [b for p, b in functions.calls if p == "/fn/started"
                      and b.get("cogniteOrchestrationTaskId") == job2.id], lambda found: len(found) == 1)
    client.workflows.tasks.update(job2.id, "completed", output={"response": {"rows": 5}})
    assert wait_status(client, run.id, "completed").executed_tasks[-1].output.response == {"rows": 5}


def test_inline_subworkflow_runs_its_tasks_and_retries_only_the_failed_one(client):
    from cognite.client.data_classes.workflows import SubworkflowTaskParameters

    xid = unique("inline")
    upsert(client, xid, [WorkflowTask("stage", SubworkflowTaskParameters([
        async_task("inner-a"), async_task("inner-b", depends_on=["inner-a"])]), retries=0)])
    run = client.workflows.executions.run(xid, "1")
    a = wait_task(client, run.id, "inner-a", "in_progress")
    client.workflows.tasks.update(a.id, "completed")
    b = wait_task(client, run.id, "inner-b", "in_progress")
    client.workflows.tasks.update(b.id, "failed")
    wait_status(client, run.id, "failed")
    client.workflows.executions.retry(run.id)
    b2 = wait_task(client, run.id, "inner-b", "in_progress", count=2)
    client.workflows.tasks.update(b2.id, "completed")
    ex = wait_status(client, run.id, "completed")
    assert [(t.external_id, t.status) for t in ex.executed_tasks] == [
        ("stage", "completed"), ("inner-a", "completed"), ("inner-b", "failed"), ("inner-b", "completed")]
    assert ex.workflow_definition.tasks[0].parameters.tasks[1].depends_on == ["inner-a"]
