"""Cross-vendor from Altostrat: an Altostrat client (httpx, as Altostrat has no SDK) talks to a front
gateway whose routes send the Altostrat dialect to a Conductor upstream, or (header X-Upstream:
cognite) to a Cognite upstream; one back gateway plays both vendors.  The vendors' workflows are seen
as read-only Altostrat workflows: executed, their runs listed, read and re-run (a new run with the same
payload); resume-from, edits and deletes are refused in Altostrat's error format, naming the part."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.altostrat.target import Target
from tests.support.server import RunningGateway, ThreadServer, run_gateway

FUNCTION = "xv-notify"


@pytest.fixture(scope="module")
def target() -> Iterator[tuple[Target, str]]:
    t = Target()
    server = ThreadServer(t.app())
    server.start()
    try:
        yield t, server.url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def gateways(tmp_path_factory, target) -> Iterator[tuple[RunningGateway, RunningGateway]]:
    """(front, back): the back serves Conductor and Cognite (a function task calls the target)."""
    _, url = target
    cognite = {"cognite": {"functions": {FUNCTION: {"url": f"{url}/cognite/fn"}}}}
    with run_gateway(tmp_path_factory.mktemp("vendors"), dialects=cognite) as back:
        routes = {
            "backends": {"engine": {"kind": "engine"},
                         "cond": {"kind": "upstream", "dialect": "conductor", "url": back.url, "retries": 0},
                         "cdf": {"kind": "upstream", "dialect": "cognite", "url": back.url, "retries": 0,
                                 "project": "acme"}},
            "routes": [{"name": "alto-cdf", "match": {"dialect": "altostrat", "header": {"X-Upstream": "cognite"}},
                        "backend": "cdf"},
                       {"name": "alto-cond", "match": {"dialect": "altostrat"}, "backend": "cond"},
                       {"match": {}, "backend": "engine"}],
        }
        with run_gateway(tmp_path_factory.mktemp("front"), **routes) as front:
            yield front, back


def wait_run(client: httpx.Client, run_id: str, timeout: float = 15.0) -> dict[str, Any]:
    end = time.monotonic() + timeout
    while True:
        r = client.get(f"/workflows/runs/{run_id}")
        assert r.status_code == 200, r.text
        if r.json()["status"] in ("completed", "failed"):
            return r.json()
        assert time.monotonic() < end, r.text
        time.sleep(0.05)


def refused(response: httpx.Response, part: str) -> None:
    """501 in Altostrat's error format, naming what cannot be translated."""
    assert response.status_code == 501, response.text
    body = response.json()
    assert body["type"] == "api_error" and body["code"] == "not_implemented", body
    assert part in body["message"], body["message"]


def not_editable(response: httpx.Response, part: str) -> None:
    """A workflow another vendor's API wrote cannot be edited as Altostrat nodes: 409, documented in the spec."""
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["type"] == "invalid_request_error" and body["code"] == "workflow_not_editable", body
    assert part in body["message"], body["message"]


def common_checks(alto: httpx.Client, name: str, completed_run: dict[str, Any]) -> None:
    """Edits of a vendor's workflow, and a resume-from, are refused; the workflow stays."""
    auth = alto.post("/workflows/authorization").json()["id"]  # served by the front itself
    not_editable(alto.put(f"/workflows/{name}", json={"name": "renamed"}),
                 f"updateWorkflow cannot be carried out: workflow '{name}' was written through the")
    not_editable(alto.delete(f"/workflows/{name}"), "deleteWorkflow cannot be carried out")
    refused(alto.post("/workflows", json={
        "name": "new", "authorization_id": auth, "edges": [],
        "nodes": [{"id": "n1", "type": "manual_trigger", "data": {"componentId": "manual_trigger"}}]}),
        "put_definition cannot be translated")
    node = completed_run["logs"][0]["node_id"]
    refused(alto.post(f"/workflows/runs/{completed_run['id']}/resume-from/{node}"),
            f"a new run resumed from {'node' if name.startswith('xa_') else 'task'} {node} cannot be translated")
    assert alto.get(f"/workflows/{name}").status_code == 200


def test_altostrat_client_against_a_conductor_upstream(gateways, target):
    front, back = gateways
    t, url = target
    path = f"/{uuid.uuid4().hex[:8]}/ping"
    name = f"xa_{uuid.uuid4().hex[:8]}"
    vendor = httpx.Client(base_url=back.url, timeout=30)
    assert vendor.post("/api/metadata/workflow", json={
        "name": name, "version": 1, "timeoutSeconds": 0, "description": "pings",
        "tasks": [{"name": "ping", "taskReferenceName": "ping_ref", "type": "HTTP",
                   "inputParameters": {"http_request": {"uri": url + path, "method": "POST",
                                                        "body": {"order": "${workflow.input.order}"}}}}]}
    ).status_code == 200
    alto = httpx.Client(base_url=front.url, timeout=30)

    listed = alto.get("/workflows")
    assert listed.status_code == 200 and name in [w["id"] for w in listed.json()]
    shown = alto.get(f"/workflows/{name}").json()
    assert shown["name"] == name and shown["description"] == "pings" and shown["is_active"] is True
    assert "nodes" not in shown  # a Conductor task list has no Altostrat nodes

    started = alto.post(f"/workflows/{name}/execute", json={"context": {"order": 5}})
    assert started.status_code == 202, started.text
    ok = started.json()["id"]
    assert vendor.get(f"/api/workflow/{ok}").json()["input"] == {"order": 5}  # it runs on Conductor
    done = wait_run(alto, ok)
    assert done["status"] == "completed" and done["trigger_payload"] == {"order": 5}
    assert [(x["node_id"], x["status"]) for x in done["logs"]] == [("ping_ref", "success")]
    assert [h.body for h in t.calls(path)] == [{"order": 5}]

    t.fail(path)
    bad = alto.post(f"/workflows/{name}/execute", json={"context": {"order": 6}}).json()["id"]
    failed = wait_run(alto, bad)
    assert failed["status"] == "failed" and failed["error_message"]
    assert [(x["node_id"], x["status"]) for x in failed["logs"]] == [("ping_ref", "error")]

    rerun = alto.post(f"/workflows/runs/{bad}/rerun")
    assert rerun.status_code == 202, rerun.text
    again = rerun.json()["new_run"]["id"]
    assert again not in (ok, bad) and rerun.json()["original_run_id"] == bad
    assert vendor.get(f"/api/workflow/{again}").json()["input"] == {"order": 6}  # a new Conductor run, same input
    assert wait_run(alto, again)["status"] == "completed"
    assert [h.body for h in t.calls(path)] == [{"order": 5}, {"order": 6}, {"order": 6}]

    listed_runs = alto.get(f"/workflows/{name}/executions")
    assert listed_runs.status_code == 200, listed_runs.text
    runs = listed_runs.json()
    assert [r["id"] for r in runs["data"]] == [again, bad, ok] and runs["meta"]["total"] == 3
    logs = alto.get(f"/workflows/{name}/logs").json()
    assert sorted(x["status"] for x in logs) == ["error", "success", "success"]
    common_checks(alto, name, done)
    assert vendor.get(f"/api/metadata/workflow/{name}").status_code == 200
    assert vendor.get("/api/workflow/search", params={"query": f"workflowType = '{name}'"}).json()["totalHits"] == 3


def test_altostrat_client_against_a_cognite_upstream(gateways, target):
    front, back = gateways
    t, _ = target
    xid = f"xa-{uuid.uuid4().hex[:8]}"
    vendor = httpx.Client(base_url=f"{back.url}/api/v1/projects/acme", timeout=30)
    assert vendor.post("/workflows", json={"items": [{"externalId": xid}]}).status_code == 200
    assert vendor.post("/workflows/versions", json={"items": [{
        "workflowExternalId": xid, "version": "1", "workflowDefinition": {"tasks": [{
            "externalId": "notify", "type": "function", "retries": 0,
            "parameters": {"function": {"externalId": FUNCTION, "data": {"kind": "notice"}}}}]}}]}
    ).status_code == 200
    alto = httpx.Client(base_url=front.url, headers={"X-Upstream": "cognite"}, timeout=30)

    assert xid in [w["id"] for w in alto.get("/workflows").json()]
    started = alto.post(f"/workflows/{xid}/execute", json={"context": {"order": 7}})
    assert started.status_code == 202, started.text
    ok = started.json()["id"]
    assert vendor.get(f"/workflows/executions/{ok}").json()["input"] == {"order": 7}  # it runs on Cognite
    done = wait_run(alto, ok)
    assert done["status"] == "completed" and done["trigger_payload"] == {"order": 7}
    assert [(x["node_id"], x["status"]) for x in done["logs"]] == [("notify", "success")]

    t.fail("/cognite/fn")
    bad = alto.post(f"/workflows/{xid}/execute", json={"context": {"order": 8}}).json()["id"]
    failed = wait_run(alto, bad)
    assert failed["status"] == "failed"
    rerun = alto.post(f"/workflows/runs/{bad}/rerun")
    assert rerun.status_code == 202, rerun.text
    again = rerun.json()["new_run"]["id"]
    assert vendor.get(f"/workflows/executions/{again}").json()["input"] == {"order": 8}  # a new Cognite run
    assert wait_run(alto, again)["status"] == "completed"
    listed_runs = alto.get(f"/workflows/{xid}/executions")
    assert listed_runs.status_code == 200, listed_runs.text
    runs = listed_runs.json()
    assert sorted(r["id"] for r in runs["data"]) == sorted([ok, bad, again])
    # Cognite pages by cursor alone: a later page is walked to, not asked for by offset
    second = alto.get(f"/workflows/{xid}/executions", params={"page": 2})
    assert second.status_code == 200, second.text
    assert second.json()["data"] == [] and second.json()["meta"]["total"] == 3
    common_checks(alto, xid, done)
