"""Acceptance through the unmodified conductor-python 2.0.0: Orkes' changes to a running workflow --
``OrkesWorkflowClient.update_variables`` (``POST /api/workflow/{id}/variables``) and ``update_state``
(``POST /api/workflow/{id}/state``: variables, a task's result, then a wait as the synchronous
execute's) -- and Orkes' YIELD task, which waits until a signal ends it."""

from __future__ import annotations

import json

import httpx
import pytest
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.models import StartWorkflowRequest, TaskResult
from conductor.client.http.models.task_result_status import TaskResultStatus
from conductor.client.http.models.workflow_def import WorkflowDef
from conductor.client.http.models.workflow_state_update import WorkflowStateUpdate
from conductor.client.http.models.workflow_task import WorkflowTask
from conductor.client.http.rest import ApiException
from conductor.client.orkes_clients import OrkesClients
from conductor.client.workflow.conductor_workflow import ConductorWorkflow
from conductor.client.workflow.executor.workflow_executor import WorkflowExecutor
from conductor.client.workflow.task.switch_task import SwitchTask
from conductor.client.workflow.task.wait_task import WaitTask

from tests.conductor.sdk_support import wait_status


@pytest.fixture(scope="module")
def clients(config: Configuration) -> OrkesClients:
    clients = OrkesClients(configuration=config)
    metadata = clients.get_metadata_client()
    # conductor-python's examples/orkes/sync_updates.py, without its HTTP task to a public host
    flow = ConductorWorkflow(executor=clients.get_workflow_executor(), name="st_sync_updates", version=1)
    switch = SwitchTask(task_ref_name="switch_ref", case_expression="${workflow.variables.case}")
    switch.switch_case("case1", [WaitTask(task_ref_name="wait_task_ref_1")])
    switch.switch_case("case2", [WaitTask(task_ref_name="wait_task_ref_2")])
    flow >> WaitTask(task_ref_name="wait_task_ref") >> switch
    flow.output_parameters({"case": "${workflow.variables.case}", "first": "${wait_task_ref.output}"})
    flow.register(overwrite=True)
    metadata.register_workflow_def(WorkflowDef(
        name="st_worker", version=1, timeout_seconds=0,
        tasks=[WorkflowTask(name="st_one", task_reference_name="one_ref", type="SIMPLE"),
               WorkflowTask(name="st_two", task_reference_name="two_ref", type="SIMPLE")],
        output_parameters={"one": "${one_ref.output}", "seen": "${workflow.variables}"}), overwrite=True)
    metadata.register_workflow_def(WorkflowDef(
        name="st_yield", version=1, timeout_seconds=0,
        tasks=[WorkflowTask(name="hand_over", task_reference_name="yield_ref", type="YIELD",
                            input_parameters={"who": "${workflow.input.who}", "duration": "1 s"}),
               WorkflowTask(name="after", task_reference_name="after_ref", type="YIELD")],
        output_parameters={"got": "${yield_ref.output.answer}"}), overwrite=True)
    return clients


def start(clients: OrkesClients, name: str, **input: object) -> str:
    return clients.get_workflow_client().start_workflow(StartWorkflowRequest(name=name, version=1, input=input))


def completed(ref: str, output: dict[str, object] | None = None,
              variables: dict[str, object] | None = None) -> WorkflowStateUpdate:
    result = TaskResult(status=TaskResultStatus.COMPLETED, output_data=output or {})
    return WorkflowStateUpdate(task_reference_name=ref, task_result=result, variables=variables)


def test_update_state_sets_variables_before_the_task_decides_then_waits_for_the_next_block(
        clients: OrkesClients) -> None:
    """sync_updates.py: the SWITCH after the WAIT reads the variable the same update sets."""
    wc = clients.get_workflow_client()
    workflow_id = start(clients, "st_sync_updates")
    run = wc.update_state(workflow_id, completed("wait_task_ref", {"by": "update"}, {"case": "case1"}),
                          wait_until_task_ref_names=["wait_task_ref_1", "wait_task_ref_2"], wait_for_seconds=10)
    assert run.workflow_id == workflow_id and run.status == "RUNNING" and run.request_id
    assert run.variables == {"case": "case1"}
    assert [(t.reference_task_name, t.status) for t in run.tasks] == [
        ("wait_task_ref", "COMPLETED"), ("switch_ref", "COMPLETED"), ("wait_task_ref_1", "IN_PROGRESS")]
    assert run.tasks[0].output_data == {"by": "update"}

    done = wc.update_state(workflow_id, completed("wait_task_ref_1"), wait_for_seconds=1)
    assert done.status == "COMPLETED"
    assert done.output == {"case": "case1", "first": {"by": "update"}}


def test_update_state_of_a_worker_task_and_only_variables(clients: OrkesClients) -> None:
    """The Go SDK's TestUpdateWorkflowAndTaskState: a SIMPLE task nobody polled is completed by ref
    name; variables alone change only the variables, and waitForSeconds 0 answers at once."""
    wc = clients.get_workflow_client()
    workflow_id = start(clients, "st_worker")
    run = wc.update_state(workflow_id, WorkflowStateUpdate(variables={"step": 1}), wait_for_seconds=0)
    assert run.status == "RUNNING" and run.variables == {"step": 1}
    assert [(t.reference_task_name, t.status) for t in run.tasks] == [("one_ref", "SCHEDULED")]

    run = wc.update_state(workflow_id, completed("one_ref", {"n": 1}, {"step": 2}), wait_for_seconds=0)
    assert run.variables == {"step": 2}
    assert [(t.reference_task_name, t.status) for t in run.tasks][0] == ("one_ref", "COMPLETED")
    # a task of that name that has already ended is left as it is
    again = wc.update_state(workflow_id, completed("one_ref", {"n": 99}), wait_for_seconds=0)
    assert again.tasks[0].output_data == {"n": 1}

    done = wc.update_state(workflow_id, completed("two_ref"), wait_until_task_ref_names=["two_ref"])
    assert done.status == "COMPLETED" and done.output == {"one": {"n": 1}, "seen": {"step": 2}}


def test_update_state_refusals(gateway: str, clients: OrkesClients) -> None:
    wc = clients.get_workflow_client()
    with pytest.raises(ApiException) as unknown:
        wc.update_state("no-such-id", completed("one_ref"))
    assert unknown.value.status == 404
    assert json.loads(unknown.value.body)["message"] == "No such workflow found by id: no-such-id"

    workflow_id = start(clients, "st_worker")
    with pytest.raises(ApiException) as no_task:
        wc.update_state(workflow_id, completed("two_ref", variables={"lost": True}))
    assert no_task.value.status == 404 and "two_ref" in no_task.value.body
    assert wc.get_workflow(workflow_id, include_tasks=False).variables == {}  # nothing half-written

    http = httpx.Client(base_url=f"{gateway}/api")
    for bad in ({"taskResult": {"status": "COMPLETED"}},  # for which task?
                {"taskReferenceName": "one_ref", "taskResult": {"status": "DONE"}},
                {"taskReferenceName": "one_ref", "taskResult": {}},
                {"variables": []}):
        got = http.post(f"/workflow/{workflow_id}/state", params={"requestId": "r1"}, json=bad)
        assert got.status_code == 400, (bad, got.text)
        assert got.json()["message"] == "Validation failed, check below errors for detail."
    assert http.post(f"/workflow/{workflow_id}/state", content=b"{not json",
                     headers={"Content-Type": "application/json"}).status_code == 400

    wc.terminate_workflow(workflow_id, "enough")
    with pytest.raises(ApiException) as ended:
        wc.update_state(workflow_id, completed("one_ref", variables={"late": True}))
    assert ended.value.status == 409 and "TERMINATED" in ended.value.body
    assert wc.get_workflow(workflow_id, include_tasks=False).variables == {}


def test_update_variables_of_a_running_workflow(gateway: str, clients: OrkesClients) -> None:
    wc = clients.get_workflow_client()
    workflow_id = start(clients, "st_worker")
    wc.update_variables(workflow_id, {"a": 1, "nested": {"b": [1, 2]}})
    wc.update_variables(workflow_id, {"a": 2})
    assert wc.get_workflow(workflow_id, include_tasks=False).variables == {"a": 2, "nested": {"b": [1, 2]}}
    http = httpx.Client(base_url=f"{gateway}/api")
    answer = http.post(f"/workflow/{workflow_id}/variables", json={"c": True})
    assert answer.status_code == 200 and answer.json()["variables"] == {"a": 2, "nested": {"b": [1, 2]}, "c": True}
    assert answer.json()["tasks"][0]["referenceTaskName"] == "one_ref"
    assert http.post(f"/workflow/{workflow_id}/variables", json=[1]).status_code == 400

    with pytest.raises(ApiException) as unknown:
        wc.update_variables("no-such-id", {"a": 1})
    assert unknown.value.status == 404 and "No such workflow found by id: no-such-id" in unknown.value.body
    wc.terminate_workflow(workflow_id, "enough")
    with pytest.raises(ApiException) as ended:
        wc.update_variables(workflow_id, {"a": 3})
    assert ended.value.status == 409
    assert wc.get_workflow(workflow_id, include_tasks=False).variables["a"] == 2


def test_yield_waits_for_a_signal(config: Configuration, clients: OrkesClients) -> None:
    """YIELD is never polled; it has no timer (a ``duration`` input is only input); a synchronous
    execute stops at it and a signal ends it."""
    executor = WorkflowExecutor(config)
    run = executor.execute_workflow_with_return_strategy(
        StartWorkflowRequest(name="st_yield", version=1, input={"who": "ann"}), wait_for_seconds=10,
        return_strategy="BLOCKING_TASK")
    workflow_id = run.target_workflow_id
    assert (run.reference_task_name, run.task_type, run.status.value) == ("yield_ref", "YIELD", "IN_PROGRESS")
    tasks = clients.get_task_client()
    polled = tasks.poll_task("YIELD", worker_id="w1")
    assert polled is None or polled.task_id is None  # nothing is queued for workers

    blocked = executor.signal(workflow_id, "COMPLETED", {"answer": 42}, return_strategy="BLOCKING_TASK")
    assert (blocked.reference_task_name, blocked.status.value) == ("after_ref", "IN_PROGRESS")
    executor.signal_async(workflow_id, "COMPLETED", {})
    done = wait_status(clients, workflow_id, "COMPLETED")
    assert done.output == {"got": 42} and [t.task_type for t in done.tasks] == ["YIELD", "YIELD"]
