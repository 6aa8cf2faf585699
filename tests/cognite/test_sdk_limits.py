"""CDF's Data Workflows limits through the unmodified SDK on the gateway as config.yaml ships it:
a workflow's maxConcurrentExecutions, the project's 50 concurrent executions, and 200 tasks per
execution counting what dynamic tasks generate.  Past a concurrency limit a run is 429 (the SDK
retries it, then raises) and a trigger fire is recorded as failed with the reason."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from cognite.client import CogniteClient
from cognite.client.data_classes.workflows import (
    DynamicTaskParameters,
    FunctionTaskParameters,
    SubworkflowTaskParameters,
    WorkflowDefinitionUpsert,
    WorkflowTask,
    WorkflowUpsert,
    WorkflowVersionUpsert,
)
from cognite.client.exceptions import CogniteAPIError
from wfgateway.adapters.cognite.scheduler import next_fire

from tests.cognite.conftest import sdk_client
from tests.cognite.test_sdk_retry import async_task, unique, upsert, wait_status, wait_task
from tests.cognite.test_sdk_triggers import YEARLY, tick, trigger
from tests.support.server import RunningGateway, run_gateway


@dataclass
class Shipped:
    gateway: RunningGateway
    client: CogniteClient


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shipped]:
    with run_gateway(tmp_path_factory.mktemp("cognite-limits")) as gw:
        yield Shipped(gw, sdk_client(gw.url, "plant-limits"))


def finish(client: CogniteClient, execution_id: str) -> None:
    task = wait_task(client, execution_id, "a", "in_progress")
    client.workflows.tasks.update(task.id, "completed")
    wait_status(client, execution_id, "completed")


def test_max_concurrent_executions_of_a_workflow(shipped: Shipped):
    client = shipped.client
    wf, tr = unique("capped"), unique("capped-tr")
    client.workflows.upsert(WorkflowUpsert(wf, max_concurrent_executions=2))
    client.workflows.versions.upsert(WorkflowVersionUpsert(wf, "1", WorkflowDefinitionUpsert([async_task("a")])))
    first = client.workflows.executions.run(wf, "1")
    client.workflows.executions.run(wf, "1")
    with pytest.raises(CogniteAPIError) as busy:
        client.workflows.executions.run(wf, "1")
    assert busy.value.code == 429
    assert busy.value.message == (f"Workflow '{wf}' already has 2 running executions, the maximum concurrent "
                                  "executions allowed for it")
    assert len(client.workflows.executions.list(workflow_version_ids=wf, limit=None)) == 2

    created = client.workflows.triggers.upsert(trigger(tr, wf))
    due = next_fire(YEARLY, None, created.created_time)
    [refused] = [r for r in tick(shipped.gateway, due) if r["externalId"] == tr]
    assert refused["status"] == "failed" and "2 running executions" in refused["reasonForFailure"]

    finish(client, first.id)  # a slot frees up
    assert client.workflows.executions.run(wf, "1").status == "running"


def test_values_above_the_project_limit_are_kept_and_capped_at_fifty(tmp_path_factory):
    with run_gateway(tmp_path_factory.mktemp("cognite-project-limit")) as gw:
        client = sdk_client(gw.url, "plant-busy")
        wf = unique("wide")
        stored = client.workflows.upsert(WorkflowUpsert(wf, max_concurrent_executions=500))
        assert stored.max_concurrent_executions == 500
        client.workflows.versions.upsert(WorkflowVersionUpsert(wf, "1", WorkflowDefinitionUpsert([async_task("a")])))
        runs = [client.workflows.executions.run(wf, "1") for _ in range(50)]
        with pytest.raises(CogniteAPIError) as busy:
            client.workflows.executions.run(wf, "1")
        assert busy.value.code == 429 and "50 running executions" in busy.value.message
        client.workflows.executions.cancel(runs[0].id, "make room")
        assert client.workflows.executions.run(wf, "1").status == "running"


def test_an_execution_has_at_most_200_tasks(shipped: Shipped):
    client = shipped.client
    wf = unique("fan-out")
    upsert(client, wf, [
        WorkflowTask("plan", FunctionTaskParameters("planner", is_async_complete=True)),
        WorkflowTask("fan", DynamicTaskParameters("${plan.output.response.tasks}"), depends_on=["plan"]),
    ])
    run = client.workflows.executions.run(wf, "1")
    plan = wait_task(client, run.id, "plan", "in_progress")
    children = [{"externalId": f"t-{i}", "type": "function",
                 "parameters": {"function": {"externalId": "loader"}}} for i in range(199)]
    client.workflows.tasks.update(plan.id, "completed", output={"response": {"tasks": children}})
    failed = wait_status(client, run.id, "failed")
    fan = next(t for t in failed.executed_tasks if t.external_id == "fan")
    assert fan.status == "failed"
    assert "The execution would have 201 tasks" in fan.reason_for_incompletion
    assert not any(t.external_id.startswith("t-") for t in failed.executed_tasks)

    inline = [WorkflowTask(f"s-{i}", FunctionTaskParameters("loader")) for i in range(150)]
    too_big = [WorkflowTask("sub", SubworkflowTaskParameters(inline)),
               *[WorkflowTask(f"top-{i}", FunctionTaskParameters("loader")) for i in range(60)]]
    with pytest.raises(CogniteAPIError) as refused:
        upsert(client, unique("big"), too_big)
    assert refused.value.code == 400
    assert refused.value.message == ("The workflow definition has 211 tasks (inline subworkflow tasks included); "
                                     "at most 200 are allowed")


def test_an_execution_times_out_after_24_hours(tmp_path_factory, monkeypatch):
    """The engine's clock is moved 24 hours ahead (its timers fire from it) instead of waiting a day."""
    from wfgateway.engine import timers, unit

    with run_gateway(tmp_path_factory.mktemp("cognite-day")) as gw:
        client = sdk_client(gw.url, "plant-day")
        wf = unique("long")
        upsert(client, wf, [async_task("first"), WorkflowTask("second", FunctionTaskParameters(
            "loader", is_async_complete=True), timeout=86_400, retries=0, depends_on=["first"])])
        run = client.workflows.executions.run(wf, "1")
        first = wait_task(client, run.id, "first", "in_progress")
        client.workflows.tasks.update(first.id, "completed")
        wait_task(client, run.id, "second", "in_progress")  # its own 24-hour timeout ends after the execution's
        real = timers.now_ms
        later = lambda: real() + 24 * 60 * 60 * 1000 + 1  # noqa: E731
        monkeypatch.setattr(timers, "now_ms", later)
        monkeypatch.setattr(unit, "now_ms", later)
        ex = wait_status(client, run.id, "timed_out")
        assert ex.reason_for_incompletion == "Workflow timed out after 86400000 ms"
        assert [t.status for t in ex.executed_tasks] == ["completed", "canceled"]
