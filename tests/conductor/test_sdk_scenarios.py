"""Scenarios modelled on conductor-python's own integration tests (metadata, workflow and task
clients, a worker), through the SDK's clients against a gateway started from the shipped config.yaml,
with minimal definitions as those tests write them (no timeouts)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.models.rerun_workflow_request import RerunWorkflowRequest
from conductor.client.http.models.start_workflow_request import StartWorkflowRequest
from conductor.client.http.models.task_def import TaskDef
from conductor.client.http.models.task_result import TaskResult
from conductor.client.http.models.workflow_def import WorkflowDef
from conductor.client.http.models.workflow_task import WorkflowTask
from conductor.client.http.rest import ApiException
from conductor.client.orkes_clients import OrkesClients

from tests.conductor.sdk_support import wait_status, worker_processes
from tests.conductor.workers import flaky
from tests.support.server import run_gateway


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Configuration]:
    with run_gateway(tmp_path_factory.mktemp("sdk-scenarios")) as gw:  # the shipped config.yaml as is
        yield Configuration(server_api_url=f"{gw.url}/api")


@pytest.fixture(scope="module")
def clients(config: Configuration) -> OrkesClients:
    return OrkesClients(configuration=config)


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def one_task_flow(name: str, task: str, version: int = 1) -> WorkflowDef:
    return WorkflowDef(name=name, version=version, tasks=[
        WorkflowTask(name=task, task_reference_name=f"{task}_ref", type="SIMPLE",
                     input_parameters={"x": "${workflow.input.x}"})],
        output_parameters={"y": f"${{{task}_ref.output.y}}"})


def poll_one(clients: OrkesClients, task_type: str, timeout: float = 10.0) -> Any:
    tc = clients.get_task_client()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = tc.poll_task(task_type, worker_id="scenario-worker")
        if task is not None and task.task_id:
            return task
        time.sleep(0.02)
    raise AssertionError(f"no {task_type} task to poll")


def complete(clients: OrkesClients, task: Any, status: str = "COMPLETED", **output: Any) -> None:
    clients.get_task_client().update_task(TaskResult(
        workflow_instance_id=task.workflow_instance_id, task_id=task.task_id, status=status,
        output_data=output, worker_id="scenario-worker"))


def test_metadata_client_registers_updates_reads_and_unregisters(clients: OrkesClients) -> None:
    md = clients.get_metadata_client()
    task, flow = unique("sc_task"), unique("sc_flow")
    md.register_task_def(TaskDef(name=task))
    assert md.get_task_def(task).retry_count == 3
    md.update_task_def(TaskDef(name=task, description="updated", retry_count=1))
    got = md.get_task_def(task)
    assert (got.description, got.retry_count, got.response_timeout_seconds) == ("updated", 1, 3600)
    assert task in {t.name for t in md.get_all_task_defs()}
    md.register_workflow_def(one_task_flow(flow, task), overwrite=True)
    md.update_workflow_def(_with_description(one_task_flow(flow, task), "v1 again"), overwrite=True)
    md.register_workflow_def(one_task_flow(flow, task, version=2), overwrite=True)
    assert md.get_workflow_def(flow).version == 2
    assert md.get_workflow_def(flow, version=1).description == "v1 again"
    assert {(d.name, d.version) for d in md.get_all_workflow_defs()} >= {(flow, 1), (flow, 2)}
    md.unregister_workflow_def(flow, 2)
    assert md.get_workflow_def(flow).version == 1
    md.unregister_workflow_def(flow, 1)
    with pytest.raises(ApiException) as gone:
        md.get_workflow_def(flow)
    assert gone.value.status == 404
    md.unregister_task_def(task)
    with pytest.raises(ApiException) as gone:
        md.get_task_def(task)
    assert gone.value.status == 404


def _with_description(wf: WorkflowDef, text: str) -> WorkflowDef:
    wf.description = text
    return wf


def test_workflow_client_lifecycle(clients: OrkesClients) -> None:
    md, wc = clients.get_metadata_client(), clients.get_workflow_client()
    task, flow = unique("sc_life_task"), unique("sc_life")
    md.register_task_def(TaskDef(name=task, retry_count=0))
    md.register_workflow_def(one_task_flow(flow, task), overwrite=True)
    correlation = unique("corr")
    wid = wc.start_workflow(StartWorkflowRequest(name=flow, version=1, input={"x": 1}, correlation_id=correlation))
    wf = wc.get_workflow(wid, include_tasks=True)
    assert wf.status == "RUNNING" and wf.correlation_id == correlation and wf.input == {"x": 1}
    wc.pause_workflow(wid)
    assert wc.get_workflow(wid, include_tasks=False).status == "PAUSED"
    wc.resume_workflow(wid)
    assert wc.get_workflow(wid, include_tasks=False).status == "RUNNING"
    wc.terminate_workflow(wid, reason="scenario stop")
    wf = wc.get_workflow(wid, include_tasks=False)
    assert wf.status == "TERMINATED" and wf.reason_for_incompletion == "scenario stop"
    wc.restart_workflow(wid)
    complete(clients, poll_one(clients, task), y=2)
    assert wait_status(clients, wid, "COMPLETED").output == {"y": 2}
    # a failed run is retried, a completed one rerun from its task
    wid2 = wc.start_workflow_by_name(flow, {"x": 3}, version=1)
    complete(clients, poll_one(clients, task), status="FAILED")
    wait_status(clients, wid2, "FAILED")
    wc.retry_workflow(wid2)
    complete(clients, poll_one(clients, task), y=4)
    assert wait_status(clients, wid2, "COMPLETED").output == {"y": 4}
    assert wc.rerun_workflow(wid2, RerunWorkflowRequest(workflow_input={"x": 5})) == wid2
    complete(clients, poll_one(clients, task), y=6)
    done = wait_status(clients, wid2, "COMPLETED")
    assert done.output == {"y": 6} and done.input == {"x": 5}
    deadline = time.monotonic() + 10
    while True:  # search is eventually consistent at the OSS server: poll until both runs are listed
        found = wc.search(start=0, size=10, query=f"workflowType IN ({flow})")
        if {r.workflow_id for r in found.results} >= {wid, wid2} or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert {r.workflow_id for r in found.results} >= {wid, wid2}


def test_task_client_poll_update_log_and_queue_size(clients: OrkesClients) -> None:
    md, wc, tc = clients.get_metadata_client(), clients.get_workflow_client(), clients.get_task_client()
    task, flow = unique("sc_q_task"), unique("sc_q")
    md.register_task_def(TaskDef(name=task))
    md.register_workflow_def(one_task_flow(flow, task), overwrite=True)
    ids = [wc.start_workflow_by_name(flow, {"x": i}, version=1) for i in range(2)]
    assert tc.get_queue_size_for_task(task) == 2
    polled = poll_one(clients, task)
    assert polled.status == "IN_PROGRESS" and polled.worker_id == "scenario-worker"
    assert polled.response_timeout_seconds == 3600  # the TaskDef's default
    tc.add_task_log(polled.task_id, "working on it")
    assert [entry.log for entry in tc.get_task_logs(polled.task_id)] == ["working on it"]
    assert tc.get_queue_size_for_task(task) == 1
    complete(clients, polled, y="done")
    assert tc.get_task(polled.task_id).status == "COMPLETED"
    assert wait_status(clients, polled.workflow_instance_id, "COMPLETED").output == {"y": "done"}
    assert polled.workflow_instance_id in ids
    other = next(wid for wid in ids if wid != polled.workflow_instance_id)
    wc.terminate_workflow(other, reason="cleanup")
    assert tc.get_queue_size_for_task(task) == 0


def test_a_worker_completes_runs(config: Configuration, clients: OrkesClients) -> None:
    task, flow = unique("sc_worker_task"), unique("sc_worker")
    with worker_processes(config, clients, task, flaky):
        clients.get_metadata_client().register_workflow_def(one_task_flow(flow, task), overwrite=True)
        wid = clients.get_workflow_client().start_workflow_by_name(flow, {"x": 4}, version=1)
        done = wait_status(clients, wid, "COMPLETED")
        assert done.tasks[0].output_data["seen"] == {"x": 4} and done.tasks[0].worker_id
