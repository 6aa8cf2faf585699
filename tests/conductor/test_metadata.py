"""Metadata over HTTP: definitions (bulk update, versions, delete), task definitions and their effect
on retries, and correlated workflow lookups."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.models.workflow_def import WorkflowDef
from conductor.client.http.models.workflow_task import WorkflowTask
from conductor.client.http.rest import ApiException
from conductor.client.orkes_clients import OrkesClients
from wfgateway.adapters.conductor import def_defaults

from tests.conductor.spec_check import checked_client
from tests.conductor.test_spec import component
from tests.support.server import RunningGateway


def wdef(version: int, task_name: str = "m_task", **extra: Any) -> dict[str, Any]:
    return {"name": "m_flow", "version": version, "timeoutSeconds": 0, "description": f"v{version}",
            "tasks": [{"name": task_name, "taskReferenceName": "m_ref", "type": extra.pop("type", "SIMPLE")}], **extra}


@pytest.fixture(scope="module")
def api(open_gateway: RunningGateway) -> Iterator[httpx.Client]:
    with checked_client(open_gateway.url) as client:
        yield client


def test_bulk_update_reports_each_definition(api: httpx.Client) -> None:
    bad = {**wdef(9), "name": "m_bad"}
    bad["tasks"] = bad["tasks"] * 2  # duplicate taskReferenceName: schema-valid, refused on translation
    r = api.put("/api/metadata/workflow", json=[wdef(1), wdef(2), bad])
    assert r.status_code == 200
    body = r.json()
    component("BulkResponse").validate(body)
    assert body["bulkSuccessfulResults"] == ["m_flow", "m_flow"] and list(body["bulkErrorResults"]) == ["m_bad"]
    assert body["bulkErrorResults"]["m_bad"] == (
        "taskReferenceName: m_ref should be unique across tasks for a given workflowDefinition: m_bad")
    latest = api.get("/api/metadata/workflow/m_flow").json()
    assert latest["version"] == 2 and latest["description"] == "v2" and latest["tasks"] == [def_defaults.workflow_task(t) for t in wdef(2)["tasks"]]
    component("WorkflowDef").validate(latest)
    assert api.get("/api/metadata/workflow/m_flow", params={"version": 1}).json()["description"] == "v1"
    names = [(d["name"], d["version"]) for d in api.get("/api/metadata/workflow").json()]
    assert ("m_flow", 1) in names and ("m_flow", 2) in names and all(n != "m_bad" for n, _ in names)


def test_delete_one_version(api: httpx.Client) -> None:
    api.put("/api/metadata/workflow", json=[wdef(3), wdef(4)])
    assert api.delete("/api/metadata/workflow/m_flow/3").status_code == 200
    r = api.get("/api/metadata/workflow/m_flow", params={"version": 3})
    assert r.status_code == 404 and r.json()["message"] == "No such workflow found by name: m_flow, version: 3"
    assert api.get("/api/metadata/workflow/m_flow", params={"version": 4}).status_code == 200
    r = api.delete("/api/metadata/workflow/m_flow/3")
    assert r.status_code == 404 and r.json()["message"] == "No such workflow found by name: m_flow, version: 3"


def test_task_definition_lifecycle(api: httpx.Client) -> None:
    assert api.post("/api/metadata/taskdefs", json=[{"name": "m_def", "timeoutSeconds": 30, "responseTimeoutSeconds": 30}]).status_code == 200
    got = api.get("/api/metadata/taskdefs/m_def").json()
    component("TaskDef").validate(got)
    assert got["retryCount"] == 3 and got["retryLogic"] == "FIXED" and got["timeoutSeconds"] == 30
    assert api.put("/api/metadata/taskdefs", json={"name": "m_def", "timeoutSeconds": 30, "responseTimeoutSeconds": 30, "retryCount": 1}
                   ).status_code == 200
    updated = api.get("/api/metadata/taskdefs/m_def").json()
    assert updated["retryCount"] == 1 and updated["createTime"] == got["createTime"]
    assert "m_def" in {d["name"] for d in api.get("/api/metadata/taskdefs").json()}
    r = api.put("/api/metadata/taskdefs", json={"name": "m_nope", "timeoutSeconds": 1, "responseTimeoutSeconds": 1})
    assert r.status_code == 404 and r.json()["message"] == "No such taskType found by name: m_nope"
    assert api.delete("/api/metadata/taskdefs/m_def").status_code == 200
    assert api.get("/api/metadata/taskdefs/m_def").status_code == 404


def _poll_one(api: httpx.Client, task_type: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        got = api.get(f"/api/tasks/poll/batch/{task_type}", params={"timeout": 200}).json()
        if got:
            return got[0]
    raise AssertionError(f"nothing to poll for {task_type}")


def test_task_definition_retry_count_drives_automatic_retries(api: httpx.Client) -> None:
    api.post("/api/metadata/taskdefs", json=[{"name": "m_retried", "timeoutSeconds": 30, "responseTimeoutSeconds": 30, "retryCount": 1,
                                             "retryDelaySeconds": 0}])
    api.post("/api/metadata/workflow?overwrite=true", json={**wdef(1, "m_retried"), "name": "m_retry_flow"})
    wid = api.post("/api/workflow/m_retry_flow", json={}).text
    for expected_attempt in (0, 1):
        t = _poll_one(api, "m_retried")
        assert t["retryCount"] == expected_attempt and t["workflowInstanceId"] == wid
        api.post("/api/tasks", json={"workflowInstanceId": wid, "taskId": t["taskId"], "status": "FAILED",
                                     "reasonForIncompletion": f"attempt {expected_attempt}"})
    deadline = time.monotonic() + 10
    while (wf := api.get(f"/api/workflow/{wid}").json())["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert wf["status"] == "FAILED"
    assert [(t["retryCount"], t["retried"], t["status"]) for t in wf["tasks"]] == [(0, True, "FAILED"),
                                                                                  (1, False, "FAILED")]
    assert wf["tasks"][1]["retriedTaskId"] == wf["tasks"][0]["taskId"]
    assert wf["failedReferenceTaskNames"] == ["m_ref"] and wf["failedTaskNames"] == ["m_retried"]


def test_correlated_lookups(api: httpx.Client) -> None:
    api.post("/api/metadata/workflow?overwrite=true", json={**wdef(1), "name": "m_corr"})
    running = api.post("/api/workflow/m_corr", params={"correlationId": "corr-1"}, json={}).text
    closed = api.post("/api/workflow", json={"name": "m_corr", "correlationId": "corr-1", "input": {}}).text
    assert api.delete(f"/api/workflow/{closed}").status_code == 200
    only_running = api.get("/api/workflow/m_corr/correlated/corr-1").json()
    assert [w["workflowId"] for w in only_running] == [running] and only_running[0]["tasks"] == []
    both = api.get("/api/workflow/m_corr/correlated/corr-1", params={"includeClosed": "true",
                                                                     "includeTasks": "true"}).json()
    assert {w["workflowId"] for w in both} == {running, closed} and all(w["tasks"] for w in both)
    batch = api.post("/api/workflow/m_corr/correlated", params={"includeClosed": "True"},
                     json=["corr-1", "corr-none"]).json()
    assert {w["workflowId"] for w in batch["corr-1"]} == {running, closed} and batch["corr-none"] == []


def _finish(api: httpx.Client, wid: str, task_type: str, status: str = "COMPLETED") -> None:
    t = _poll_one(api, task_type)
    assert t["workflowInstanceId"] == wid
    api.post("/api/tasks", json={"workflowInstanceId": wid, "taskId": t["taskId"], "status": status})
    deadline = time.monotonic() + 10
    while api.get(f"/api/workflow/{wid}/status").json()["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_restart_with_latest_definitions_and_non_restartable_workflows(api: httpx.Client) -> None:
    api.post("/api/metadata/workflow", json={**wdef(1, "m_restart_a"), "name": "m_restart"})
    wid = api.post("/api/workflow/m_restart", json={}).text
    _finish(api, wid, "m_restart_a", "FAILED")
    api.post("/api/metadata/workflow", json={**wdef(2, "m_restart_b"), "name": "m_restart"})
    assert api.post(f"/api/workflow/{wid}/restart").status_code == 204
    assert api.get(f"/api/workflow/{wid}").json()["workflowVersion"] == 1  # the definition it ran with
    _finish(api, wid, "m_restart_a", "FAILED")
    assert api.post(f"/api/workflow/{wid}/restart", params={"useLatestDefinitions": "True"}).status_code == 204
    wf = api.get(f"/api/workflow/{wid}").json()
    assert wf["workflowVersion"] == 2 and [t["taskDefName"] for t in wf["tasks"]] == ["m_restart_b"]

    api.post("/api/metadata/workflow", json={**wdef(1, "m_once"), "name": "m_once", "restartable": False})
    once = api.post("/api/workflow/m_once", json={}).text
    _finish(api, once, "m_once")
    r = api.post(f"/api/workflow/{once}/restart")
    assert r.status_code == 404 and r.json()["message"] == f"Workflow: m_once.1/{once}.COMPLETED is non-restartable"


def test_version_zero_reads_and_deletes_what_it_registered(open_gateway: RunningGateway) -> None:
    """conductor-python sends version 0 as given; what register stored must answer a read and a delete of 0."""
    metadata = OrkesClients(configuration=Configuration(server_api_url=f"{open_gateway.url}/api")).get_metadata_client()
    metadata.register_workflow_def(WorkflowDef(name="m_zero", version=0, description="zero", tasks=[
        WorkflowTask(name="m_task", task_reference_name="z_ref", type="SIMPLE")]), overwrite=True)
    assert metadata.get_workflow_def("m_zero", version=0).description == "zero"
    assert metadata.get_workflow_def("m_zero").description == "zero"
    metadata.unregister_workflow_def("m_zero", 0)
    with pytest.raises(ApiException) as missing:
        metadata.get_workflow_def("m_zero", version=0)
    assert missing.value.status == 404
