"""Same-vendor proxy for each real dialect: a front gateway routes every dialect to a back gateway
that plays the vendor (tests/support/server.py run_gateway twice).  The official SDKs talk to the
front; the executions live only on the back; answers are checked against the specs."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cognite.client import ClientConfig, CogniteClient, global_config
from cognite.client.credentials import Token
from cognite.client.data_classes.workflows import (
    FunctionTaskParameters,
    WorkflowDefinitionUpsert,
    WorkflowTask,
    WorkflowUpsert,
    WorkflowVersionUpsert,
)
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.models import RerunWorkflowRequest, StartWorkflowRequest, TaskDef, TaskResult
from conductor.client.http.models.workflow_def import WorkflowDef
from conductor.client.http.models.workflow_task import WorkflowTask as ConductorTask
from conductor.client.orkes_clients import OrkesClients
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.routing.support import serve
from tests.support.server import RunningGateway, run_gateway
from wfgateway.core.errors import NotFound

global_config.disable_pypi_version_check = True
global_config.max_retries = 0


def upstreams(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "backends": {"engine": {"kind": "engine"},
                     **{f"{d}-up": {"kind": "upstream", "dialect": d, "url": url, **extra}
                        for d in ("conductor", "cognite", "altostrat")}},
        "routes": [{"name": f"{d}-proxy", "match": {"dialect": d}, "backend": f"{d}-up"}
                   for d in ("conductor", "cognite", "altostrat")],
    }


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> Iterator[tuple[RunningGateway, RunningGateway]]:
    with run_gateway(tmp_path_factory.mktemp("back")) as back, \
            run_gateway(tmp_path_factory.mktemp("front"), **upstreams(back.url)) as front:
        yield front, back


def wait(fetch, predicate, timeout: float = 10.0):
    end = time.monotonic() + timeout
    value = fetch()
    while not predicate(value):
        assert time.monotonic() < end, f"condition not reached; last: {value}"
        time.sleep(0.05)
        value = fetch()
    return value


def test_conductor_sdk_through_the_proxy_fail_retry_rerun(pair):
    front, back = pair
    clients = OrkesClients(configuration=Configuration(server_api_url=f"{front.url}/api"))
    name, task_type = f"px_{uuid.uuid4().hex[:8]}", f"px_task_{uuid.uuid4().hex[:6]}"
    clients.get_metadata_client().register_task_def(TaskDef(name=task_type, retry_count=0, timeout_seconds=60,
                                                            response_timeout_seconds=30))
    clients.get_metadata_client().register_workflow_def(
        WorkflowDef(name=name, version=1, timeout_seconds=0,
                    tasks=[ConductorTask(name=task_type, task_reference_name="only", type="SIMPLE")]), overwrite=True)
    wc, tc = clients.get_workflow_client(), clients.get_task_client()
    wid = wc.start_workflow(StartWorkflowRequest(name=name, version=1, input={"n": 1}))

    def finish(status: str) -> None:
        task = wait(lambda: tc.poll_task(task_type, worker_id="w1"), lambda t: t is not None)
        tc.update_task(TaskResult(workflow_instance_id=wid, task_id=task.task_id, status=status,
                                  output_data={"ok": status == "COMPLETED"}, worker_id="w1"))

    finish("FAILED")
    assert wait(lambda: wc.get_workflow(wid, include_tasks=True), lambda w: w.status == "FAILED").status == "FAILED"
    wc.retry_workflow(wid)
    finish("COMPLETED")
    done = wait(lambda: wc.get_workflow(wid, include_tasks=True), lambda w: w.status == "COMPLETED")
    assert [t.status for t in done.tasks] == ["FAILED", "COMPLETED"]
    wc.rerun_workflow(wid, RerunWorkflowRequest(workflow_input={"n": 2}))
    assert wc.get_workflow(wid, include_tasks=False).input == {"n": 2}
    # it all happened on the back gateway's engine, through the front
    assert _run(back, back.engine.get(wid)).id == wid
    with pytest.raises(NotFound):
        _run(front, front.engine.get(wid))


def test_cognite_sdk_through_the_proxy_run_fail_retry(pair):
    front, back = pair
    client = CogniteClient(ClientConfig(client_name="proxy-test", base_url=front.url, project="acme",
                                        credentials=Token("client-token"), timeout=20))
    xid = f"px-{uuid.uuid4().hex[:8]}"
    client.workflows.upsert(WorkflowUpsert(xid))
    client.workflows.versions.upsert(WorkflowVersionUpsert(xid, "1", WorkflowDefinitionUpsert([
        WorkflowTask("step", FunctionTaskParameters("manual", is_async_complete=True), retries=0)])))
    ex = client.workflows.executions.run(xid, "1", input={"a": 1})

    def step():
        return wait(lambda: client.workflows.executions.retrieve_detailed(ex.id),
                    lambda e: e.executed_tasks and e.executed_tasks[-1].status == "in_progress").executed_tasks[-1]

    client.workflows.tasks.update(step().id, "failed")
    assert wait(lambda: client.workflows.executions.retrieve_detailed(ex.id), lambda e: e.status == "failed")
    client.workflows.executions.retry(ex.id)
    client.workflows.tasks.update(step().id, "completed", output={"rows": 3})
    done = wait(lambda: client.workflows.executions.retrieve_detailed(ex.id), lambda e: e.status == "completed")
    assert [t.status for t in done.executed_tasks] == ["failed", "completed"]
    assert _run(back, back.engine.get(ex.id)).id == ex.id


def test_altostrat_through_the_proxy_execute_and_rerun(pair):
    front, back = pair
    with httpx.Client(base_url=front.url, timeout=10) as c:
        auth = c.post("/workflows/authorization")
        assert auth.status_code == 200, auth.text
        wf = c.post("/workflows", json={"name": "Proxy", "authorization_id": auth.json()["id"], "nodes": [
            {"id": "n1", "type": "manual_trigger", "position": {"x": 0, "y": 0},
             "data": {"componentId": "manual_trigger"}}], "edges": []})
        assert wf.status_code == 201, wf.text
        run = c.post(f"/workflows/{wf.json()['id']}/execute", json={"context": {"user_id": "u1"}})
        assert run.status_code == 202, run.text
        run_id = run.json()["id"]
        got = wait(lambda: c.get(f"/workflows/runs/{run_id}").json(), lambda r: r["status"] == "completed")
        assert "x-wfgateway-drift" not in c.get(f"/workflows/runs/{run_id}").headers
        rerun = c.post(f"/workflows/runs/{run_id}/rerun")
        assert rerun.status_code == 202, rerun.text
        new_id = rerun.json()["new_run"]["id"]
        assert new_id != got["id"]
    assert _run(back, back.engine.get(new_id)).id == new_id
    # the new run was recorded as owned by the Altostrat upstream
    router = front.app.router
    assert _run(front, router.registry.owner(new_id, None)) == "altostrat-up"


def _run(gw: RunningGateway, coro):
    import asyncio

    return asyncio.run_coroutine_threadsafe(coro, gw.app.router.loop).result(10)


def off_spec_vendor() -> Starlette:
    """One drifted read per vendor: unknown status words, missing fields, wrong types."""

    async def conductor(request: Request) -> JSONResponse:
        return JSONResponse({"workflowId": request.path_params["wid"], "status": "EXPLODED"})

    async def cognite(request: Request) -> JSONResponse:
        return JSONResponse({"id": request.path_params["eid"], "status": "exploded"})

    async def altostrat(request: Request) -> JSONResponse:
        return JSONResponse({"id": 5})

    return Starlette(routes=[Route("/api/workflow/{wid}", conductor),
                             Route("/api/v1/projects/{p}/workflows/executions/{eid}", cognite),
                             Route("/workflows/runs/{rid}", altostrat)])


READS = {"conductor": "/api/workflow/wf-1", "cognite": "/api/v1/projects/acme/workflows/executions/0b6a6d52-6f4e-4d2a-9c53-2f1d8c1a7e11",
         "altostrat": "/workflows/runs/run-1"}
MISSING = {"conductor": "/api/nothing-here", "cognite": "/api/v1/projects/acme/workflows/nothing/here/x",
           "altostrat": "/workflows/nothing/here/x"}


@pytest.mark.parametrize("mode", ["report", "enforce"])
def test_drift_from_each_vendor_is_reported_or_enforced_in_its_own_format(tmp_path, mode):
    with serve(off_spec_vendor()) as vendor, \
            run_gateway(tmp_path, **upstreams(vendor, response_validation=mode)) as front, \
            httpx.Client(base_url=front.url, headers={"Authorization": "Bearer t"}) as c:
        for dialect, path in READS.items():
            r = c.get(path)
            if mode == "report":
                assert r.status_code == 200, (dialect, r.text)
                assert r.headers["x-wfgateway-drift"], dialect
            else:
                assert r.status_code == 502, (dialect, r.status_code, r.text)
                natural = c.get(MISSING[dialect])  # the dialect's own error body, for its shape
                assert natural.status_code in (404, 405), (dialect, natural.text)
                assert set(r.json()) == set(natural.json()), (dialect, r.json(), natural.json())
                assert "contract" in r.text
