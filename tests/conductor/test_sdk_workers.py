"""Acceptance: conductor-python's TaskHandler runs three workers, each in its own process, against the
gateway, and the runs end as on the OSS server: many runs completed by the pool, a retryable failure
retried up to the TaskDef's retryCount (each retry a new task linked to the one it retried), a
FAILED_WITH_TERMINAL_ERROR never retried (a run a task failed carries the decider's reason sentence),
and a run's taskToDomain sends its tasks to the workers of that domain only."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from conductor.client.automator.task_handler import TaskHandler
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.api.task_resource_api import TaskResourceApi
from conductor.client.http.api_client import ApiClient
from conductor.client.http.models import StartWorkflowRequest, TaskDef, TaskResult
from conductor.client.orkes_clients import OrkesClients
from conductor.client.worker.worker import Worker
from conductor.client.workflow.conductor_workflow import ConductorWorkflow
from conductor.client.workflow.executor.workflow_executor import WorkflowExecutor
from conductor.client.workflow.task.simple_task import SimpleTask
from conductor.client.workflow.task.sub_workflow_task import SubWorkflowTask

from tests.conductor.sdk_support import rows, wait_status
from tests.conductor.workers import always_fails, declines_for_good, flaky, packs, packs_on_gpu


@pytest.fixture(scope="module")
def handler(config: Configuration, clients: OrkesClients) -> Iterator[None]:
    md = clients.get_metadata_client()
    md.register_task_def(TaskDef(name="sw_ship", retry_count=0))
    md.register_task_def(TaskDef(name="sw_call", retry_count=2, retry_logic="FIXED", retry_delay_seconds=0))
    md.register_task_def(TaskDef(name="sw_charge", retry_count=3, retry_delay_seconds=0))
    md.register_task_def(TaskDef(name="sw_pack", retry_count=0))
    executor = WorkflowExecutor(config)
    for task in ("sw_ship", "sw_call", "sw_charge", "sw_pack"):
        step = SimpleTask(task, f"{task}_ref")
        step.input_parameters.update({"n": "${workflow.input.n}", "card": "${workflow.input.card}"})
        ConductorWorkflow(executor=executor, name=f"{task}_flow", version=1).add(step).register(overwrite=True)
    workers = [Worker("sw_ship", flaky, poll_interval=20), Worker("sw_call", always_fails, poll_interval=20),
               Worker("sw_charge", declines_for_good, poll_interval=20),
               Worker("sw_pack", packs, poll_interval=20), Worker("sw_pack", packs_on_gpu, poll_interval=20, domain="gpu")]
    parent = ConductorWorkflow(executor=executor, name="sw_parent_flow", version=1)
    parent.add(SubWorkflowTask("child_ref", "sw_pack_flow", 1)).register(overwrite=True)
    th = TaskHandler(workers=workers, configuration=config, scan_for_annotated_workers=False,
                     monitor_processes=False)
    th.start_processes()
    try:
        yield
    finally:
        th.stop_processes()


def start(clients: OrkesClients, flow: str, domains: dict[str, str] | None = None, **input: object) -> str:
    return clients.get_workflow_client().start_workflow(
        StartWorkflowRequest(name=flow, version=1, input=input, task_to_domain=domains))


def test_the_worker_processes_complete_every_run(clients: OrkesClients, handler: None) -> None:
    ids = [start(clients, "sw_ship_flow", n=n) for n in range(8)]
    done = [wait_status(clients, wid, "COMPLETED") for wid in ids]
    assert [d.tasks[0].output_data["seen"]["n"] for d in done] == list(range(8))
    assert {d.tasks[0].output_data["pid"] for d in done} - {os.getpid()}  # run in the SDK's own processes
    assert all(d.tasks[0].worker_id and d.tasks[0].poll_count == 1 and d.tasks[0].retry_count == 0 for d in done)


def test_a_retryable_failure_is_retried_up_to_the_task_defs_retry_count(clients: OrkesClients,
                                                                        handler: None) -> None:
    failed = wait_status(clients, start(clients, "sw_call_flow"), "FAILED")
    assert rows(failed) == [("sw_call_ref", "FAILED")] * 3
    first, second, last = failed.tasks
    assert [t.retry_count for t in failed.tasks] == [0, 1, 2]
    assert [t.retried for t in failed.tasks] == [True, True, False]
    assert (second.retried_task_id, last.retried_task_id) == (first.task_id, second.task_id)
    assert first.retried_task_id is None and len({t.task_id for t in failed.tasks}) == 3
    assert [t.reason_for_incompletion for t in failed.tasks] == [f"gateway down on try {n}" for n in range(3)]
    assert failed.reason_for_incompletion == (
        f"Task {last.task_id} failed with status: FAILED and reason: 'gateway down on try 2'")
    assert set(failed.failed_reference_task_names) == {"sw_call_ref"} and set(failed.failed_task_names) == {"sw_call"}


def test_a_terminal_error_fails_the_run_without_a_retry(clients: OrkesClients, handler: None) -> None:
    failed = wait_status(clients, start(clients, "sw_charge_flow", card="4242"), "FAILED")
    assert rows(failed) == [("sw_charge_ref", "FAILED_WITH_TERMINAL_ERROR")]  # retryCount 3 is not used
    task = failed.tasks[0]
    assert (task.retry_count, task.retried, task.reason_for_incompletion) == (0, False, "card 4242 declined")
    assert failed.reason_for_incompletion == (
        f"Task {task.task_id} failed with status: FAILED and reason: 'card 4242 declined'")
    summary = clients.get_workflow_client().search(query=f"workflowId IN ({failed.workflow_id})").results[0]
    assert summary.reason_for_incompletion == failed.reason_for_incompletion


def test_task_to_domain_picks_the_workers_that_run_a_task(clients: OrkesClients, handler: None) -> None:
    def packed(domains: dict[str, str] | None, flow: str = "sw_pack_flow") -> tuple[str | None, dict[str, object]]:
        done = wait_status(clients, start(clients, flow, domains), "COMPLETED")
        task = done.tasks[0]
        if flow != "sw_pack_flow":  # the sub-workflow's task ran under the parent's map
            task = wait_status(clients, task.sub_workflow_id, "COMPLETED").tasks[0]
        return task.domain, task.output_data

    assert packed(None) == (None, {"packer": "default", "domain": None})
    assert packed({"sw_pack": "gpu"}) == ("gpu", {"packer": "gpu", "domain": "gpu"})
    assert packed({"*": "gpu"}) == ("gpu", {"packer": "gpu", "domain": "gpu"})
    assert packed({"*": "gpu", "sw_pack": "NO_DOMAIN"}) == (None, {"packer": "default", "domain": None})
    # a list: the first domain a worker is polling, else the last entry (NO_DOMAIN: the default domain)
    assert packed({"sw_pack": "cpu,gpu"}) == ("gpu", {"packer": "gpu", "domain": "gpu"})
    assert packed({"sw_pack": "gpu,NO_DOMAIN"}) == ("gpu", {"packer": "gpu", "domain": "gpu"})
    assert packed({"sw_pack": "night,NO_DOMAIN"}) == (None, {"packer": "default", "domain": None})
    assert packed({"sw_pack": "gpu"}, "sw_parent_flow") == ("gpu", {"packer": "gpu", "domain": "gpu"})


def test_a_task_in_a_domain_no_worker_polls_waits_for_one(clients: OrkesClients, handler: None) -> None:
    wid = start(clients, "sw_pack_flow", {"sw_pack": "night"})
    tasks = clients.get_task_client()
    waiting = wait_status(clients, wid, "RUNNING").tasks[0]
    assert (waiting.status, waiting.domain) == ("SCHEDULED", "night")
    assert tasks.poll_task("sw_pack", worker_id="day-shift").task_id is None  # nothing in the default domain
    polled = tasks.poll_task("sw_pack", worker_id="night-shift", domain="night")
    assert (polled.task_id, polled.domain, polled.worker_id) == (waiting.task_id, "night", "night-shift")
    clients.get_workflow_client().terminate_workflow(wid, reason="test over")


def test_update_v2_hands_over_the_next_task_of_the_same_domain(config: Configuration, clients: OrkesClients) -> None:
    """What the SDK's TaskRunner does after each task (POST /tasks/update-v2): the next task comes from
    the finished task's own domain; an IN_PROGRESS update gets none."""
    step = SimpleTask("sw_sort", "sort_ref")
    ConductorWorkflow(executor=WorkflowExecutor(config), name="sw_sort_flow", version=1).add(step).register(True)
    night_1 = start(clients, "sw_sort_flow", {"sw_sort": "night"})
    day = start(clients, "sw_sort_flow")
    night_2 = start(clients, "sw_sort_flow", {"sw_sort": "night"})
    api, tasks = TaskResourceApi(ApiClient(config)), clients.get_task_client()
    first = tasks.poll_task("sw_sort", worker_id="owl", domain="night")
    assert first.workflow_instance_id == night_1

    def report(task_id: str, wid: str, status: str, **kw: object) -> object:
        return api.update_task_v2(TaskResult(task_id=task_id, workflow_instance_id=wid, worker_id="owl",
                                             status=status, **kw))

    assert report(first.task_id, night_1, "IN_PROGRESS", callback_after_seconds=3600) is None
    second = report(first.task_id, night_1, "COMPLETED")
    assert (second.workflow_instance_id, second.domain, second.worker_id) == (night_2, "night", "owl")
    assert report(second.task_id, night_2, "COMPLETED") is None  # the default domain's task is not handed over
    assert tasks.poll_task("sw_sort", worker_id="lark").workflow_instance_id == day
