"""Acceptance through the unmodified conductor-python 2.0.0: ``WorkflowClient.test_workflow`` runs a
definition with mocked task outputs (``POST /api/workflow/test``) -- nothing is kept as a real run,
no worker ever sees its tasks, a sub-workflow takes its own mocks."""

from __future__ import annotations

import httpx
import pytest
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.models import TaskDef
from conductor.client.http.models.workflow_def import WorkflowDef
from conductor.client.http.models.workflow_task import WorkflowTask
from conductor.client.http.models.workflow_test_request import WorkflowTestRequest
from conductor.client.http.rest import ApiException
from conductor.client.orkes_clients import OrkesClients

from tests.conductor.sdk_support import rows

ONLY_CONDUCTOR = {"cognite": {"enabled": False}, "altostrat": {"enabled": False}}



@pytest.fixture(scope="module")
def clients(gateway: str) -> OrkesClients:
    clients = OrkesClients(configuration=Configuration(server_api_url=f"{gateway}/api"))
    metadata = clients.get_metadata_client()
    metadata.register_task_def(TaskDef(name="mock_charge", retry_count=1, retry_delay_seconds=0))
    metadata.register_workflow_def(WorkflowDef(
        name="mock_child", version=1, schema_version=2, timeout_seconds=0,
        tasks=[WorkflowTask(name="mock_ship", task_reference_name="ship_ref", type="SIMPLE")],
        output_parameters={"tracking": "${ship_ref.output.tracking}"}), overwrite=True)
    metadata.register_workflow_def(WorkflowDef(
        name="mock_order", version=1, schema_version=2, timeout_seconds=0,
        tasks=[WorkflowTask(name="mock_charge", task_reference_name="charge_ref", type="SIMPLE",
                            input_parameters={"amount": "${workflow.input.amount}"}),
               WorkflowTask(name="mock_notify", task_reference_name="notify_ref", type="HTTP",
                            input_parameters={"http_request": {"uri": "http://127.0.0.1:9/never", "method": "POST"}}),
               WorkflowTask(name="child", task_reference_name="child_ref", type="SUB_WORKFLOW",
                            sub_workflow_param={"name": "mock_child", "version": 1})],
        output_parameters={"charged": "${charge_ref.output.charged}", "tracking": "${child_ref.output.tracking}"}),
        overwrite=True)
    return clients


def test_mocked_run_completes_and_is_not_kept(clients: OrkesClients, gateway: str) -> None:
    wc, tasks = clients.get_workflow_client(), clients.get_task_client()
    run = wc.test_workflow(WorkflowTestRequest(
        name="mock_order", version=1, input={"amount": 12},
        task_ref_to_mock_output={
            "charge_ref": [{"status": "FAILED", "output": {"declined": True}},
                           {"status": "COMPLETED", "output": {"charged": True}}],
            "notify_ref": [{"status": "COMPLETED", "output": {"response": {"statusCode": 204}}}]},
        sub_workflow_test_request={"child_ref": WorkflowTestRequest(
            name="mock_child", task_ref_to_mock_output={"ship_ref": [{"status": "COMPLETED",
                                                                      "output": {"tracking": "T-1"}}]})}))
    assert run.status == "COMPLETED", rows(run)
    assert run.output == {"charged": True, "tracking": "T-1"}
    assert rows(run) == [("charge_ref", "FAILED"), ("charge_ref", "COMPLETED"), ("notify_ref", "COMPLETED"),
                         ("child_ref", "COMPLETED")]
    assert run.tasks[0].input_data == {"amount": 12}
    # nothing kept: the id is unknown, no search lists it, no worker is handed its tasks
    gone = httpx.get(f"{gateway}/api/workflow/{run.workflow_id}")
    assert gone.status_code == 404
    assert httpx.get(f"{gateway}/api/workflow/search", params={"query": "workflowType = 'mock_order'"}).json()[
        "totalHits"] == 0
    nothing = tasks.poll_task("mock_charge", worker_id="w1")
    assert nothing is None or nothing.task_id is None


def test_a_task_without_a_mock_leaves_the_run_where_it_stands(clients: OrkesClients) -> None:
    run = clients.get_workflow_client().test_workflow(WorkflowTestRequest(
        name="mock_order", input={"amount": 1},
        task_ref_to_mock_output={"charge_ref": [{"status": "COMPLETED", "output": {"charged": True}}]}))
    assert run.status == "RUNNING"
    assert rows(run) == [("charge_ref", "COMPLETED"), ("notify_ref", "SCHEDULED")]  # never sent


def test_inline_definition_and_refusals(clients: OrkesClients, gateway: str) -> None:
    inline = {"name": "mock_inline", "version": 1, "timeoutSeconds": 0,
              "tasks": [{"name": "pick", "taskReferenceName": "pick_ref", "type": "SIMPLE"}]}
    got = httpx.post(f"{gateway}/api/workflow/test", json={
        "name": "mock_inline", "workflowDef": inline,
        "taskRefToMockOutput": {"pick_ref": [{"status": "FAILED_WITH_TERMINAL_ERROR", "output": {}}]}})
    assert got.status_code == 200 and got.json()["status"] == "FAILED"
    with pytest.raises(ApiException) as err:
        clients.get_workflow_client().test_workflow(WorkflowTestRequest(name="mock_nothing", version=2))
    assert err.value.status == 404 and "No such workflow defined. name=mock_nothing, version=2" in err.value.body
    bad = httpx.post(f"{gateway}/api/workflow/test", json={
        "name": "mock_order", "taskRefToMockOutput": {"charge_ref": [{"status": "DONE"}]}})
    assert bad.status_code == 400 and bad.json()["validationErrors"]
