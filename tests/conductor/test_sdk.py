"""Acceptance: the official Conductor Python SDK (conductor-python 2.0.0) against the real gateway.

One uvicorn gateway on 127.0.0.1 and one SDK TaskHandler (a real process per worker) serve every
test of this module.  Each scenario registers definitions through the metadata client, starts
through the workflow client, lets the workers fail a task once, and repairs the run with rerun,
retry or restart, checking the task history as Conductor shows it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conductor.client.automator.task_handler import TaskHandler
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.models import RerunWorkflowRequest, StartWorkflowRequest, TaskDef, Workflow
from conductor.client.http.models.workflow_def import WorkflowDef
from conductor.client.http.models.workflow_task import WorkflowTask
from conductor.client.orkes_clients import OrkesClients
from conductor.client.worker.worker import Worker

from tests.conductor.sdk_support import rows, wait_status
from tests.conductor.workers import flaky

TASKS = ("cd_a", "cd_b", "cd_c")
ONLY_CONDUCTOR = {"cognite": {"enabled": False}, "altostrat": {"enabled": False}}





@pytest.fixture(scope="module")
def workers(config: Configuration, clients: OrkesClients) -> Iterator[None]:
    metadata = clients.get_metadata_client()
    for name in TASKS:
        metadata.register_task_def(TaskDef(name=name, retry_count=0, timeout_seconds=60, response_timeout_seconds=30))
    handler = TaskHandler(
        workers=[Worker(name, flaky, poll_interval=50) for name in TASKS],
        configuration=config, scan_for_annotated_workers=False, monitor_processes=False,
    )
    handler.start_processes()
    try:
        yield
    finally:
        handler.stop_processes()


def task(name: str, ref: str, **kw: Any) -> WorkflowTask:
    return WorkflowTask(name=name, task_reference_name=ref, type=kw.pop("type", "SIMPLE"), **kw)


def register(clients: OrkesClients, name: str, tasks: list[WorkflowTask], version: int = 1) -> None:
    clients.get_metadata_client().register_workflow_def(
        WorkflowDef(name=name, version=version, tasks=tasks, timeout_seconds=0), overwrite=True)


def three_tasks(clients: OrkesClients, name: str) -> None:
    register(clients, name, [
        task("cd_a", "a_ref", input_parameters={"n": "${workflow.input.n}"}),
        task("cd_b", "b_ref", input_parameters={"n": "${workflow.input.n}",
                                                "fail_once_marker": "${workflow.input.marker}"}),
        task("cd_c", "c_ref", input_parameters={"from_b": "${b_ref.output.seen.n}"}),
    ])


def start_failing(clients: OrkesClients, name: str, tmp_path: Path) -> tuple[str, Workflow]:
    marker = str(tmp_path / f"{name}-{time.monotonic_ns()}")
    wid = clients.get_workflow_client().start_workflow_by_name(name, {"n": 1, "marker": marker}, version=1)
    failed = wait_status(clients, wid, "FAILED")
    return wid, failed


def test_definitions_round_trip_through_the_metadata_client(clients: OrkesClients, workers: None) -> None:
    three_tasks(clients, "cd_roundtrip")
    metadata = clients.get_metadata_client()
    got = metadata.get_workflow_def("cd_roundtrip")
    assert got.name == "cd_roundtrip" and got.version == 1
    assert [t.task_reference_name for t in got.tasks] == ["a_ref", "b_ref", "c_ref"]
    assert got.tasks[1].input_parameters["fail_once_marker"] == "${workflow.input.marker}"
    assert "cd_roundtrip" in {d.name for d in metadata.get_all_workflow_defs()}
    assert metadata.get_task_def("cd_b").retry_count == 0
    assert {"cd_a", "cd_b", "cd_c"} <= {d.name for d in metadata.get_all_task_defs()}


def test_rerun_from_the_failed_task_with_new_input(clients: OrkesClients, workers: None, tmp_path: Path) -> None:
    three_tasks(clients, "cd_rerun")
    wid, failed = start_failing(clients, "cd_rerun", tmp_path)
    assert rows(failed) == [("a_ref", "COMPLETED"), ("b_ref", "FAILED")]
    a_id, b_id = failed.tasks[0].task_id, failed.tasks[1].task_id
    assert "planned failure" in (failed.tasks[1].reason_for_incompletion or "") or failed.tasks[1].status == "FAILED"

    wc = clients.get_workflow_client()
    answer = wc.rerun_workflow(wid, RerunWorkflowRequest(re_run_from_task_id=b_id,
                                                         task_input={"n": 42, "extra": "new"}))
    assert answer == wid
    done = wait_status(clients, wid, "COMPLETED")
    assert rows(done) == [("a_ref", "COMPLETED"), ("b_ref", "COMPLETED"), ("c_ref", "COMPLETED")]
    a, b, c = done.tasks
    assert a.task_id == a_id and b.task_id == b_id  # rerun keeps the task id; nothing superseded is listed
    assert b.input_data == {"n": 42, "extra": "new"} and b.output_data["seen"] == {"n": 42, "extra": "new"}
    assert c.input_data == {"from_b": 42} and b.retry_count == 0 and not b.retried
    assert b.task_type == "cd_b" and b.workflow_task.name == "cd_b"


def test_retry_adds_a_new_attempt_linked_to_the_failed_one(clients: OrkesClients, workers: None,
                                                          tmp_path: Path) -> None:
    three_tasks(clients, "cd_retry")
    wid, failed = start_failing(clients, "cd_retry", tmp_path)
    failed_b = failed.tasks[1]
    assert clients.get_workflow_client().retry_workflow(wid) is None
    done = wait_status(clients, wid, "COMPLETED")
    assert rows(done) == [("a_ref", "COMPLETED"), ("b_ref", "FAILED"), ("b_ref", "COMPLETED"), ("c_ref", "COMPLETED")]
    old, new = done.tasks[1], done.tasks[2]
    assert old.task_id == failed_b.task_id and old.retried is True
    assert new.retried_task_id == old.task_id and new.retry_count == 1 and new.task_id != old.task_id
    assert new.seq > old.seq and done.tasks[3].input_data == {"from_b": 1}


def test_restart_runs_everything_again_under_the_same_id(clients: OrkesClients, workers: None,
                                                         tmp_path: Path) -> None:
    three_tasks(clients, "cd_restart")
    wid, failed = start_failing(clients, "cd_restart", tmp_path)
    old_ids = {t.task_id for t in failed.tasks}
    assert clients.get_workflow_client().restart_workflow(wid) is None
    done = wait_status(clients, wid, "COMPLETED")
    assert done.workflow_id == wid
    assert rows(done) == [("a_ref", "COMPLETED"), ("b_ref", "COMPLETED"), ("c_ref", "COMPLETED")]
    assert not old_ids & {t.task_id for t in done.tasks}  # earlier attempts are history, not listed
    assert done.input["n"] == 1


def _parent_and_child(clients: OrkesClients) -> None:
    register(clients, "cd_child", [
        task("cd_b", "child_b_ref", input_parameters={"n": "${workflow.input.n}",
                                                      "fail_once_marker": "${workflow.input.marker}"})])
    register(clients, "cd_parent", [
        task("cd_a", "a_ref", input_parameters={"n": "${workflow.input.n}"}),
        task("child", "sub_ref", type="SUB_WORKFLOW", sub_workflow_param={"name": "cd_child", "version": 1},
             input_parameters={"n": "${workflow.input.n}", "marker": "${workflow.input.marker}"}),
        task("cd_c", "c_ref", input_parameters={"x": 1}),
    ])


def test_failure_inside_a_sub_workflow_retried_in_place(clients: OrkesClients, workers: None,
                                                        tmp_path: Path) -> None:
    _parent_and_child(clients)
    wid, failed = start_failing(clients, "cd_parent", tmp_path)
    assert rows(failed) == [("a_ref", "COMPLETED"), ("sub_ref", "FAILED")]
    sub = failed.tasks[1]
    assert sub.task_type == "SUB_WORKFLOW" and sub.sub_workflow_id
    child = wait_status(clients, sub.sub_workflow_id, "FAILED")
    assert child.parent_workflow_id == wid and rows(child) == [("child_b_ref", "FAILED")]

    clients.get_workflow_client().retry_workflow(wid, resume_subworkflow_tasks=True)
    done = wait_status(clients, wid, "COMPLETED")
    assert [r for r in rows(done) if r[1] == "COMPLETED"][-1] == ("c_ref", "COMPLETED")
    child_done = wait_status(clients, sub.sub_workflow_id, "COMPLETED")  # the same child, resumed
    assert rows(child_done) == [("child_b_ref", "FAILED"), ("child_b_ref", "COMPLETED")]
    assert child_done.tasks[1].retried_task_id == child_done.tasks[0].task_id


def test_rerun_from_a_task_inside_a_sub_workflow(clients: OrkesClients, workers: None, tmp_path: Path) -> None:
    _parent_and_child(clients)
    wid, failed = start_failing(clients, "cd_parent", tmp_path)
    child_id = failed.tasks[1].sub_workflow_id
    child_task = wait_status(clients, child_id, "FAILED").tasks[0]
    wc = clients.get_workflow_client()
    assert wc.rerun_workflow(wid, RerunWorkflowRequest(re_run_from_task_id=child_task.task_id,
                                                       task_input={"n": 7})) == wid
    done = wait_status(clients, wid, "COMPLETED")
    assert rows(done) == [("a_ref", "COMPLETED"), ("sub_ref", "COMPLETED"), ("c_ref", "COMPLETED")]
    assert done.tasks[1].sub_workflow_id == child_id
    child = wait_status(clients, child_id, "COMPLETED")
    assert child.tasks[0].task_id == child_task.task_id and child.tasks[0].output_data["seen"] == {"n": 7}


def test_failure_inside_a_dynamic_fork_retried(clients: OrkesClients, workers: None, tmp_path: Path) -> None:
    register(clients, "cd_dynamic", [
        task("fanout", "dyn_ref", type="FORK_JOIN_DYNAMIC", dynamic_fork_tasks_param="dynamicTasks",
             dynamic_fork_tasks_input_param_name="dynamicTasksInput",
             input_parameters={"dynamicTasks": "${workflow.input.tasks}",
                               "dynamicTasksInput": "${workflow.input.inputs}"}),
        task("join", "join_ref", type="JOIN"),
        task("cd_c", "c_ref", input_parameters={"x": 1}),
    ])
    marker = str(tmp_path / "dyn-marker")
    wc = clients.get_workflow_client()
    wid = wc.start_workflow(StartWorkflowRequest(name="cd_dynamic", version=1, input={
        "tasks": [{"name": "cd_a", "taskReferenceName": "d1", "type": "SIMPLE"},
                  {"name": "cd_b", "taskReferenceName": "d2", "type": "SIMPLE"}],
        "inputs": {"d1": {"n": 1}, "d2": {"n": 2, "fail_once_marker": marker}},
    }))
    failed = wait_status(clients, wid, "FAILED")
    statuses = dict(rows(failed))
    # d1 runs in parallel: it finished first, or the failure of d2 canceled it (as Conductor does)
    assert statuses["d1"] in ("COMPLETED", "CANCELED") and statuses["d2"] == "FAILED"
    assert statuses["dyn_ref"] == "FAILED" and failed.tasks[0].task_type == "FORK"
    wc.retry_workflow(wid)
    done = wait_status(clients, wid, "COMPLETED")
    assert [t.status for t in done.tasks if t.reference_task_name == "d1"][-1] == "COMPLETED"
    d2 = [t for t in done.tasks if t.reference_task_name == "d2"]
    assert [t.status for t in d2] == ["FAILED", "COMPLETED"] and d2[0].retried and d2[1].retried_task_id == d2[0].task_id
    assert d2[1].output_data["seen"]["n"] == 2 and d2[1].task_type == "cd_b"
    assert rows(done)[-1] == ("c_ref", "COMPLETED")


def test_idempotent_starts_never_create_a_second_workflow(clients: OrkesClients) -> None:
    three_tasks(clients, "cd_idem")
    wc = clients.get_workflow_client()
    req = StartWorkflowRequest(name="cd_idem", version=1, input={"n": 1}, idempotency_key="order-9",
                               idempotency_strategy="RETURN_EXISTING")
    first = wc.start_workflow(req)
    assert wc.start_workflow(req) == first
    req.idempotency_strategy = "FAIL"
    with pytest.raises(Exception) as err:
        wc.start_workflow(req)
    assert getattr(err.value, "status", None) == 409
    found = wc.search(query="workflowType = 'cd_idem'")
    assert [s.workflow_id for s in found.results] == [first]
