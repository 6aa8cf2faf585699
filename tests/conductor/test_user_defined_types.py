"""Acceptance with conductor-python 2.0.0: a workflow task of a type the OSS server has no task of its
own for (``USER_DEFINED``, a name of one's own; Orkes' ``YIELD`` is a signalled wait instead:
test_state_update.py) is registered and runs as the OSS server's
UserDefinedTaskMapper runs it -- a worker task queued under its type, its TaskDef (if any) by its name;
the OSS server's own types this gateway does not run (KAFKA_PUBLISH) are still refused with 400."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.models import StartWorkflowRequest
from conductor.client.http.models.task_result import TaskResult
from conductor.client.http.models.workflow_def import WorkflowDef
from conductor.client.http.models.workflow_task import WorkflowTask
from conductor.client.http.rest import ApiException
from conductor.client.orkes_clients import OrkesClients

from tests.conductor.sdk_support import wait_status
from tests.support.server import run_gateway

ONLY_CONDUCTOR = {"cognite": {"enabled": False}, "altostrat": {"enabled": False}}


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrkesClients]:
    with run_gateway(tmp_path_factory.mktemp("conductor-user-defined"), dialects=ONLY_CONDUCTOR) as gw:
        yield OrkesClients(configuration=Configuration(server_api_url=f"{gw.url}/api"))


def test_a_task_of_an_unknown_type_is_a_worker_task_polled_by_its_type(clients: OrkesClients) -> None:
    clients.get_metadata_client().register_workflow_def(WorkflowDef(
        name="ud_flow", version=1, timeout_seconds=0, output_parameters={"got": "${hand_ref.output.handed}"},
        tasks=[WorkflowTask(name="hand_over", task_reference_name="hand_ref", type="HAND_OFF",
                            input_parameters={"who": "${workflow.input.who}"})]), overwrite=True)
    wc, tasks = clients.get_workflow_client(), clients.get_task_client()
    wid = wc.start_workflow(StartWorkflowRequest(name="ud_flow", version=1, input={"who": "ann"}))
    queued = wc.get_workflow(wid, include_tasks=True).tasks[0]
    assert (queued.task_type, queued.task_def_name, queued.status) == ("HAND_OFF", "hand_over", "SCHEDULED")
    assert tasks.get_queue_size_for_task("HAND_OFF") == 1 and tasks.get_queue_size_for_task("hand_over") == 0
    missed = tasks.poll_task("hand_over", worker_id="w1")  # its queue is its type, not its name
    assert missed is None or missed.task_id is None  # the SDK turns the empty poll's 204 into an empty Task
    polled = tasks.poll_task("HAND_OFF", worker_id="w1")
    assert polled is not None and polled.task_id == queued.task_id and polled.input_data == {"who": "ann"}
    tasks.update_task(TaskResult(workflow_instance_id=wid, task_id=polled.task_id, status="COMPLETED",
                                 output_data={"handed": "to ann"}))
    done = wait_status(clients, wid, "COMPLETED")
    assert done.output == {"got": "to ann"} and done.tasks[0].worker_id == "w1"


def test_a_failed_user_defined_task_is_named_by_its_task_name(clients: OrkesClients) -> None:
    """Without a TaskDef it is not retried (the OSS server's ad-hoc TaskDef for a non-SIMPLE type has
    retryCount 0); failedTaskNames names the task (its taskDefName), not its queue."""
    clients.get_metadata_client().register_workflow_def(WorkflowDef(
        name="ud_failing", version=1, timeout_seconds=0,
        tasks=[WorkflowTask(name="settle_up", task_reference_name="settle_ref", type="USER_DEFINED")]),
        overwrite=True)
    wc, tasks = clients.get_workflow_client(), clients.get_task_client()
    wid = wc.start_workflow(StartWorkflowRequest(name="ud_failing", version=1))
    polled = tasks.poll_task("USER_DEFINED", worker_id="w2")
    assert polled is not None and polled.workflow_instance_id == wid and polled.task_def_name == "settle_up"
    tasks.update_task(TaskResult(workflow_instance_id=wid, task_id=polled.task_id, status="FAILED",
                                 reason_for_incompletion="ledger closed"))
    failed = wait_status(clients, wid, "FAILED")
    assert len(failed.tasks) == 1 and set(failed.failed_task_names) == {"settle_up"}
    assert set(failed.failed_reference_task_names) == {"settle_ref"}
    assert failed.reason_for_incompletion == (f"Task {polled.task_id} failed with status: FAILED and reason: "
                                              "'ledger closed'")


def test_an_oss_type_this_gateway_does_not_run_is_refused(clients: OrkesClients) -> None:
    with pytest.raises(ApiException) as refused:
        clients.get_metadata_client().register_workflow_def(WorkflowDef(
            name="ud_kafka", version=1, timeout_seconds=0,
            tasks=[WorkflowTask(name="notify", task_reference_name="notify_ref", type="KAFKA_PUBLISH")]), overwrite=True)
    assert refused.value.status == 400 and "KAFKA_PUBLISH" in refused.value.body
