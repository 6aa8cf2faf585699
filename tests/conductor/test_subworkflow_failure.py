"""Acceptance with conductor-python 2.0.0: a SUB_WORKFLOW task whose child run failed carries the OSS
server's reason (SubWorkflow: ``Sub workflow <name>.<version>/<childId> failure reason: <child's
reason>``) wherever a client reads it -- the workflow's tasks, GET /api/tasks/{id}, task and workflow
search summaries, and the failure workflow's input -- and the parent's own reason wraps that one as the
decider does for any failed task."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.api.task_resource_api import TaskResourceApi
from conductor.client.http.api_client import ApiClient
from conductor.client.orkes_clients import OrkesClients
from conductor.client.workflow.conductor_workflow import ConductorWorkflow
from conductor.client.workflow.executor.workflow_executor import WorkflowExecutor
from conductor.client.workflow.task.inline import InlineTask
from conductor.client.workflow.task.sub_workflow_task import SubWorkflowTask
from conductor.client.workflow.task.wait_task import WaitTask

from tests.conductor.sdk_support import wait_status

T = TypeVar("T")


def wait_for(probe: Callable[[], T | None], timeout_s: float = 10.0) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def flows(config: Configuration) -> None:
    """sf_leaf fails in an INLINE task; sf_middle runs it as a sub workflow (version 2), sf_top runs
    sf_middle and names sf_handler its failure workflow."""
    executor = WorkflowExecutor(config)
    leaf = ConductorWorkflow(executor=executor, name="sf_leaf", version=1)
    leaf.add(InlineTask("explode_ref", "(function () { throw new Error('card declined'); })()"))
    leaf.register(overwrite=True)
    middle = ConductorWorkflow(executor=executor, name="sf_middle", version=2)
    middle.add(SubWorkflowTask("leaf_ref", "sf_leaf", 1))
    middle.register(overwrite=True)
    handler = ConductorWorkflow(executor=executor, name="sf_handler", version=1)
    handler.add(InlineTask("echo_ref", "$.reason", bindings={"reason": "${workflow.input.reason}"}))
    handler.register(overwrite=True)
    top = ConductorWorkflow(executor=executor, name="sf_top", version=1).failure_workflow("sf_handler")
    top.add(SubWorkflowTask("middle_ref", "sf_middle", 2))
    top.register(overwrite=True)


def test_a_failed_child_is_named_in_its_sub_workflow_task_as_oss_does(
        config: Configuration, clients: OrkesClients, flows: None) -> None:
    wc = clients.get_workflow_client()
    top_id = wc.start_workflow_by_name("sf_top", {}, version=1)
    top = wait_status(clients, top_id, "FAILED")
    middle_task = top.tasks[0]
    middle = wait_status(clients, middle_task.sub_workflow_id, "FAILED")
    leaf_task = middle.tasks[0]
    leaf = wait_status(clients, leaf_task.sub_workflow_id, "FAILED")
    explode = leaf.tasks[0]
    assert explode.status == "FAILED" and explode.reason_for_incompletion
    leaf_reason = (f"Task {explode.task_id} failed with status: FAILED and reason: "
                   f"'{explode.reason_for_incompletion}'")
    assert leaf.reason_for_incompletion == leaf_reason

    leaf_task_reason = f"Sub workflow sf_leaf.1/{leaf.workflow_id} failure reason: {leaf_reason}"
    assert leaf_task.status == "FAILED" and leaf_task.reason_for_incompletion == leaf_task_reason
    middle_reason = f"Task {leaf_task.task_id} failed with status: FAILED and reason: '{leaf_task_reason}'"
    assert middle.reason_for_incompletion == middle_reason

    middle_task_reason = f"Sub workflow sf_middle.2/{middle.workflow_id} failure reason: {middle_reason}"
    assert middle_task.reason_for_incompletion == middle_task_reason
    top_reason = f"Task {middle_task.task_id} failed with status: FAILED and reason: '{middle_task_reason}'"
    assert top.reason_for_incompletion == top_reason

    # the same text through every other read a client makes
    tasks = clients.get_task_client()
    assert tasks.get_task(middle_task.task_id).reason_for_incompletion == middle_task_reason
    assert wc.get_workflow_status(top_id, include_output=False, include_variables=False).status == "FAILED"
    found = wc.search(query=f"workflowId IN ({top_id})")
    assert [(s.workflow_id, s.reason_for_incompletion) for s in found.results] == [(top_id, top_reason)]
    task_hits = TaskResourceApi(ApiClient(config)).search1(query=f"workflowId IN ({top_id})")
    assert [(s.task_id, s.reason_for_incompletion) for s in task_hits.results] == [
        (middle_task.task_id, middle_task_reason)]
    handled = wait_status(clients, top.output["conductor.failure_workflow"], "COMPLETED")
    assert handled.input["reason"] == top_reason
    assert handled.input["failedWorkflow"]["tasks"][0]["reasonForIncompletion"] == middle_task_reason


def test_a_terminated_child_is_named_in_its_canceled_sub_workflow_task(
        config: Configuration, clients: OrkesClients) -> None:
    """OSS SubWorkflow: a TERMINATED child makes its task CANCELED, with the same 'Sub workflow ...
    failure reason:' text around the terminate reason."""
    executor = WorkflowExecutor(config)
    child = ConductorWorkflow(executor=executor, name="sf_waiter", version=3)
    child.add(WaitTask("hold_ref"))
    child.register(overwrite=True)
    parent = ConductorWorkflow(executor=executor, name="sf_holder", version=1)
    parent.add(SubWorkflowTask("waiter_ref", "sf_waiter", 3))
    parent.register(overwrite=True)
    wc = clients.get_workflow_client()
    parent_id = wc.start_workflow_by_name("sf_holder", {}, version=1)
    child_id = wait_for(lambda: wc.get_workflow(parent_id, include_tasks=True).tasks[0].sub_workflow_id)
    wc.terminate_workflow(child_id, reason="operator stopped it")
    task = wait_for(lambda: next((t for t in wc.get_workflow(parent_id, include_tasks=True).tasks
                                  if t.status == "CANCELED"), None))
    assert task.reason_for_incompletion == f"Sub workflow sf_waiter.3/{child_id} failure reason: operator stopped it"
    assert clients.get_task_client().get_task(task.task_id).reason_for_incompletion == task.reason_for_incompletion
