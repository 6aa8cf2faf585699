"""Task definitions are looked up when a run starts, as the OSS server does: a TaskDef registered after
the workflow applies to the next run, and a run keeps the TaskDef it started with when it changes later.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.conductor.spec_check import checked_client
from tests.support.server import RunningGateway

FLOW = {"name": "late_taskdef_flow", "version": 1,
        "tasks": [{"name": "late_taskdef", "taskReferenceName": "late_ref", "type": "SIMPLE"}]}


def _task(api: httpx.Client, wid: str) -> dict[str, Any]:
    (task,) = api.get(f"/api/workflow/{wid}", params={"includeTasks": "true"}).json()["tasks"]
    return task


def _taskdef(response_timeout: int, retries: int) -> dict[str, Any]:
    return {"name": "late_taskdef", "retryCount": retries, "timeoutSeconds": 60,
            "responseTimeoutSeconds": response_timeout}


def test_a_taskdef_registered_after_the_workflow_applies_to_runs_started_after_it(
        open_gateway: RunningGateway) -> None:
    with checked_client(open_gateway.url) as api:
        assert api.post("/api/metadata/workflow", json=FLOW).status_code == 200
        assert api.post("/api/metadata/taskdefs", json=[_taskdef(10, 0)]).status_code == 200

        first = api.post("/api/workflow/late_taskdef_flow", json={}).text
        assert _task(api, first)["responseTimeoutSeconds"] == 10

        assert api.put("/api/metadata/taskdefs", json=_taskdef(20, 2)).status_code == 200
        second = api.post("/api/workflow/late_taskdef_flow", json={}).text
        assert _task(api, second)["responseTimeoutSeconds"] == 20
        assert _task(api, first)["responseTimeoutSeconds"] == 10  # the running run keeps its snapshot

        # the first run's retries are the ones it started with (retryCount 0): a failure ends it
        polled = api.get("/api/tasks/poll/late_taskdef", params={"workerid": "w"}).json()
        assert polled["workflowInstanceId"] == first
        api.post("/api/tasks", json={"workflowInstanceId": first, "taskId": polled["taskId"], "status": "FAILED",
                                     "reasonForIncompletion": "boom"})
        assert api.get(f"/api/workflow/{first}").json()["status"] == "FAILED"
