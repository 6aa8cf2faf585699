"""Acceptance through the unmodified conductor-python 2.0.0: a workflow task's inline ``taskDefinition``
is the TaskDef that task runs with, as on the OSS server (MetadataMapperService looks a TaskDef up
only for a task that carries none): its retries, timeouts and poll limits win over the registered
TaskDef of that name and absent fields take TaskDef's defaults; unlike a registered TaskDef it is not
held to TaskDef's class-level constraints (OSS does not cascade validation into it)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from conductor.client.http.models import StartWorkflowRequest
from conductor.client.http.models.task_def import TaskDef
from conductor.client.http.models.task_result import TaskResult
from conductor.client.http.models.workflow_def import WorkflowDef
from conductor.client.http.models.workflow_task import WorkflowTask
from conductor.client.http.rest import ApiException
from conductor.client.orkes_clients import OrkesClients
from conductor.client.workflow.task.simple_task import SimpleTask

from tests.conductor.sdk_support import wait_status


def _register(clients: OrkesClients, name: str, *tasks: WorkflowTask) -> None:
    clients.get_metadata_client().register_workflow_def(
        WorkflowDef(name=name, version=1, timeout_seconds=0, tasks=list(tasks)), overwrite=True)


def _start(clients: OrkesClients, name: str) -> str:
    return clients.get_workflow_client().start_workflow(StartWorkflowRequest(name=name, version=1, input={}))


def _poll(clients: OrkesClients, task_type: str) -> Any:
    deadline = time.monotonic() + 10
    while True:
        task = clients.get_task_client().poll_task(task_type, worker_id="w")
        if task is not None and task.task_id:
            return task
        assert time.monotonic() < deadline, f"no {task_type} task to poll"
        time.sleep(0.05)


def _fail(clients: OrkesClients, task: Any) -> None:
    clients.get_task_client().update_task(TaskResult(
        workflow_instance_id=task.workflow_instance_id, task_id=task.task_id, status="FAILED",
        reason_for_incompletion="boom"))


def _inline(ref: str, task_def: TaskDef) -> WorkflowTask:
    wt = SimpleTask(task_def.name, ref).to_workflow_task()
    wt.task_definition = task_def
    return wt


def test_the_inline_taskdef_sets_retries_and_response_timeout_over_the_registered_one(
        clients: OrkesClients) -> None:
    clients.get_metadata_client().register_task_def(
        TaskDef(name="itd_step", retry_count=0, timeout_seconds=600, response_timeout_seconds=30))
    _register(clients, "itd_retry_flow",
              SimpleTask("itd_step", "registered_ref").to_workflow_task(),
              _inline("inline_ref", TaskDef(name="itd_step", retry_count=2, retry_delay_seconds=0,
                                            timeout_seconds=600, response_timeout_seconds=120)))
    wid = _start(clients, "itd_retry_flow")
    # the task without one runs with the registered TaskDef
    task = _poll(clients, "itd_step")
    assert (task.reference_task_name, task.response_timeout_seconds) == ("registered_ref", 30)
    clients.get_task_client().update_task(TaskResult(
        workflow_instance_id=wid, task_id=task.task_id, status="COMPLETED", output_data={}))
    for attempt in range(3):  # the inline retryCount 2, not the registered 0
        task = _poll(clients, "itd_step")
        assert (task.reference_task_name, task.retry_count, task.response_timeout_seconds) == (
            "inline_ref", attempt, 120)
        _fail(clients, task)
    wf = wait_status(clients, wid, "FAILED")
    assert [(t.reference_task_name, t.retry_count, t.status) for t in wf.tasks] == [
        ("registered_ref", 0, "COMPLETED"), ("inline_ref", 0, "FAILED"), ("inline_ref", 1, "FAILED"),
        ("inline_ref", 2, "FAILED")]


def test_an_inline_taskdef_takes_taskdef_defaults_not_the_registered_values(clients: OrkesClients) -> None:
    clients.get_metadata_client().register_task_def(
        TaskDef(name="itd_defaults", retry_count=0, timeout_seconds=60, response_timeout_seconds=30))
    _register(clients, "itd_defaults_flow", _inline("only", TaskDef(name="itd_defaults")))
    wid = _start(clients, "itd_defaults_flow")
    task = _poll(clients, "itd_defaults")
    assert task.response_timeout_seconds == 3600  # TaskDef's default, not the registered 30
    _fail(clients, task)
    time.sleep(0.3)
    wf = clients.get_workflow_client().get_workflow(wid, include_tasks=True)
    # retryCount defaults to 3 (the registered 0 would have failed the run): a retry is scheduled
    assert wf.status == "RUNNING"
    assert [(t.retry_count, t.status) for t in wf.tasks] == [(0, "FAILED"), (1, "SCHEDULED")]
    assert clients.get_metadata_client().get_workflow_def("itd_defaults_flow", version=1) \
        .tasks[0].task_definition.retry_count == 3


def test_the_inline_timeout_times_the_task_and_the_run_out(clients: OrkesClients) -> None:
    clients.get_metadata_client().register_task_def(
        TaskDef(name="itd_timeout", retry_count=0, timeout_seconds=600, response_timeout_seconds=600))
    _register(clients, "itd_timeout_flow", _inline("only", TaskDef(
        name="itd_timeout", retry_count=0, timeout_seconds=1, response_timeout_seconds=1,
        timeout_policy="TIME_OUT_WF")))
    wid = _start(clients, "itd_timeout_flow")
    task = _poll(clients, "itd_timeout")
    assert task.response_timeout_seconds == 1
    wf = wait_status(clients, wid, "TIMED_OUT", "FAILED", timeout=15)
    assert wf.status == "TIMED_OUT"
    assert [(t.reference_task_name, t.status) for t in wf.tasks] == [("only", "TIMED_OUT")]


def test_the_inline_concurrent_exec_limit_holds_at_poll_time(clients: OrkesClients) -> None:
    clients.get_metadata_client().register_task_def(
        TaskDef(name="itd_limited", retry_count=0, timeout_seconds=600, response_timeout_seconds=600))
    _register(clients, "itd_limited_flow", _inline("only", TaskDef(
        name="itd_limited", concurrent_exec_limit=1, response_timeout_seconds=600)))
    for _ in range(3):
        _start(clients, "itd_limited_flow")
    tasks = clients.get_task_client()
    polled = tasks.batch_poll_tasks("itd_limited", worker_id="w", count=5, timeout_in_millisecond=100)
    assert len(polled) == 1
    assert tasks.batch_poll_tasks("itd_limited", worker_id="w", count=5, timeout_in_millisecond=100) == []
    assert tasks.get_queue_size_for_task("itd_limited") == 2


def test_an_inline_taskdef_is_not_held_to_the_registered_taskdef_constraints(clients: OrkesClients) -> None:
    """The OSS server validates a registered TaskDef (TaskTimeoutConstraint) but does not cascade into a
    workflowTask's inline one (no @Valid on WorkflowTask.taskDefinition): ``timeoutSeconds: 10`` with the
    default response timeout of 3600 registers there, and here, and the task times out after 10 s."""
    with pytest.raises(ApiException) as as_taskdef:
        clients.get_metadata_client().register_task_def(TaskDef(name="itd_loose_registered", timeout_seconds=10))
    assert as_taskdef.value.status == 400
    _register(clients, "itd_loose_flow", _inline("loose_ref", TaskDef(name="itd_loose", timeout_seconds=10)))
    stored = clients.get_metadata_client().get_workflow_def("itd_loose_flow", version=1)
    assert stored.tasks[0].task_definition.timeout_seconds == 10
    wid = _start(clients, "itd_loose_flow")
    task = _poll(clients, "itd_loose")
    assert (task.response_timeout_seconds, task.workflow_instance_id) == (3600, wid)
