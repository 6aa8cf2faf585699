"""Definitions as the OSS server takes them: a minimal TaskDef / WorkflowDef registered through
conductor-python comes back on GET with every field the server's model classes default, and each
constraint of those classes is refused with the server's own 400 message."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.api_client import ApiClient
from conductor.client.http.models.task_def import TaskDef
from conductor.client.http.models.workflow_def import WorkflowDef
from conductor.client.http.models.workflow_task import WorkflowTask
from conductor.client.http.rest import ApiException
from conductor.client.orkes_clients import OrkesClients

from tests.conductor.spec_check import checked_client
from tests.support.server import RunningGateway

# TaskDef.java / WorkflowDef.java / WorkflowTask.java field initialisers (NON_NULL: null fields absent)
TASK_DEF_DEFAULTS: dict[str, Any] = {
    "retryCount": 3, "timeoutSeconds": 0, "inputKeys": [], "outputKeys": [], "timeoutPolicy": "TIME_OUT_WF",
    "retryLogic": "FIXED", "retryDelaySeconds": 60, "responseTimeoutSeconds": 3600, "inputTemplate": {},
    "rateLimitPerFrequency": 0, "rateLimitFrequencyInSeconds": 1, "backoffScaleFactor": 1,
}
TASK_DEF_ABSENT = ("description", "concurrentExecLimit", "isolationGroupId", "executionNameSpace", "ownerEmail",
                   "pollTimeoutSeconds")
WORKFLOW_DEF_DEFAULTS: dict[str, Any] = {
    "version": 1, "inputParameters": [], "outputParameters": {}, "schemaVersion": 2, "restartable": True,
    "workflowStatusListenerEnabled": False, "timeoutPolicy": "ALERT_ONLY", "timeoutSeconds": 0, "variables": {},
    "inputTemplate": {}, "metadata": {}, "maskedFields": [],
}
WORKFLOW_DEF_ABSENT = ("description", "failureWorkflow", "failureWorkflowVersion", "ownerEmail",
                       "workflowStatusListenerSink", "rateLimitConfig", "inputSchema", "outputSchema")
WORKFLOW_TASK_DEFAULTS: dict[str, Any] = {
    "inputParameters": {}, "type": "SIMPLE", "startDelay": 0, "optional": False, "asyncComplete": False,
}
WORKFLOW_TASK_ABSENT = ("decisionCases", "defaultCase", "forkTasks", "joinOn", "loopOver",
                        "defaultExclusiveJoinTask", "subWorkflowParam", "taskDefinition", "retryCount")


@pytest.fixture(scope="module")
def sdk(open_gateway: RunningGateway) -> Any:
    config = Configuration(server_api_url=f"{open_gateway.url}/api")
    return OrkesClients(configuration=config).get_metadata_client()


@pytest.fixture(scope="module")
def raw(open_gateway: RunningGateway) -> Iterator[httpx.Client]:
    with checked_client(open_gateway.url) as client:
        yield client


def test_a_minimal_task_def_comes_back_with_every_server_default(sdk: Any, raw: httpx.Client) -> None:
    sdk.register_task_def(TaskDef(name="dd_minimal"))
    got = raw.get("/api/metadata/taskdefs/dd_minimal").json()
    for field, default in TASK_DEF_DEFAULTS.items():
        assert got.get(field, "<absent>") == default, field
    assert not [f for f in TASK_DEF_ABSENT if f in got]
    assert got["createTime"] > 0
    listed = {d["name"]: d for d in raw.get("/api/metadata/taskdefs").json()}
    assert {k: listed["dd_minimal"][k] for k in TASK_DEF_DEFAULTS} == TASK_DEF_DEFAULTS
    model = sdk.get_task_def("dd_minimal")  # what the SDK's model shows
    assert (model.retry_count, model.timeout_policy, model.response_timeout_seconds, model.backoff_scale_factor) == (
        3, "TIME_OUT_WF", 3600, 1)


def test_a_minimal_workflow_def_comes_back_with_every_server_default(sdk: Any, raw: httpx.Client) -> None:
    sdk.register_task_def(TaskDef(name="dd_step"))
    sdk.register_workflow_def(WorkflowDef(name="dd_flow", version=1, tasks=[
        WorkflowTask(name="dd_step", task_reference_name="dd_step_ref")]), overwrite=True)
    got = raw.get("/api/metadata/workflow/dd_flow").json()
    for field, default in WORKFLOW_DEF_DEFAULTS.items():
        assert got.get(field, "<absent>") == default, field
    assert not [f for f in WORKFLOW_DEF_ABSENT if f in got]
    [task] = got["tasks"]
    assert task["name"] == "dd_step" and task["taskReferenceName"] == "dd_step_ref"
    for field, default in WORKFLOW_TASK_DEFAULTS.items():
        assert task.get(field, "<absent>") == default, field
    assert not [f for f in WORKFLOW_TASK_ABSENT if f in task]
    model = sdk.get_workflow_def("dd_flow", version=1)
    assert (model.timeout_policy, model.restartable, model.schema_version) == ("ALERT_ONLY", True, 2)
    assert model.tasks[0].optional is False and model.tasks[0].start_delay == 0


def test_nested_tasks_get_the_defaults_and_empty_containers_stay_absent(sdk: Any, raw: httpx.Client) -> None:
    fork = WorkflowTask(name="dd_fork", task_reference_name="dd_fork_ref", type="FORK_JOIN",
                        fork_tasks=[[WorkflowTask(name="dd_step", task_reference_name="dd_a_ref")],
                                    [WorkflowTask(name="dd_step", task_reference_name="dd_b_ref")]])
    join = WorkflowTask(name="dd_join", task_reference_name="dd_join_ref", type="JOIN",
                        join_on=["dd_a_ref", "dd_b_ref"])
    sdk.register_workflow_def(WorkflowDef(name="dd_forked", version=1, tasks=[fork, join]), overwrite=True)
    got = raw.get("/api/metadata/workflow/dd_forked").json()
    branch_task = got["tasks"][0]["forkTasks"][1][0]
    assert {k: branch_task[k] for k in WORKFLOW_TASK_DEFAULTS} == WORKFLOW_TASK_DEFAULTS
    assert got["tasks"][1]["joinOn"] == ["dd_a_ref", "dd_b_ref"] and "forkTasks" not in got["tasks"][1]


STEP = {"name": "dd_step", "taskReferenceName": "dd_ref"}
# (operation, body, the violation's path, Conductor's message)
VIOLATIONS: list[tuple[str, str, Any, str, str]] = [
    ("POST", "/metadata/taskdefs", [{"retryCount": 1}], "body.0.name", "TaskDef name cannot be null or empty"),
    ("POST", "/metadata/taskdefs", [{"name": ""}], "body.0.name", "TaskDef name cannot be null or empty"),
    ("POST", "/metadata/taskdefs", [{"name": "dd_bad", "timeoutSeconds": 10}], "body.0",
     "TaskDef: dd_bad responseTimeoutSeconds: 3600 must be less than timeoutSeconds: 10"),
    ("PUT", "/metadata/taskdefs", {"name": "dd_bad", "timeoutSeconds": 10, "responseTimeoutSeconds": 20}, "body",
     "TaskDef: dd_bad responseTimeoutSeconds: 20 must be less than timeoutSeconds: 10"),
    ("POST", "/metadata/taskdefs", [{"name": "dd_bad", "retryCount": -1}], "body.0.retryCount",
     "TaskDef retryCount: 0 must be >= 0"),
    ("POST", "/metadata/taskdefs", [{"name": "dd_bad", "responseTimeoutSeconds": 0}],
     "body.0.responseTimeoutSeconds", "TaskDef responseTimeoutSeconds: 0 should be minimum 1 second"),
    ("POST", "/metadata/taskdefs", [{"name": "dd_bad", "pollTimeoutSeconds": -5}], "body.0.pollTimeoutSeconds",
     "TaskDef pollTimeoutSeconds: 0 must be >= 0"),
    ("POST", "/metadata/taskdefs", [{"name": "dd_bad", "backoffScaleFactor": 0}], "body.0.backoffScaleFactor",
     "Backoff scale factor. Applicable for LINEAR_BACKOFF"),
    ("POST", "/metadata/taskdefs", [{"name": "dd_bad", "ownerEmail": "not-an-address"}], "body.0.ownerEmail",
     "ownerEmail should be valid email address"),
    ("POST", "/metadata/workflow", {"tasks": [STEP]}, "body.name", "WorkflowDef name cannot be null or empty"),
    ("POST", "/metadata/workflow", {"name": "", "tasks": [STEP]}, "body.name",
     "WorkflowDef name cannot be null or empty"),
    ("POST", "/metadata/workflow", {"name": "dd_bad"}, "body.tasks", "WorkflowTask list cannot be empty"),
    ("POST", "/metadata/workflow", {"name": "dd_bad", "tasks": []}, "body.tasks", "WorkflowTask list cannot be empty"),
    ("POST", "/metadata/workflow", {"name": "dd_bad", "schemaVersion": 1, "tasks": [STEP]}, "body.schemaVersion",
     "workflowDef schemaVersion: 2 is only supported"),
    ("POST", "/metadata/workflow", {"name": "dd_bad", "tasks": [{"name": "dd_step"}]},
     "body.tasks.0.taskReferenceName", "WorkflowTask taskReferenceName name cannot be empty or null"),
    ("PUT", "/metadata/workflow", [{"name": "dd_bad", "tasks": [{"taskReferenceName": "dd_ref"}]}],
     "body.0.tasks.0.name", "WorkflowTask name cannot be empty or null"),
    ("POST", "/metadata/workflow", {"name": "dd_bad", "tasks": [{**STEP, "startDelay": -1}]},
     "body.tasks.0.startDelay", "must be greater than or equal to 0"),
]


@pytest.mark.parametrize(("method", "path", "body", "where", "message"), VIOLATIONS,
                         ids=[f"{v[0]} {v[1]} {v[4][:40]}" for v in VIOLATIONS])
def test_each_constraint_is_refused_with_the_servers_message(
        open_gateway: RunningGateway, method: str, path: str, body: Any, where: str, message: str) -> None:
    api = ApiClient(Configuration(server_api_url=f"{open_gateway.url}/api"))
    with pytest.raises(ApiException) as caught:
        api.call_api(path, method, body=body, header_params={"Content-Type": "application/json"},
                     _return_http_data_only=True)
    assert caught.value.status == 400
    answer = json.loads(caught.value.body)
    assert answer["message"] == "Validation failed, check below errors for detail."
    assert {"path": where, "message": message} in [
        {"path": e["path"], "message": e["message"]} for e in answer["validationErrors"]], answer
    name = body[0].get("name") if isinstance(body, list) else body.get("name")
    if name == "dd_bad" and "taskdefs" in path:  # nothing of a refused batch is stored
        with pytest.raises(ApiException):
            api.call_api("/metadata/taskdefs/dd_bad", "GET", _return_http_data_only=True)


def test_a_run_s_tasks_carry_their_workflow_task_with_the_defaults(sdk: Any, raw: httpx.Client) -> None:
    sdk.register_task_def(TaskDef(name="dd_step"))
    sdk.register_workflow_def(WorkflowDef(name="dd_run", version=1, tasks=[
        WorkflowTask(name="dd_step", task_reference_name="dd_run_ref")]), overwrite=True)
    wid = raw.post("/api/workflow/dd_run", json={}).text
    run = raw.get(f"/api/workflow/{wid}").json()
    assert {k: run["tasks"][0]["workflowTask"][k] for k in WORKFLOW_TASK_DEFAULTS} == WORKFLOW_TASK_DEFAULTS
    assert run["workflowDefinition"]["timeoutPolicy"] == "ALERT_ONLY"
    raw.delete(f"/api/workflow/{wid}")
