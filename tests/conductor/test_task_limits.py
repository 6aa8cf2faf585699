"""Acceptance through the unmodified conductor-python 2.0.0: a TaskDef's concurrentExecLimit and
rateLimitPerFrequency / rateLimitFrequencyInSeconds hold at poll time, as on the OSS server: a task
over the limit is not handed out, stays SCHEDULED in its queue, and is handed out once a slot frees
(or the rate window passes).  Counts are asserted; the window is checked on the tasks' startTime."""

from __future__ import annotations

import time

from conductor.client.http.models import StartWorkflowRequest
from conductor.client.http.models.task_def import TaskDef
from conductor.client.http.models.task_result import TaskResult
from conductor.client.http.models.workflow_def import WorkflowDef
from conductor.client.http.models.workflow_task import WorkflowTask
from conductor.client.orkes_clients import OrkesClients

RUNS = 6


def _queue(clients: OrkesClients, task: TaskDef) -> list[str]:
    md = clients.get_metadata_client()
    md.register_task_def(task)
    md.register_workflow_def(WorkflowDef(
        name=f"{task.name}_flow", version=1, timeout_seconds=0,
        tasks=[WorkflowTask(name=task.name, task_reference_name="only", type="SIMPLE")]), overwrite=True)
    wf = clients.get_workflow_client()
    return [wf.start_workflow(StartWorkflowRequest(name=f"{task.name}_flow", version=1, input={"i": i}))
            for i in range(RUNS)]


def _complete(clients: OrkesClients, task: object) -> None:
    clients.get_task_client().update_task(TaskResult(
        workflow_instance_id=task.workflow_instance_id, task_id=task.task_id, status="COMPLETED",  # type: ignore[attr-defined]
        output_data={}))


def test_concurrent_exec_limit_holds_tasks_in_the_queue(clients: OrkesClients) -> None:
    ids = _queue(clients, TaskDef(name="lim_conc", concurrent_exec_limit=2, response_timeout_seconds=600))
    tasks = clients.get_task_client()
    first = tasks.batch_poll_tasks("lim_conc", worker_id="w1", count=5, timeout_in_millisecond=100)
    assert len(first) == 2 and all(t.status == "IN_PROGRESS" for t in first)
    assert tasks.batch_poll_tasks("lim_conc", worker_id="w2", count=5, timeout_in_millisecond=100) == []
    single = tasks.poll_task("lim_conc", worker_id="w2")  # the SDK turns the 204 into None or an empty Task
    assert single is None or single.task_id is None
    # the held-back tasks are still queued and never polled
    assert tasks.get_queue_size_for_task("lim_conc") == RUNS - 2
    polled = {t.workflow_instance_id for t in first}
    for wid in ids:
        if wid not in polled:
            (waiting,) = clients.get_workflow_client().get_workflow(wid, include_tasks=True).tasks
            assert (waiting.status, waiting.poll_count, waiting.worker_id) == ("SCHEDULED", 0, None)
    _complete(clients, first[0])
    again = tasks.batch_poll_tasks("lim_conc", worker_id="w2", count=5, timeout_in_millisecond=100)
    assert len(again) == 1
    assert tasks.get_queue_size_for_task("lim_conc") == RUNS - 3


def test_rate_limit_per_frequency_hands_out_n_per_window(clients: OrkesClients) -> None:
    _queue(clients, TaskDef(name="lim_rate", rate_limit_per_frequency=3, rate_limit_frequency_in_seconds=2,
                            response_timeout_seconds=600))
    tasks = clients.get_task_client()
    first = tasks.batch_poll_tasks("lim_rate", worker_id="w1", count=5, timeout_in_millisecond=100)
    assert len(first) == 3
    assert {(t.rate_limit_per_frequency, t.rate_limit_frequency_in_seconds) for t in first} == {(3, 2)}
    for t in first:  # done at once: only the rate holds the others back
        _complete(clients, t)
    claimed = list(first)
    deadline = time.monotonic() + 30
    while len(claimed) < RUNS and time.monotonic() < deadline:
        claimed += tasks.batch_poll_tasks("lim_rate", worker_id="w2", count=5, timeout_in_millisecond=500)
    assert len(claimed) == RUNS
    window_start = min(t.start_time for t in first)
    assert all(t.start_time >= window_start + 2000 for t in claimed[3:])


def test_zero_means_no_limit(clients: OrkesClients) -> None:
    _queue(clients, TaskDef(name="lim_zero", concurrent_exec_limit=0, rate_limit_per_frequency=0,
                            response_timeout_seconds=600))
    got = clients.get_task_client().batch_poll_tasks("lim_zero", worker_id="w1", count=10, timeout_in_millisecond=100)
    assert len(got) == RUNS
    # as the OSS server shows a SIMPLE task whose TaskDef sets no rate: 0 per 1 s
    assert {(t.rate_limit_per_frequency, t.rate_limit_frequency_in_seconds) for t in got} == {(0, 1)}
