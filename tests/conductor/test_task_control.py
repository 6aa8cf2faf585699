"""Acceptance through the unmodified conductor-python 2.0.0: skipping a task of a running workflow
(``WorkflowClient.skip_task_from_workflow``, which sends the SkipTaskRequest as a query value) and
resetting the callbacks of its queued tasks (``WorkflowResourceApi.reset_workflow``)."""

from __future__ import annotations

import httpx
import pytest
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.api.workflow_resource_api import WorkflowResourceApi
from conductor.client.http.api_client import ApiClient
from conductor.client.http.models import SkipTaskRequest, StartWorkflowRequest, TaskResult
from conductor.client.http.models.workflow_def import WorkflowDef
from conductor.client.http.models.workflow_task import WorkflowTask
from conductor.client.http.rest import ApiException
from conductor.client.orkes_clients import OrkesClients

from tests.conductor.sdk_support import rows, wait_status

ONLY_CONDUCTOR = {"cognite": {"enabled": False}, "altostrat": {"enabled": False}}




@pytest.fixture(scope="module")
def clients(config: Configuration) -> OrkesClients:
    clients = OrkesClients(configuration=config)
    metadata = clients.get_metadata_client()
    metadata.register_workflow_def(WorkflowDef(
        name="skip_three_waits", version=1, schema_version=2, timeout_seconds=0,
        tasks=[WorkflowTask(name=f"{r}_wait", task_reference_name=f"{r}_ref", type="WAIT") for r in ("a", "b", "c")],
        output_parameters={"b": "${b_ref.output.note}"}), overwrite=True)
    metadata.register_workflow_def(WorkflowDef(
        name="callback_flow", version=1, schema_version=2, timeout_seconds=0,
        tasks=[WorkflowTask(name="cb_worker_task", task_reference_name="work_ref", type="SIMPLE")]), overwrite=True)
    return clients


def conflict(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(ApiException) as err:
        call()
    assert err.value.status == 409, err.value.body
    return str(httpx.Response(409, content=err.value.body).json()["message"])


def test_skip_a_task_the_workflow_has_not_reached(clients: OrkesClients) -> None:
    wc, tasks = clients.get_workflow_client(), clients.get_task_client()
    workflow_id = wc.start_workflow(StartWorkflowRequest(name="skip_three_waits", version=1))
    wc.skip_task_from_workflow(workflow_id, "b_ref", SkipTaskRequest(task_output={"note": "not needed"}))
    wf = wc.get_workflow(workflow_id, include_tasks=True)
    assert rows(wf) == [("a_ref", "IN_PROGRESS"), ("b_ref", "SKIPPED")]  # c waits for a
    skipped = wf.tasks[1]
    assert skipped.output_data == {"note": "not needed"} and skipped.end_time

    tasks.update_task_by_ref_name(workflow_id, "a_ref", "COMPLETED", {})
    wf = wc.get_workflow(workflow_id, include_tasks=True)
    assert rows(wf) == [("a_ref", "COMPLETED"), ("b_ref", "SKIPPED"), ("c_ref", "IN_PROGRESS")]
    tasks.update_task_by_ref_name(workflow_id, "c_ref", "COMPLETED", {})
    done = wait_status(clients, workflow_id, "COMPLETED")
    assert done.output == {"b": "not needed"}


def test_skip_refusals_carry_conductors_messages(clients: OrkesClients, gateway: str) -> None:
    wc = clients.get_workflow_client()
    workflow_id = wc.start_workflow(StartWorkflowRequest(name="skip_three_waits", version=1))
    empty = SkipTaskRequest()
    assert conflict(lambda: wc.skip_task_from_workflow(workflow_id, "a_ref", empty)) == (
        "The task referenced a_ref has already been processed, cannot be skipped")
    assert conflict(lambda: wc.skip_task_from_workflow(workflow_id, "nope_ref", empty)) == (
        "The task referenced by nope_ref does not exist in the WorkflowDefinition skip_three_waits")
    wc.skip_task_from_workflow(workflow_id, "c_ref", empty)
    assert conflict(lambda: wc.skip_task_from_workflow(workflow_id, "c_ref", empty)) == (
        "The task referenced c_ref has already been processed, cannot be skipped")
    wc.terminate_workflow(workflow_id, "done")
    assert conflict(lambda: wc.skip_task_from_workflow(workflow_id, "b_ref", empty)) == (
        f"The workflow {workflow_id} is not running so the task referenced by b_ref cannot be skipped")
    unknown = httpx.put(f"{gateway}/api/workflow/no-such-id/skiptask/a_ref")
    assert unknown.status_code == 404 and unknown.json()["message"] == "No such workflow found by id: no-such-id"


def test_skip_request_as_a_json_body(clients: OrkesClients, gateway: str) -> None:
    wc = clients.get_workflow_client()
    workflow_id = wc.start_workflow(StartWorkflowRequest(name="skip_three_waits", version=1))
    answer = httpx.put(f"{gateway}/api/workflow/{workflow_id}/skiptask/c_ref",
                       json={"taskInput": {"why": "manual"}, "taskOutput": {"note": "x"}})
    assert answer.status_code == 200 and answer.content == b""
    skipped = wc.get_workflow(workflow_id, include_tasks=True).tasks[-1]
    assert (skipped.reference_task_name, skipped.input_data, skipped.output_data) == (
        "c_ref", {"why": "manual"}, {"note": "x"})


def test_reset_callbacks_makes_a_delayed_task_pollable(clients: OrkesClients, config: Configuration) -> None:
    wc, tasks = clients.get_workflow_client(), clients.get_task_client()
    raw = WorkflowResourceApi(ApiClient(config))
    workflow_id = wc.start_workflow(StartWorkflowRequest(name="callback_flow", version=1))
    polled = tasks.poll_task("cb_worker_task", worker_id="w1")
    assert polled is not None and polled.workflow_instance_id == workflow_id
    tasks.update_task(TaskResult(workflow_instance_id=workflow_id, task_id=polled.task_id, status="IN_PROGRESS",
                                 callback_after_seconds=3600, worker_id="w1"))
    nothing = tasks.poll_task("cb_worker_task", worker_id="w1")
    assert nothing is None or nothing.task_id is None  # held back for an hour
    raw.reset_workflow(workflow_id)
    again = tasks.poll_task("cb_worker_task", worker_id="w1")
    assert again is not None and again.task_id == polled.task_id
    tasks.update_task(TaskResult(workflow_instance_id=workflow_id, task_id=again.task_id, status="COMPLETED",
                                 worker_id="w1"))
    wait_status(clients, workflow_id, "COMPLETED")
    with pytest.raises(ApiException) as err:
        raw.reset_workflow(workflow_id)
    assert err.value.status == 409
    assert httpx.Response(409, content=err.value.body).json()["message"] == (
        "Workflow is in terminal state. Status = COMPLETED")
