"""An execution started through the Conductor API can be read and re-run through the Altostrat API
(same tenant: both dialects open, organisation "default")."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from tests.altostrat.conftest import checked, wait_run
from tests.support.server import run_gateway


@pytest.fixture(scope="module")
def open_gateway(tmp_path_factory):
    with run_gateway(tmp_path_factory.mktemp("cross"), dialects={"cognite": {"enabled": False}}) as gw:
        yield gw


def test_conductor_execution_is_readable_and_rerunnable_as_an_altostrat_run(open_gateway, target):
    t, url = target
    path = f"/{uuid.uuid4().hex[:8]}/ping"
    name = f"cross_{uuid.uuid4().hex[:6]}"
    definition = {"name": name, "version": 1, "timeoutSeconds": 0,
                  "tasks": [{"name": "ping", "taskReferenceName": "ping_ref", "type": "HTTP",
                             "inputParameters": {"http_request": {"uri": url + path, "method": "GET"}}}]}
    with httpx.Client(base_url=open_gateway.url, timeout=30) as c:
        assert c.post("/api/metadata/workflow", json=definition).status_code == 200, "conductor define"
        started = c.post(f"/api/workflow/{name}", json={"x": 1})
        assert started.status_code == 200, started.text
        wid = started.text
        deadline = time.monotonic() + 10
        while c.get(f"/api/workflow/{wid}/status").json()["status"] == "RUNNING":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        run = wait_run(c, wid)
        assert run["id"] == wid and run["status"] == "completed"
        assert [x["node_id"] for x in run["logs"]] == ["ping_ref"]
        assert run["logs"][0]["output"]
        rerun = checked(c.post(f"/workflows/runs/{wid}/rerun"), "rerunWorkflowRun", 202)
        assert rerun["original_run_id"] == wid and rerun["new_run"]["id"].startswith("fl_run_")
        assert wait_run(c, rerun["new_run"]["id"])["status"] == "completed"
    assert len(t.calls(path)) == 2


def test_a_conductor_workflow_is_executable_through_the_altostrat_api(open_gateway, target):
    """On the engine too, another dialect's workflow is a read-only Altostrat workflow: listed, read
    without nodes, executed with the context as its input, its runs listed; edits, deletes and synchronous runs are refused (409)."""
    t, url = target
    path = f"/{uuid.uuid4().hex[:8]}/ping"
    name = f"cross_{uuid.uuid4().hex[:6]}"
    definition = {"name": name, "version": 1, "timeoutSeconds": 0,
                  "tasks": [{"name": "ping", "taskReferenceName": "ping_ref", "type": "HTTP",
                             "inputParameters": {"http_request": {"uri": url + path, "method": "POST",
                                                                  "body": "${workflow.input}"}}}]}
    with httpx.Client(base_url=open_gateway.url, timeout=30) as c:
        assert c.post("/api/metadata/workflow", json=definition).status_code == 200, "conductor define"
        listed = checked(c.get("/workflows"), "listWorkflows", 200)
        assert name in [w["id"] for w in listed]
        shown = checked(c.get(f"/workflows/{name}"), "getWorkflow", 200)
        assert shown["id"] == name and "nodes" not in shown
        run = checked(c.post(f"/workflows/{name}/execute", json={"context": {"n": 1}}), "executeWorkflow", 202)
        done = wait_run(c, run["id"])
        assert done["status"] == "completed" and done["trigger_payload"] == {"n": 1}
        assert [h.body for h in t.calls(path)] == [{"n": 1}]  # the workflow input is the context, nothing added
        assert c.get(f"/api/workflow/{run['id']}").json()["input"] == {"n": 1}
        runs = checked(c.get(f"/workflows/{name}/executions"), "listWorkflowRuns", 200)
        assert [r["id"] for r in runs["data"]] == [run["id"]]
        edit = c.put(f"/workflows/{name}", json={"name": "renamed"})
        assert edit.status_code == 409 and "was written through the conductor API" in edit.json()["message"]
        assert c.delete(f"/workflows/{name}").status_code == 409
        sync = c.post(f"/workflows/sync/{name}", json={})
        assert sync.status_code == 409 and sync.json()["code"] == "workflow_not_synchronous"
        assert c.get(f"/api/metadata/workflow/{name}").status_code == 200
