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
