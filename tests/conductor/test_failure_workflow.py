"""Acceptance: WorkflowDef.failureWorkflow with conductor-python (ConductorWorkflow.failure_workflow) and a
real SDK worker that fails: the failure workflow starts with the input Conductor gives it, its id lands
in the failed workflow's output, and failedReferenceTaskNames are recorded as Conductor records them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conductor.client.configuration.configuration import Configuration
from conductor.client.orkes_clients import OrkesClients
from conductor.client.workflow.conductor_workflow import ConductorWorkflow
from conductor.client.workflow.executor.workflow_executor import WorkflowExecutor
from conductor.client.workflow.task.inline import InlineTask
from conductor.client.workflow.task.simple_task import SimpleTask
from conductor.client.workflow.task.terminate_task import TerminateTask, WorkflowStatus

from tests.conductor.sdk_support import wait_status, worker_processes
from tests.conductor.workers import flaky


@pytest.fixture(scope="module")
def worker(config: Configuration, clients: OrkesClients) -> Iterator[None]:
    with worker_processes(config, clients, "fw_charge", flaky):
        yield


@pytest.fixture(scope="module")
def handler_flow(executor: WorkflowExecutor) -> str:
    """The failure workflow: it summarises the input it was given."""
    wf = ConductorWorkflow(executor=executor, name="fw_handler", version=1)
    wf.add(InlineTask("summary_ref", "({failed: $.id, status: $.status, tasks: $.failed.tasks.length})",
                      bindings={"id": "${workflow.input.workflowId}", "status": "${workflow.input.failureStatus}",
                                "failed": "${workflow.input.failedWorkflow}"}))
    wf.register(overwrite=True)
    return wf.name


def charging_flow(executor: WorkflowExecutor, name: str, failure: str, task: str = "fw_charge") -> None:
    wf = ConductorWorkflow(executor=executor, name=name, version=1).failure_workflow(failure)
    wf.add(SimpleTask(task, "charge_ref").input(key="fail_once_marker", value="${workflow.input.marker}"))
    wf.add(InlineTask("done_ref", "'charged'"))
    wf.register(overwrite=True)


def test_a_failed_workflow_starts_its_failure_workflow(clients: OrkesClients, executor: WorkflowExecutor,
                                                      worker: None, handler_flow: str, tmp_path: Path) -> None:
    charging_flow(executor, "fw_orders", handler_flow)
    wc = clients.get_workflow_client()
    marker = str(tmp_path / "fail-once")
    wid = wc.start_workflow_by_name("fw_orders", {"marker": marker, "order": 7}, version=1, correlationId="ord-7")
    failed = wait_status(clients, wid, "FAILED")
    charge = failed.tasks[0]
    assert set(failed.failed_reference_task_names) == {"charge_ref"} and set(failed.failed_task_names) == {"fw_charge"}
    handler_id = failed.output["conductor.failure_workflow"]
    handled = wait_status(clients, handler_id, "COMPLETED")
    assert handled.workflow_name == "fw_handler" and handled.correlation_id == "ord-7"
    given = handled.input
    assert given["workflowId"] == wid and given["failureStatus"] == "FAILED" and given["order"] == 7
    assert given["marker"] == marker and given["failureTaskId"] == charge.task_id
    assert "planned failure of charge_ref" in given["reason"]
    assert given["failedWorkflow"]["workflowId"] == wid and given["failedWorkflow"]["status"] == "FAILED"
    assert handled.tasks[0].output_data == {"result": {"failed": wid, "status": "FAILED", "tasks": 1}}

    # a retry keeps the failed names while it runs; the completed run still names the failed attempt
    wc.retry_workflow(wid)
    done = wait_status(clients, wid, "COMPLETED")
    assert [t.status for t in done.tasks] == ["FAILED", "COMPLETED", "COMPLETED"]
    assert set(done.failed_reference_task_names) == {"charge_ref"}
    assert done.output == {"result": "charged"}  # completing sets the output anew, as Conductor does


def test_terminate_task_failing_the_workflow_triggers_it_but_an_api_terminate_does_not(
        clients: OrkesClients, executor: WorkflowExecutor, handler_flow: str) -> None:
    wf = ConductorWorkflow(executor=executor, name="fw_stop", version=1).failure_workflow(handler_flow)
    wf.add(TerminateTask("stop_ref", WorkflowStatus.FAILED, "no stock"))
    wf.register(overwrite=True)
    wc = clients.get_workflow_client()
    wid = wc.start_workflow_by_name("fw_stop", {}, version=1)
    failed = wait_status(clients, wid, "FAILED")
    assert failed.reason_for_incompletion == "no stock"
    handled = wait_status(clients, failed.output["conductor.failure_workflow"], "COMPLETED")
    assert handled.input["failureTaskId"] == failed.tasks[0].task_id and handled.input["reason"] == "no stock"

    # a task no worker polls (the module's fw_charge workers may still run): the run is surely RUNNING
    charging_flow(executor, "fw_manual", handler_flow, task="fw_unpolled")
    wid = wc.start_workflow_by_name("fw_manual", {}, version=1)
    wc.terminate_workflow(wid, reason="operator")
    terminated = wait_status(clients, wid, "TERMINATED")
    assert "conductor.failure_workflow" not in (terminated.output or {})


def test_a_missing_failure_workflow_is_reported_in_the_output(clients: OrkesClients, executor: WorkflowExecutor,
                                                             worker: None, tmp_path: Path) -> None:
    charging_flow(executor, "fw_orphan", "fw_nobody")
    wid = clients.get_workflow_client().start_workflow_by_name(
        "fw_orphan", {"marker": str(tmp_path / "orphan")}, version=1)
    failed = wait_status(clients, wid, "FAILED")
    note = failed.output["conductor.failure_workflow"]
    assert note.startswith("Error workflow fw_nobody failed to start.  reason: ") and "fw_nobody" in note
