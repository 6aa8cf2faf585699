"""A SUB_WORKFLOW task with an inline definition (``subWorkflowParam.workflowDefinition``), as the
conductor-python kitchen-sink workflow registers it: accepted, run with the child's own templates,
shown on the task as ``subWorkflowDefinition``, not registered as a definition of its own, and run
again by a retry and a restart of the parent.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.conductor.spec_check import checked_client
from tests.support.server import RunningGateway

CHILD = {
    "name": "inline_child", "version": 1,
    "tasks": [{"name": "inline_worker", "taskReferenceName": "work_ref", "type": "SIMPLE",
               "inputParameters": {"x": "${workflow.input.x}"}}],
    "outputParameters": {"doubled": "${work_ref.output.y}"},
}
PARENT = {
    "name": "inline_parent", "version": 1,
    "tasks": [{"name": "child", "taskReferenceName": "child_ref", "type": "SUB_WORKFLOW",
               "inputParameters": {"x": "${workflow.input.x}"},
               "subWorkflowParam": {"name": "inline_child", "version": 1, "workflowDefinition": CHILD}}],
    "outputParameters": {"result": "${child_ref.output.doubled}"},
}


def _wait(api: httpx.Client, wid: str, *statuses: str) -> dict[str, Any]:
    for _ in range(400):
        run = api.get(f"/api/workflow/{wid}", params={"includeTasks": "true"}).json()
        if run["status"] in statuses:
            return run
        time.sleep(0.02)
    raise AssertionError(f"{wid} is {run['status']}, expected {statuses}")


def _work(api: httpx.Client, status: str, output: dict[str, Any]) -> dict[str, Any]:
    for _ in range(400):
        polled = api.get("/api/tasks/poll/inline_worker", params={"workerid": "w"})
        if polled.status_code == 200:
            task = polled.json()
            done = api.post("/api/tasks", json={"workflowInstanceId": task["workflowInstanceId"],
                                                "taskId": task["taskId"], "status": status, "outputData": output})
            assert done.status_code == 200, done.text
            return task
        time.sleep(0.02)
    raise AssertionError("no inline_worker task was queued")


def test_inline_child_runs_and_is_run_again_by_retry_and_restart(open_gateway: RunningGateway) -> None:
    with checked_client(open_gateway.url) as api:
        assert api.post("/api/metadata/workflow", json=PARENT).status_code == 200, "inline definitions are accepted"
        registered = api.get("/api/metadata/workflow/inline_parent").json()
        assert registered["tasks"][0]["subWorkflowParam"]["workflowDefinition"]["name"] == "inline_child"
        assert api.get("/api/metadata/workflow/inline_child").status_code == 404  # not a definition of its own

        wid = api.post("/api/workflow/inline_parent", json={"x": 21}).text
        first = _work(api, "FAILED_WITH_TERMINAL_ERROR", {})
        assert first["inputData"] == {"x": 21}  # the child's own ${workflow.input.x}
        failed = _wait(api, wid, "FAILED")
        (sub,) = failed["tasks"]
        assert sub["inputData"]["subWorkflowDefinition"]["name"] == "inline_child"
        child = api.get(f"/api/workflow/{sub['subWorkflowId']}").json()
        assert (child["workflowName"], child["status"]) == ("inline_child", "FAILED")

        assert api.post(f"/api/workflow/{wid}/retry").status_code == 204
        _work(api, "COMPLETED", {"y": 42})
        assert _wait(api, wid, "COMPLETED")["output"] == {"result": 42}

        assert api.post(f"/api/workflow/{wid}/restart").status_code == 204
        again = _work(api, "COMPLETED", {"y": 43})
        assert again["inputData"] == {"x": 21}
        assert _wait(api, wid, "COMPLETED")["output"] == {"result": 43}


def test_a_bad_inline_definition_is_refused_at_registration(open_gateway: RunningGateway) -> None:
    bad = {**PARENT, "name": "inline_bad",
           "tasks": [{**PARENT["tasks"][0], "subWorkflowParam": {
               "name": "inline_child", "workflowDefinition": {**CHILD, "tasks": [
                   {"name": "loop", "taskReferenceName": "loop_ref", "type": "DO_WHILE", "loopCondition": "true",
                    "loopOver": []}]}}}]}
    with checked_client(open_gateway.url) as api:
        answer = api.post("/api/metadata/workflow", json=bad)
        assert answer.status_code == 400
        assert "workflowDefinition" in answer.json()["message"]
