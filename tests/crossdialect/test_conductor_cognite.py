"""One engine, several dialects: an execution started through one vendor's API is read, retried and
rerun through another's (Conductor and Cognite share tenant ``default`` in open mode)."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.support.server import run_gateway

COGNITE = "/api/v1/projects/default"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with run_gateway(tmp_path_factory.mktemp("cross")) as gw, httpx.Client(base_url=gw.url, timeout=15) as c:
        yield c


def _wait(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not reached")


def _poll_one(client: httpx.Client, task_type: str) -> dict:
    def poll():
        r = client.get(f"/api/tasks/poll/batch/{task_type}", params={"count": 1, "timeout": 200, "workerid": "w"})
        assert r.status_code == 200, r.text
        return r.json()[0] if r.json() else None

    return _wait(poll)


def _nonce(client: httpx.Client) -> str:
    r = client.post(f"{COGNITE}/sessions", json={"items": [{"tokenExchange": True}]})
    assert r.status_code == 200, r.text
    return r.json()["items"][0]["nonce"]


def test_conductor_execution_is_read_and_retried_through_cognite(client):
    definition = {"name": "xd_flow", "version": 1, "schemaVersion": 2, "timeoutSeconds": 0, "tasks": [
        {"name": "xd_a", "taskReferenceName": "a", "type": "SIMPLE", "retryCount": 0},
        {"name": "xd_b", "taskReferenceName": "b", "type": "SIMPLE", "retryCount": 0},
    ]}
    assert client.post("/api/metadata/workflow", json=definition, params={"overwrite": "true"}).status_code == 200
    wid = client.post("/api/workflow/xd_flow", json={"order": 7}).text
    task = _poll_one(client, "xd_a")
    r = client.post("/api/tasks", json={"workflowInstanceId": wid, "taskId": task["taskId"], "status": "FAILED",
                                        "reasonForIncompletion": "boom"})
    assert r.status_code == 200, r.text
    _wait(lambda: client.get(f"/api/workflow/{wid}").json()["status"] == "FAILED")

    seen = client.get(f"{COGNITE}/workflows/executions/{wid}")
    assert seen.status_code == 200, seen.text
    execution = seen.json()
    assert execution["id"] == wid and execution["status"] == "FAILED"
    assert execution["input"] == {"order": 7}
    assert [t["status"] for t in execution["executedTasks"]] == ["FAILED"]

    retried = client.post(f"{COGNITE}/workflows/executions/{wid}/retry", json={"authentication": {"nonce": _nonce(client)}})
    assert retried.status_code == 200, retried.text
    assert retried.json()["id"] == wid and retried.json()["status"] == "RUNNING"

    task = _poll_one(client, "xd_a")  # the retry's new attempt, polled by a Conductor worker
    assert task["retriedTaskId"] and task["retryCount"] == 1
    client.post("/api/tasks", json={"workflowInstanceId": wid, "taskId": task["taskId"], "status": "COMPLETED"})
    task = _poll_one(client, "xd_b")
    client.post("/api/tasks", json={"workflowInstanceId": wid, "taskId": task["taskId"], "status": "COMPLETED",
                                    "outputData": {"done": True}})
    final = _wait(lambda: (w := client.get(f"/api/workflow/{wid}").json())["status"] == "COMPLETED" and w)
    assert [t["status"] for t in final["tasks"]] == ["FAILED", "COMPLETED", "COMPLETED"]
    assert client.get(f"{COGNITE}/workflows/executions/{wid}").json()["status"] == "COMPLETED"


def test_cognite_execution_is_read_and_rerun_through_conductor(client):
    assert client.post(f"{COGNITE}/workflows", json={"items": [{"externalId": "xd-cog"}]}).status_code == 200
    version = {"workflowExternalId": "xd-cog", "version": "1", "workflowDefinition": {"tasks": [
        {"externalId": "fn", "type": "function", "retries": 0,
         "parameters": {"function": {"externalId": "no-endpoint"}, "isAsyncComplete": True}},
    ]}}
    assert client.post(f"{COGNITE}/workflows/versions", json={"items": [version]}).status_code == 200
    run = client.post(f"{COGNITE}/workflows/xd-cog/versions/1/run",
                      json={"input": {"k": "v"}, "authentication": {"nonce": _nonce(client)}})
    assert run.status_code == 200, run.text
    eid = run.json()["id"]

    def running_task():
        tasks = client.get(f"{COGNITE}/workflows/executions/{eid}").json()["executedTasks"]
        return tasks[0] if tasks and tasks[0]["status"] == "IN_PROGRESS" else None

    task = _wait(running_task)
    r = client.post(f"{COGNITE}/workflows/tasks/{task['id']}/update", json={"status": "FAILED", "output": {"e": 1}})
    assert r.status_code == 200, r.text
    _wait(lambda: client.get(f"{COGNITE}/workflows/executions/{eid}").json()["status"] == "FAILED")

    wf = client.get(f"/api/workflow/{eid}")
    assert wf.status_code == 200, wf.text
    assert wf.json()["workflowId"] == eid and wf.json()["status"] == "FAILED"
    assert wf.json()["input"] == {"k": "v"}
    failed_task_id = wf.json()["tasks"][0]["taskId"]

    rerun = client.post(f"/api/workflow/{eid}/rerun", json={"reRunFromTaskId": failed_task_id})
    assert rerun.status_code == 200 and rerun.text == eid
    task = _wait(running_task)
    assert task["id"] == failed_task_id  # Conductor's rerun keeps the task id
    client.post(f"{COGNITE}/workflows/tasks/{task['id']}/update", json={"status": "COMPLETED", "output": {"ok": 1}})
    _wait(lambda: client.get(f"{COGNITE}/workflows/executions/{eid}").json()["status"] == "COMPLETED")
    assert client.get(f"/api/workflow/{eid}").json()["status"] == "COMPLETED"


def test_cognite_sdk_reads_and_completes_a_conductor_workflow(client):
    from cognite.client import ClientConfig, CogniteClient, global_config
    from cognite.client.credentials import Token

    global_config.disable_pypi_version_check = True
    sdk = CogniteClient(ClientConfig(client_name="xd", base_url=str(client.base_url).rstrip("/"),
                                     project="default", credentials=Token("any")))
    definition = {"name": "xd_sdk", "version": 1, "schemaVersion": 2, "timeoutSeconds": 0, "tasks": [
        {"name": "xd_sdk_a", "taskReferenceName": "a", "type": "SIMPLE", "inputParameters": {"n": "${workflow.input.n}"}},
    ]}
    assert client.post("/api/metadata/workflow", json=definition, params={"overwrite": "true"}).status_code == 200
    wid = client.post("/api/workflow/xd_sdk", json={"n": 3}).text

    def scheduled():
        detail = sdk.workflows.executions.retrieve_detailed(wid)
        return detail if detail.executed_tasks else None

    detail = _wait(scheduled)
    task = detail.executed_tasks[0]
    assert task.task_type == "function" and task.status in ("in_progress", "scheduled")
    assert task.input.external_id == "xd_sdk_a" and task.input.is_async_complete
    sdk.workflows.tasks.update(task.id, "completed", {"answer": 42})
    final = _wait(lambda: (w := client.get(f"/api/workflow/{wid}").json())["status"] == "COMPLETED" and w)
    assert final["tasks"][0]["outputData"] == {"answer": 42}


def test_conductor_sdk_reads_a_cognite_runs_tasks_with_conductor_task_types(client):
    """A Cognite asynchronous function (the engine's wait) reads as a WAIT task and a dynamic task as the FORK
    it behaves like -- not as its Cognite externalId, which is no Conductor task type."""
    from conductor.client.configuration.configuration import Configuration
    from conductor.client.orkes_clients import OrkesClients

    version = {"workflowExternalId": "xd-types", "version": "1", "workflowDefinition": {"tasks": [
        {"externalId": "ask", "type": "function",
         "parameters": {"function": {"externalId": "fn-ask"}, "isAsyncComplete": True}},
        {"externalId": "fan", "type": "dynamic", "dependsOn": [{"externalId": "ask"}],
         "parameters": {"dynamic": {"tasks": "${ask.output.tasks}"}}},
    ]}}
    assert client.post(f"{COGNITE}/workflows/versions", json={"items": [version]}).status_code == 200
    run = client.post(f"{COGNITE}/workflows/xd-types/versions/1/run",
                      json={"authentication": {"nonce": _nonce(client)}})
    assert run.status_code == 200, run.text
    eid = run.json()["id"]
    ask = _wait(lambda: next((t for t in client.get(f"{COGNITE}/workflows/executions/{eid}").json()["executedTasks"]
                              if t["externalId"] == "ask" and t["status"] == "IN_PROGRESS"), None))
    client.post(f"{COGNITE}/workflows/tasks/{ask['id']}/update", json={"status": "COMPLETED", "output": {"tasks": [
        {"externalId": "inner", "type": "function",
         "parameters": {"function": {"externalId": "fn-inner"}, "isAsyncComplete": True}}]}})
    _wait(lambda: len(client.get(f"{COGNITE}/workflows/executions/{eid}").json()["executedTasks"]) >= 3)

    workflows = OrkesClients(configuration=Configuration(
        server_api_url=f"{str(client.base_url).rstrip('/')}/api")).get_workflow_client()
    types = {t.reference_task_name: t.task_type for t in workflows.get_workflow(eid, include_tasks=True).tasks}
    assert types["ask"] == "WAIT" and types["fan"] == "FORK", types
    assert "ask" not in types.values() and "fan" not in types.values()
