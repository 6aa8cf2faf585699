"""A run reads the same in a listing as on its own, in every dialect, through the real gateway: listing
pages load runs the cheap way (JSON columns decoded when read, one definition document and one vault
read per page), single reads the whole way, and a user comparing the two must see the same values.

Conductor through conductor-python's own HTTP client (raw answers), Cognite through cognite-sdk's,
Altostrat through httpx; runs in every status a user can reach quickly (running, paused, completed,
failed with a reason, terminated with one), with correlation ids and a sub-workflow.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from cognite.client import ClientConfig, CogniteClient
from cognite.client.credentials import Token
from cognite.client.data_classes import WorkflowVersionUpsert
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.api_client import ApiClient
from conductor.client.http.models import StartWorkflowRequest, TaskResult
from conductor.client.orkes_clients import OrkesClients

from tests.support.server import RunningGateway, run_gateway

FLOW = {"name": "listing_flow", "version": 1, "timeoutSeconds": 0, "tasks": [
    {"name": "listing_charge", "taskReferenceName": "charge", "type": "SIMPLE"},
    {"name": "listing_child", "taskReferenceName": "child", "type": "SUB_WORKFLOW",
     "subWorkflowParam": {"name": "listing_child_flow", "version": 1}}]}
CHILD = {"name": "listing_child_flow", "version": 1, "timeoutSeconds": 0, "tasks": [
    {"name": "listing_inner", "taskReferenceName": "inner", "type": "SIMPLE"}]}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    with run_gateway(tmp_path_factory.mktemp("listings")) as gw:  # open mode: tenant "default" everywhere
        yield gw


def raw(api: ApiClient, method: str, path: str, **query: Any) -> Any:
    """The answer's JSON text as conductor-python's HTTP client received it, parsed keeping key order."""
    response = api.rest_client.request(method, f"{api.configuration.host}{path}", query_params=list(query.items()))
    return json.loads(response.data)


def wait_for(check: Any, what: str) -> Any:
    deadline = time.monotonic() + 20
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, f"still waiting for {what}"
        time.sleep(0.05)


def conductor_runs(url: str) -> tuple[ApiClient, list[str]]:
    cfg = Configuration(server_api_url=f"{url}/api")
    api, clients = ApiClient(cfg), OrkesClients(configuration=cfg)
    for flow in (CHILD, FLOW):
        api.call_api("/metadata/workflow", "POST", body=flow, _return_http_data_only=True)
    workflows, tasks = clients.get_workflow_client(), clients.get_task_client()
    ids = [workflows.start_workflow(StartWorkflowRequest(name="listing_flow", version=1, input={"n": n, "note": "ü"},
                                                         correlation_id=f"order-{n // 2}")) for n in range(5)]
    for outcome in ("FAILED", "COMPLETED"):  # the oldest two runs' charge tasks
        polled = wait_for(lambda: tasks.poll_task("listing_charge", worker_id="w1"), "a charge task")
        tasks.update_task(TaskResult(workflow_instance_id=polled.workflow_instance_id, task_id=polled.task_id,
                                     status=outcome, reason_for_incompletion="card declined" if outcome == "FAILED"
                                     else None, output_data={"paid": outcome == "COMPLETED"}))
    inner = wait_for(lambda: tasks.poll_task("listing_inner", worker_id="w1"), "the sub-workflow's task")
    tasks.update_task(TaskResult(workflow_instance_id=inner.workflow_instance_id, task_id=inner.task_id,
                                 status="COMPLETED", output_data={"shipped": True}))
    wait_for(lambda: raw(api, "GET", f"/workflow/{ids[1]}")["status"] == "COMPLETED", "the parent run to complete")
    workflows.pause_workflow(ids[2])
    workflows.terminate_workflow(ids[3], reason="stopped by ops")
    return api, ids


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def test_conductor_search_pages_read_as_each_run_does(gateway: RunningGateway) -> None:
    api, ids = conductor_runs(gateway.url)
    v2 = raw(api, "GET", "/workflow/search-v2", size=100)
    summaries = raw(api, "GET", "/workflow/search", size=100)
    assert v2["totalHits"] == summaries["totalHits"] == 6  # five runs and the sub-workflow
    statuses = set()
    for listed, summary in zip(v2["results"], summaries["results"], strict=True):
        alone = raw(api, "GET", f"/workflow/{listed['workflowId']}", includeTasks="false")
        statuses.add(alone["status"])
        # a search page's runs are read without their tasks: the failed tasks' names are a single read's
        same = [k for k in alone if k not in ("failedReferenceTaskNames", "failedTaskNames")]
        assert list(listed) == list(alone)
        assert [(k, listed[k]) for k in same] == [(k, alone[k]) for k in same]
        assert summary["workflowId"] == alone["workflowId"] and summary["status"] == alone["status"]
        assert summary["startTime"] == _iso(alone["startTime"])
        assert summary.get("updateTime") == (_iso(alone["updateTime"]) if "updateTime" in alone else None)
        assert summary.get("endTime") == (_iso(alone["endTime"]) if "endTime" in alone else None)
        assert json.loads(summary["input"]) == alone["input"] and json.loads(summary["output"]) == alone["output"]
        assert summary.get("reasonForIncompletion") == alone.get("reasonForIncompletion")
        assert summary.get("correlationId") == alone.get("correlationId")
        assert summary["parentWorkflowId"] == alone.get("parentWorkflowId", "")
    assert statuses == {"RUNNING", "PAUSED", "COMPLETED", "FAILED", "TERMINATED"}


def test_cognite_executions_list_reads_as_each_execution_does(gateway: RunningGateway) -> None:
    client = CogniteClient(ClientConfig(client_name="wfgateway-tests", base_url=gateway.url, project="default",
                                        credentials=Token("open"), timeout=20))
    client.workflows.versions.upsert(WorkflowVersionUpsert.load({
        "workflowExternalId": "listing_cdf", "version": "1", "workflowDefinition": {"tasks": [{
            "externalId": "wait", "type": "function",
            "parameters": {"function": {"externalId": "no-such-function"}, "isAsyncComplete": True}}]}}))
    started = [client.workflows.executions.run("listing_cdf", "1", input={"n": n}, metadata={"batch": str(n)})
               for n in range(3)]
    client.workflows.executions.cancel(started[0].id, reason="not needed")
    listed = client.post(f"{client.config.base_url}/api/v1/projects/default/workflows/executions/list",
                         json={"filter": {"workflowFilters": [{"externalId": "listing_cdf"}]}, "limit": 100}).json()
    assert {e["id"] for e in listed["items"]} == {e.id for e in started}
    for item in listed["items"]:
        alone = client.get(f"{client.config.base_url}/api/v1/projects/default/workflows/executions/{item['id']}").json()
        assert [(k, alone[k]) for k in item] == list(item.items())  # the listed fields, in the same order
        assert list(alone)[:len(item)] == list(item)


def test_altostrat_run_listing_reads_as_each_run_does(gateway: RunningGateway) -> None:
    with httpx.Client(base_url=gateway.url, timeout=20) as client:
        auth = client.post("/workflows/authorization").json()["id"]
        workflow = client.post("/workflows", json={
            "name": "Listing", "authorization_id": auth, "edges": [],
            "nodes": [{"id": "t", "type": "manual_trigger", "position": {"x": 0, "y": 0},
                       "data": {"componentId": "manual_trigger"}}]}).json()
        runs = [client.post(f"/workflows/{workflow['id']}/execute", json={"context": {"i": i, "note": "ü"}}).json()
                for i in range(3)]
        page = client.get(f"/workflows/{workflow['id']}/executions").json()
        assert [r["id"] for r in page["data"]] == [r["id"] for r in reversed(runs)]
        for item in page["data"]:
            alone = client.get(f"/workflows/runs/{item['id']}").json()
            assert list(item) == [k for k in alone if k != "logs"]
            assert all(item[k] == alone[k] for k in item)
