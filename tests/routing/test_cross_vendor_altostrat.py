"""Cross-vendor towards Altostrat: conductor-python and cognite-sdk talk to a front gateway whose
routes send their dialects to an Altostrat upstream (a back gateway serving the Altostrat dialect on
its engine, with Bearer tokens).  Workflows are Altostrat's (manual trigger -> webhook to a real HTTP
target); what Altostrat cannot express (in-place retry/rerun, cancel, correlation ids) is refused in
the client's own error format, naming the part, and nothing reaches the upstream."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cognite.client import ClientConfig, CogniteClient, global_config
from cognite.client.credentials import Token
from cognite.client.data_classes.workflows import WorkflowVersionId
from cognite.client.exceptions import CogniteAPIError
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.models import RerunWorkflowRequest, StartWorkflowRequest
from conductor.client.http.rest import ApiException
from conductor.client.orkes_clients import OrkesClients
from wfgateway.adapters.altostrat import ids

from tests.altostrat.target import Target
from tests.support.server import RunningGateway, ThreadServer, run_gateway

global_config.disable_pypi_version_check = True
global_config.max_retries = 0

TOKEN_ENV, TOKEN = "XV_ALTOSTRAT_TOKEN", "xv-altostrat-upstream-token-0123456789"


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
def gateways(tmp_path_factory) -> Iterator[tuple[RunningGateway, RunningGateway]]:
    """(front, back): the back plays Altostrat (token required); the front routes Conductor and Cognite to it."""
    saved = os.environ.get(TOKEN_ENV)
    os.environ[TOKEN_ENV] = TOKEN
    alto_auth = {"altostrat": {"auth": {"tokens": [{"token_env": TOKEN_ENV, "org": "org_x"}]}}}
    upstream = {"kind": "upstream", "dialect": "altostrat", "url": "", "retries": 0,
                "credentials": {"token_env": TOKEN_ENV}}
    try:
        with run_gateway(tmp_path_factory.mktemp("altostrat-vendor"), dialects=alto_auth) as back:
            upstream["url"] = back.url
            routes = {"backends": {"engine": {"kind": "engine"}, "alto": upstream},
                      "routes": [{"name": "to-altostrat", "match": {"dialect": "conductor"}, "backend": "alto"},
                                 {"name": "to-altostrat-cdf", "match": {"dialect": "cognite"}, "backend": "alto"},
                                 {"match": {}, "backend": "engine"}]}
            with run_gateway(tmp_path_factory.mktemp("front"), **routes) as front:
                yield front, back
    finally:
        if saved is None:
            os.environ.pop(TOKEN_ENV, None)
        else:
            os.environ[TOKEN_ENV] = saved


@pytest.fixture
def vendor(gateways) -> Iterator[httpx.Client]:
    """The Altostrat upstream itself, with its token."""
    with httpx.Client(base_url=gateways[1].url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as c:
        yield c


def new_workflow(vendor: httpx.Client, url: str, path: str, *, delay_s: int = 0) -> str:
    """manual trigger -> [delay ->] webhook POST {order} to the target; answers the fl_ id."""
    auth = vendor.post("/workflows/authorization")
    assert auth.status_code == 200, auth.text
    nodes = [{"id": "n1", "type": "manual_trigger", "data": {"componentId": "manual_trigger"}},
             {"id": "n2", "type": "webhook", "data": {"componentId": "webhook", "method": "POST",
                                                      "url": url + path, "body": '{"order": "{{ n1.order }}"}'}}]
    edges = [{"id": "e1", "source": "n1", "target": "n2"}]
    if delay_s:
        nodes.append({"id": "d", "type": "delay", "data": {"componentId": "delay", "duration": delay_s}})
        edges = [{"id": "e0", "source": "n1", "target": "d"}, {"id": "e1", "source": "d", "target": "n2"}]
    created = vendor.post("/workflows", json={"name": f"xv {uuid.uuid4().hex[:6]}", "authorization_id":
                                              auth.json()["id"], "nodes": nodes, "edges": edges})
    assert created.status_code == 201, created.text
    return created.json()["id"]


def wait(fetch, predicate, timeout: float = 15.0):
    end = time.monotonic() + timeout
    value = fetch()
    while not predicate(value):
        assert time.monotonic() < end, f"condition not reached; last: {value}"
        time.sleep(0.05)
        value = fetch()
    return value


def runs_at_vendor(vendor: httpx.Client, workflow_id: str) -> list[str]:
    """The ids of the workflow's runs at the upstream, in the UUID form the front shows them in."""
    r = vendor.get(f"/workflows/{workflow_id}/executions")
    assert r.status_code == 200, r.text
    return sorted(ids.ulid_uuid(run["id"], ids.RUN) for run in r.json()["data"])


def run_at_vendor(vendor: httpx.Client, shown_id: str) -> dict[str, Any]:
    r = vendor.get(f"/workflows/runs/{ids.uuid_ulid(shown_id, ids.RUN)}")
    assert r.status_code == 200, r.text
    return r.json()


def test_conductor_sdk_against_an_altostrat_upstream(gateways, vendor, target):
    front, back = gateways
    t, url = target
    path = f"/{uuid.uuid4().hex[:8]}/hook"
    wf = new_workflow(vendor, url, path)
    assert httpx.get(f"{back.url}/workflows").status_code == 401  # the front's calls carry the configured token
    wc = OrkesClients(configuration=Configuration(server_api_url=f"{front.url}/api")).get_workflow_client()

    ok = wc.start_workflow(StartWorkflowRequest(name=wf, version=1, input={"order": 7}))
    assert run_at_vendor(vendor, ok)["trigger_payload"]["order"] == 7  # it runs at Altostrat, id shown as a UUID
    done = wait(lambda: wc.get_workflow(ok, include_tasks=True), lambda w: w.status != "RUNNING")
    assert done.status == "COMPLETED" and done.workflow_name == wf and done.input == {"order": 7}
    assert [(x.reference_task_name, x.status) for x in done.tasks] == [("n1", "COMPLETED"), ("n2", "COMPLETED")]
    assert [h.body for h in t.calls(path)] == [{"order": "7"}]

    t.fail(path)
    bad = wc.start_workflow(StartWorkflowRequest(name=wf, version=1, input={"order": 8}))
    failed = wait(lambda: wc.get_workflow(bad, include_tasks=True), lambda w: w.status != "RUNNING")
    assert failed.status == "FAILED"
    assert failed.reason_for_incompletion == "Webhook request failed: 503 Service Unavailable"
    assert [(x.reference_task_name, x.status) for x in failed.tasks] == [("n1", "COMPLETED"), ("n2", "FAILED")]

    found = wc.search(query=f"workflowType = '{wf}' AND status IN (FAILED)")
    assert [r.workflow_id for r in found.results] == [bad]

    # Altostrat only makes new runs: in-place retry, rerun and cancel are refused by name
    refusals = {
        "retry cannot be translated for the Altostrat SDX upstream": lambda: wc.retry_workflow(bad),
        "rerun from a task, with new task input cannot be translated": lambda: wc.rerun_workflow(
            bad, RerunWorkflowRequest(re_run_from_task_id=failed.tasks[1].task_id, task_input={"order": 9})),
        "restart cannot be translated": lambda: wc.restart_workflow(bad),
        "terminate cannot be translated for the Altostrat SDX upstream: Altostrat has no endpoint to cancel a run":
            lambda: wc.terminate_workflow(bad, reason="stop"),
        "start with a correlation id cannot be translated": lambda: wc.start_workflow(
            StartWorkflowRequest(name=wf, version=1, input={}, correlation_id="order-9")),
    }
    for message, call in refusals.items():
        with pytest.raises(ApiException) as refused:
            call()
        assert refused.value.status == 501 and message in refused.value.body, refused.value.body
    assert runs_at_vendor(vendor, wf) == sorted([ok, bad])  # nothing else was started
    assert len(t.calls(path)) == 2

    with pytest.raises(ApiException) as missing:
        wc.get_workflow(str(uuid.uuid4()))
    assert missing.value.status == 404
    metrics = httpx.get(f"{front.url}/metrics").text
    assert 'wfgateway_route_errors_total{backend="alto",kind="not_translatable",route="to-altostrat"}' in metrics


def test_cognite_sdk_against_an_altostrat_upstream(gateways, vendor, target):
    front, _ = gateways
    t, url = target
    path = f"/{uuid.uuid4().hex[:8]}/hook"
    wf = new_workflow(vendor, url, path)
    client = CogniteClient(ClientConfig(client_name="xv", base_url=front.url, project="acme",
                                        credentials=Token("t"), timeout=20))

    ok = client.workflows.executions.run(wf, "1", input={"order": 1})
    assert ok.workflow_external_id == wf and run_at_vendor(vendor, ok.id)["trigger_payload"]["order"] == 1
    done = wait(lambda: client.workflows.executions.retrieve_detailed(ok.id), lambda e: e.status != "running")
    assert done.status == "completed" and done.input == {"order": 1}
    assert [(x.external_id, x.status) for x in done.executed_tasks] == [("n1", "completed"), ("n2", "completed")]

    t.fail(path)
    bad = client.workflows.executions.run(wf, "1", input={"order": 2})
    failed = wait(lambda: client.workflows.executions.retrieve_detailed(bad.id), lambda e: e.status != "running")
    assert failed.status == "failed"
    assert failed.reason_for_incompletion == "Webhook request failed: 503 Service Unavailable"
    assert [x.status for x in failed.executed_tasks] == ["completed", "failed"]

    listed = client.workflows.executions.list(WorkflowVersionId(wf, "1"), statuses=["failed"])
    assert [e.id for e in listed] == [bad.id]

    with pytest.raises(CogniteAPIError) as retry:
        client.workflows.executions.retry(bad.id)
    assert retry.value.code == 501
    assert "retry cannot be translated for the Altostrat SDX upstream" in retry.value.message
    with pytest.raises(CogniteAPIError) as ended:
        client.workflows.executions.cancel(bad.id, reason="stop")  # a failed run: Cognite's own 400 first
    assert ended.value.code == 400
    with pytest.raises(CogniteAPIError) as run_v2:
        client.workflows.executions.run(wf, "2", input={})
    assert run_v2.value.code == 404
    assert runs_at_vendor(vendor, wf) == sorted([ok.id, bad.id])


def test_a_running_altostrat_run_cannot_be_cancelled_through_cognite(gateways, vendor, target):
    front, _ = gateways
    t, url = target
    path = f"/{uuid.uuid4().hex[:8]}/hook"
    wf = new_workflow(vendor, url, path, delay_s=2)
    client = CogniteClient(ClientConfig(client_name="xv", base_url=front.url, project="acme",
                                        credentials=Token("t"), timeout=20))
    slow = client.workflows.executions.run(wf, "1", input={"order": 3})
    with pytest.raises(CogniteAPIError) as cancel:
        client.workflows.executions.cancel(slow.id, reason="stop")
    assert cancel.value.code == 501
    assert "terminate cannot be translated for the Altostrat SDX upstream: Altostrat has no endpoint to cancel a run" \
        in cancel.value.message
    done = wait(lambda: client.workflows.executions.retrieve_detailed(slow.id), lambda e: e.status != "running")
    assert done.status == "completed" and [x.external_id for x in done.executed_tasks] == ["n1", "d", "n2"]
    assert [h.body for h in t.calls(path)] == [{"order": "3"}]  # the run went on: nothing was cancelled


def test_runs_the_front_never_saw_are_found_and_paged(gateways, vendor, target):
    """Runs started at the vendor itself: a read by id finds their workflow in the run histories, and a
    search pages through Altostrat's pages of 15 runs."""
    front, _ = gateways
    _, url = target
    wf = new_workflow(vendor, url, f"/{uuid.uuid4().hex[:8]}/hook")
    started = [vendor.post(f"/workflows/{wf}/execute", json={"context": {"i": i}}).json()["id"] for i in range(17)]
    shown = [ids.ulid_uuid(run_id, ids.RUN) for run_id in started]
    wc = OrkesClients(configuration=Configuration(server_api_url=f"{front.url}/api")).get_workflow_client()
    first = wait(lambda: wc.get_workflow(shown[0], include_tasks=True), lambda w: w.status != "RUNNING")
    assert first.workflow_name == wf and first.input == {"i": 0} and first.status == "COMPLETED"
    wait(lambda: runs_at_vendor(vendor, wf), lambda _: all(
        vendor.get(f"/workflows/runs/{r}").json()["status"] == "completed" for r in started))

    head = wc.search(start=0, size=10, query=f"workflowType = '{wf}'")
    tail = wc.search(start=10, size=10, query=f"workflowType = '{wf}'")
    assert len(head.results) == 10 and len(tail.results) == 7
    totals = httpx.get(f"{front.url}/api/workflow/search", params={"size": 1, "query": f"workflowType = '{wf}'"})
    assert totals.json()["totalHits"] == 17  # Altostrat's meta.total
    assert [r.workflow_id for r in head.results + tail.results] == shown[::-1]  # newest first, each once
    done = wc.search(start=0, size=20, query=f"workflowType = '{wf}' AND status IN (COMPLETED)")
    assert len(done.results) == 17
