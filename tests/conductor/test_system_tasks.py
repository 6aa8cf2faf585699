"""Conductor system tasks run on the engine: SET_VARIABLE, FORK_JOIN/JOIN, HTTP, SWITCH, WAIT, TERMINATE.

The HTTP task calls the gateway's own /healthz: a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conductor.spec_check import checked_client
from tests.conductor.test_spec import component
from tests.support.server import RunningGateway


def definition(base_url: str) -> dict[str, Any]:
    return {
        "name": "sys_flow", "version": 1, "timeoutSeconds": 0,
        "tasks": [
            {"name": "vars", "taskReferenceName": "set_ref", "type": "SET_VARIABLE",
             "inputParameters": {"greeting": "${workflow.input.greeting}"}},
            {"name": "fork", "taskReferenceName": "fork_ref", "type": "FORK_JOIN", "forkTasks": [
                [{"name": "health", "taskReferenceName": "http_ref", "type": "HTTP",
                  "inputParameters": {"http_request": {"uri": f"{base_url}/healthz", "method": "GET"}}}],
                [{"name": "route", "taskReferenceName": "route_ref", "type": "SWITCH", "evaluatorType": "value-param",
                  "expression": "kind", "inputParameters": {"kind": "${workflow.input.kind}"},
                  "decisionCases": {"fast": [{"name": "mark", "taskReferenceName": "fast_ref", "type": "SET_VARIABLE",
                                              "inputParameters": {"path": "fast"}}]},
                  "defaultCase": [{"name": "hold", "taskReferenceName": "wait_ref", "type": "WAIT"}]}],
            ]},
            {"name": "join", "taskReferenceName": "join_ref", "type": "JOIN", "joinOn": ["http_ref", "route_ref"]},
            {"name": "stop", "taskReferenceName": "stop_ref", "type": "TERMINATE",
             "inputParameters": {"terminationStatus": "COMPLETED", "terminationReason": "done",
                                 "workflowOutput": {"health": "${http_ref.output.response.body.status}",
                                                    "code": "${http_ref.output.response.statusCode}",
                                                    "greeting": "${workflow.variables.greeting}"}}},
        ],
    }


@pytest.fixture(scope="module")
def api(open_gateway: RunningGateway) -> Iterator[httpx.Client]:
    with checked_client(open_gateway.url) as client:
        assert client.post("/api/metadata/workflow", json=definition(open_gateway.url)).status_code == 200
        yield client


def wait_for(api: httpx.Client, wid: str, predicate: Any, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        wf = api.get(f"/api/workflow/{wid}").json()
        if predicate(wf):
            component("Workflow").validate(wf)
            return wf
        assert time.monotonic() < deadline, wf
        time.sleep(0.02)


def by_ref(wf: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["referenceTaskName"]: t for t in wf["tasks"]}


def test_fork_http_switch_join_terminate(api: httpx.Client) -> None:
    wid = api.post("/api/workflow/sys_flow", json={"greeting": "hi", "kind": "fast"}).text
    wf = wait_for(api, wid, lambda w: w["status"] != "RUNNING")
    assert wf["status"] == "COMPLETED", wf
    assert wf["output"] == {"health": "ok", "code": 200, "greeting": "hi"}
    assert wf["variables"]["greeting"] == "hi" and wf["variables"]["path"] == "fast"
    tasks = by_ref(wf)
    assert "wait_ref" not in tasks  # an unselected SWITCH case is not scheduled, as in Conductor
    assert {r: t["taskType"] for r, t in tasks.items()} == {
        "set_ref": "SET_VARIABLE", "fork_ref": "FORK", "http_ref": "HTTP", "route_ref": "SWITCH",
        "fast_ref": "SET_VARIABLE", "join_ref": "JOIN", "stop_ref": "TERMINATE"}
    assert all(t["status"] == "COMPLETED" for t in tasks.values())
    response = tasks["http_ref"]["outputData"]["response"]
    assert response["statusCode"] == 200 and response["body"]["status"] == "ok" and response["reasonPhrase"] == "OK"
    assert tasks["route_ref"]["outputData"]["evaluationResult"] == ["fast"]
    assert set(tasks["join_ref"]["outputData"]) == {"http_ref", "route_ref"}
    assert tasks["http_ref"]["workflowTask"]["type"] == "HTTP"


def test_wait_task_completes_when_signalled(api: httpx.Client) -> None:
    wid = api.post("/api/workflow/sys_flow", json={"greeting": "yo", "kind": "other"}).text
    wf = wait_for(api, wid, lambda w: by_ref(w).get("wait_ref", {}).get("status") == "IN_PROGRESS")
    assert wf["status"] == "RUNNING" and "fast_ref" not in by_ref(wf)
    wait_task = by_ref(wf)["wait_ref"]
    assert wait_task["taskType"] == "WAIT"
    r = api.post("/api/tasks", json={"workflowInstanceId": wid, "taskId": wait_task["taskId"], "status": "COMPLETED",
                                     "outputData": {"approved": True}})
    assert r.status_code == 200 and r.text == wait_task["taskId"]
    wf = wait_for(api, wid, lambda w: w["status"] != "RUNNING")
    assert wf["status"] == "COMPLETED" and wf["output"]["greeting"] == "yo"
    assert by_ref(wf)["wait_ref"]["outputData"] == {"approved": True}
