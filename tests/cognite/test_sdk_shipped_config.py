"""The gateway as `make run` starts it (config.yaml as shipped: no function endpoints, no CDF URL).

Every function, cdf and transformation task then waits IN_PROGRESS until the user's code reports its
outcome with ``tasks.update`` -- the way a Cognite user drives a workflow whose work happens
elsewhere.  This walks a whole pipeline through the SDK that way: a planning function whose
reported output feeds a dynamic task, a cdf check and a transformation, with a failure and a retry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cognite.client import CogniteClient
from cognite.client.data_classes.workflows import (
    CDFTaskParameters,
    DynamicTaskParameters,
    FunctionTaskParameters,
    TransformationTaskParameters,
    WorkflowTask,
)

from tests.cognite.conftest import sdk_client
from tests.cognite.test_sdk_retry import attempts, detailed, statuses, unique, upsert, wait_status, wait_task
from tests.support.server import run_gateway


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CogniteClient]:
    with run_gateway(tmp_path_factory.mktemp("cognite-shipped")) as gw:
        yield sdk_client(gw.url, "plant-ops")


def test_a_pipeline_driven_by_task_updates(shipped):
    client = shipped
    xid = unique("pipeline")
    upsert(client, xid, [
        WorkflowTask("plan", FunctionTaskParameters("planner", data={"site": "${workflow.input.site}"})),
        WorkflowTask("fan", DynamicTaskParameters("${plan.output.response.tasks}"), depends_on=["plan"]),
        WorkflowTask("check", CDFTaskParameters("/timeseries/list", "POST", body={"limit": 1}), depends_on=["fan"]),
        WorkflowTask("publish", TransformationTaskParameters("publish-tr"), depends_on=["check"], retries=0),
    ])
    run = client.workflows.executions.run(xid, "1", input={"site": "A"})
    plan = wait_task(client, run.id, "plan", "in_progress")
    assert plan.input.data == {"site": "A"} and plan.input.is_async_complete is False
    children = [{"externalId": f"load-{i}", "type": "function",
                 "parameters": {"function": {"externalId": "loader", "data": {"part": i}}}} for i in (1, 2)]
    client.workflows.tasks.update(plan.id, "completed", output={"response": {"tasks": children}})

    first = wait_task(client, run.id, "load-1", "in_progress")
    second = wait_task(client, run.id, "load-2", "in_progress")
    assert first.input.data == {"part": 1}
    client.workflows.tasks.update(first.id, "completed", output={"callId": 11, "functionId": 7,
                                                                 "response": {"rows": 10}})
    client.workflows.tasks.update(second.id, "completed")
    check = wait_task(client, run.id, "check", "in_progress")
    client.workflows.tasks.update(check.id, "completed", output={"response": {"items": []}, "statusCode": 200})
    publish = wait_task(client, run.id, "publish", "in_progress")
    client.workflows.tasks.update(publish.id, "failed", output={"error": "target locked"})
    ex = wait_status(client, run.id, "failed")
    assert statuses(ex, "publish") == ["failed"] and "target locked" in ex.reason_for_incompletion

    client.workflows.executions.retry(run.id)
    publish = wait_task(client, run.id, "publish", "in_progress", count=2)
    client.workflows.tasks.update(publish.id, "completed", output={"jobId": 99})
    ex = wait_status(client, run.id, "completed")
    assert [t.external_id for t in ex.executed_tasks] == ["plan", "fan", "load-1", "load-2", "check",
                                                          "publish", "publish"]
    load = attempts(ex, "load-1")[0]
    assert (load.output.call_id, load.output.function_id, load.output.response) == (11, 7, {"rows": 10})
    assert attempts(ex, "check")[0].output.status_code == 200
    assert attempts(ex, "publish")[-1].output.job_id == 99
    assert detailed(client, run.id).input == {"site": "A"}
