"""The console's JSON API on a real gateway: runs list with filters and key paging, ETags, the run's
DAG, actions through the vendors' own operations with their refusals, the history, CSRF, tenants."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.support.server import run_gateway
from tests.tenancy.conftest import SECRETS, dialect_auth

WORKFLOW = {"name": "console_api", "version": 1, "schemaVersion": 2, "ownerEmail": "qa@example.com", "tasks": [
    {"name": "console_work", "taskReferenceName": "work", "type": "SIMPLE"},
    {"name": "after", "taskReferenceName": "after", "type": "SET_VARIABLE", "inputParameters": {"done": True}},
]}


def failed_run(api: httpx.Client, correlation: str = "") -> str:
    """A Conductor run whose worker task failed (the run is FAILED)."""
    run_id = api.post(f"/api/workflow/{WORKFLOW['name']}", params={"correlationId": correlation} if correlation else {},
                      json={"n": 1}).raise_for_status().text
    for _ in range(100):
        task = api.get("/api/tasks/poll/console_work")
        if task.status_code == 200 and task.content:
            break
        time.sleep(0.05)
    task = task.json()
    api.post("/api/tasks", json={"taskId": task["taskId"], "workflowInstanceId": task["workflowInstanceId"],
                                 "status": "FAILED", "reasonForIncompletion": "worker said no"}).raise_for_status()
    return run_id


def wait_status(console: httpx.Client, run_id: str, status: str, tenant: str = "default") -> dict:
    for _ in range(200):
        doc = console.get(f"/console/api/runs/{run_id}", params={"tenant": tenant}).json()
        if doc["run"]["status"] == status:
            return doc
        time.sleep(0.05)
    raise AssertionError(f"{run_id} never became {status}: {doc['run']['status']}")


@pytest.fixture
def gateway(tmp_path):
    with run_gateway(tmp_path) as gw:
        api = httpx.Client(base_url=gw.url)
        api.post("/api/metadata/workflow", json=WORKFLOW).raise_for_status()
        yield gw, api


def open_console(url: str) -> tuple[httpx.Client, str]:
    console = httpx.Client(base_url=url)
    session = console.get("/console/api/session").json()
    return console, session["identity"]["csrf"]


def test_runs_list_filters_pages_by_key_and_answers_304_when_nothing_changed(gateway):
    gw, api = gateway
    ids = [failed_run(api, correlation=f"order-{i}") for i in range(5)]
    console, _ = open_console(gw.url)
    first = console.get("/console/api/runs", params={"limit": 2})
    assert first.status_code == 200 and len(first.json()["runs"]) == 2
    seen = [r["id"] for r in first.json()["runs"]]
    cursor = first.json()["next"]
    while cursor:
        page = console.get("/console/api/runs", params={"limit": 2, "cursor": cursor}).json()
        seen += [r["id"] for r in page["runs"]]
        cursor = page["next"]
    assert seen == list(reversed(ids))  # newest first, each run once

    again = console.get("/console/api/runs", params={"limit": 2}, headers={"if-none-match": first.headers["etag"]})
    assert again.status_code == 304
    row = first.json()["runs"][0]
    assert row["words"] == {"title": "Conductor", "id_name": "workflowId", "status": "FAILED", "workflow": "console_api"}

    assert [r["id"] for r in console.get("/console/api/runs", params={"correlation": "order-3"}).json()["runs"]] == [ids[3]]
    assert console.get("/console/api/runs", params={"dialect": "cognite"}).json()["runs"] == []
    assert len(console.get("/console/api/runs", params={"dialect": "conductor", "status": "FAILED"}).json()["runs"]) == 5
    assert [r["id"] for r in console.get("/console/api/runs", params={"q": ids[1][:13]}).json()["runs"]] == [ids[1]]
    assert console.get("/console/api/runs", params={"from": 10**13}).json()["runs"] == []
    other_filter = console.get("/console/api/runs", params={"limit": 2, "status": "FAILED", "cursor": first.json()["next"]})
    assert other_filter.status_code == 400 and "cursor" in other_filter.json()["error"]
    assert console.get("/console/api/runs", params={"status": "BROKEN"}).status_code == 400


def test_actions_go_through_the_vendor_operations_with_refusals_and_history(gateway):
    gw, api = gateway
    run_id = failed_run(api)
    console, csrf = open_console(gw.url)
    doc = console.get(f"/console/api/runs/{run_id}").json()
    nodes = {n["id"]: n for n in doc["graph"]["nodes"]}
    assert nodes["work"]["status"] == "FAILED" and nodes["after"]["status"] == "NOT_STARTED"
    assert {"from": "work", "to": "after", "branch": None} in doc["graph"]["edges"]
    assert {n["title"]: n["id_name"] for n in doc["names"]} == {
        "Conductor": "workflowId", "Cognite": "executionId", "Altostrat": "runId"}

    assert console.post(f"/console/api/runs/{run_id}/actions/retry", json={}).status_code == 403  # no CSRF token
    headers = {"x-console-csrf": csrf}
    refused = console.post(f"/console/api/runs/{run_id}/actions/resume", json={}, headers=headers)
    assert (refused.status_code, refused.json()["ok"]) == (200, False)  # an answer the page shows, not an error
    assert refused.json()["refusal"] == f"The workflow {run_id} is not PAUSED so cannot resume. Current status is FAILED"

    rerun = console.post(f"/console/api/runs/{run_id}/actions/rerun", headers=headers,
                         json={"task_id": nodes["work"]["current"], "task_input": {"fixed": True}})
    assert rerun.json()["ok"] is True
    doc = wait_status(console, run_id, "RUNNING")
    work = next(n for n in doc["graph"]["nodes"] if n["id"] == "work")
    assert work["status"] == "SCHEDULED" and len(work["attempts"]) == 2  # the failed attempt stays as history
    assert [(h["action"], h["outcome"], h["subject"]) for h in doc["history"]] == [
        ("resume", "refused", "anonymous (open mode)"), ("rerun", "done", "anonymous (open mode)")]
    assert "not PAUSED" in doc["history"][0]["detail"]


def test_closed_gateway_needs_a_login_and_shows_only_its_tenants(tmp_path, monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    with run_gateway(tmp_path, dialects=dialect_auth()) as gw:
        rival = httpx.Client(base_url=gw.url, headers={"Authorization": f"Bearer {SECRETS['TENANCY_ALTO_RIVAL']}"})
        auth = rival.post("/workflows/authorization").raise_for_status().json()["id"]
        flow = rival.post("/workflows", json={"name": "rival-flow", "authorization_id": auth, "nodes": [
            {"id": "start", "type": "manual_trigger", "position": {"x": 0, "y": 0}, "data": {"componentId": "manual_trigger"}}],
            "edges": []}).raise_for_status().json()
        rival_run = rival.post(f"/workflows/{flow['id']}/execute", json={"context": {}}).raise_for_status().json()["id"]

        console = httpx.Client(base_url=gw.url)
        assert console.get("/console/api/session").json()["identity"] is None
        assert console.get("/console/api/runs").status_code == 401
        bad = console.post("/console/api/login", json={"dialect": "cognite", "fields": {"token": "nope"}})
        assert bad.status_code == 401 and bad.json()["error"] == "Cognite: Unauthorized: invalid token"
        forced = console.post("/console/api/login", headers={"origin": "http://attacker.example"}, json={
            "dialect": "conductor", "fields": {"key_id": "acme-key", "key_secret": SECRETS["TENANCY_CONDUCTOR_ACME"]}})
        assert forced.status_code == 403 and "set-cookie" not in forced.headers
        login = console.post("/console/api/login", json={"dialect": "conductor", "fields": {
            "key_id": "acme-key", "key_secret": SECRETS["TENANCY_CONDUCTOR_ACME"]}})
        assert login.status_code == 200 and login.json()["identity"]["tenants"] == ["acme"]
        assert "samesite=strict" in login.headers["set-cookie"].lower()
        assert "httponly" in login.headers["set-cookie"].lower()
        assert console.get("/console/api/runs").json()["runs"] == []  # acme has none
        assert console.get("/console/api/runs", params={"tenant": "rival"}).status_code == 403
        assert console.get(f"/console/api/runs/{rival_run}").status_code == 404

        other = httpx.Client(base_url=gw.url)
        other.post("/console/api/login", json={"dialect": "altostrat", "fields": {"token": SECRETS["TENANCY_ALTO_RIVAL"]}})
        runs = other.get("/console/api/runs").json()
        assert runs["tenant"] == "rival" and [r["id"] for r in runs["runs"]] == [rival_run]
        assert runs["runs"][0]["words"]["id_name"] == "runId"
        assert runs["runs"][0]["words"]["workflow"] == "rival-flow"  # Altostrat shows the name, not the workflow id
        assert runs["runs"][0]["workflow"] == flow["id"]

        forged = httpx.Client(base_url=gw.url, cookies={"wfgateway_console": "AAAA" + console.cookies["wfgateway_console"][4:]})
        assert forged.get("/console/api/runs").status_code == 401


def test_docs_pages_serve_the_enforced_spec_with_local_assets(gateway):
    gw, _ = gateway
    page = httpx.get(f"{gw.url}/docs/cognite")
    assert page.status_code == 200 and "/openapi/cognite.yaml" in page.text and "//" not in page.text.split("<script")[1][:60]
    assert httpx.get(f"{gw.url}/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert httpx.get(f"{gw.url}/docs/nothing").status_code == 404


def test_console_off_by_the_config_switch(tmp_path):
    with run_gateway(tmp_path, console={"enabled": False}) as gw:
        assert httpx.get(f"{gw.url}/console/").status_code == 404
        assert httpx.get(f"{gw.url}/docs/conductor").status_code == 404


def test_a_sparse_text_filter_pages_through_bounded_scans_and_status_filters_read_only_matches(gateway, monkeypatch):
    from wfgateway.console import api as console_api

    monkeypatch.setattr(console_api, "SCAN_MAX", 3)  # each call checks at most 3 runs ...
    monkeypatch.setattr(console_api, "SCAN_BATCH", 2)  # ... read 2 at a time, so calls stop inside a batch
    gw, api = gateway
    api.post("/api/metadata/workflow", json={"name": "console_wait", "version": 1, "schemaVersion": 2,
             "ownerEmail": "qa@example.com", "tasks": [{"name": "hold", "taskReferenceName": "hold", "type": "WAIT"}]}
             ).raise_for_status()
    failed = []
    for i in range(4):
        api.post("/api/workflow/console_wait", json={"running": i}).raise_for_status()  # stays RUNNING
        failed.append(failed_run(api))
    console, _ = open_console(gw.url)
    seen, calls, cursor = [], 0, None
    while True:
        page = console.get("/console/api/runs", params={"q": "console_api", "limit": 10, **({"cursor": cursor} if cursor else {})}).json()
        calls += 1
        assert page["scanned"] <= 3
        seen += [r["id"] for r in page["runs"]]
        cursor = page["next"]
        if not cursor:
            break
    assert seen == list(reversed(failed)) and calls >= 3
    # status and dialect are the store's filters: one call reads the 4 failed runs and nothing else
    for params in ({"status": "FAILED"}, {"status": "FAILED,TIMED_OUT", "dialect": "conductor"}):
        page = console.get("/console/api/runs", params={**params, "limit": 10}).json()
        assert [r["id"] for r in page["runs"]] == list(reversed(failed)) and page["next"] is None
        assert page["scanned"] == 4
    running = console.get("/console/api/runs", params={"status": "RUNNING", "dialect": "conductor"}).json()["runs"]
    assert len(running) == 4 and {r["workflow"] for r in running} == {"console_wait"}
    assert console.get("/console/api/runs", params={"status": "FAILED", "dialect": "cognite"}).json()["runs"] == []


def test_the_dag_shows_branches_fan_out_loop_iterations_and_the_failed_sub_workflow(gateway):
    from tests.console.showcase import failed_order

    gw, api = gateway
    order = failed_order(api)
    console, _ = open_console(gw.url)
    graph = console.get(f"/console/api/runs/{order}").json()["graph"]
    nodes = {n["id"]: n for n in graph["nodes"]}
    edges = {(e["from"], e["to"]): e["branch"] for e in graph["edges"]}
    assert nodes["route"]["branch"] == "express" and edges[("route", "express_fee")] == "express"
    assert nodes["express_fee"]["status"] == "COMPLETED" and nodes["standard_fee"]["status"] == "SKIPPED"
    fan_out = [n for n in nodes.values() if n["parent"] == "ship"]
    assert sorted(n["ref"] for n in fan_out) == ["pack_1", "pack_2", "pack_3"]
    assert all(("ship", n["id"]) in edges and (n["id"], "ship_join") in edges for n in fan_out)
    assert all(n["layer"] < nodes["ship_join"]["layer"] for n in fan_out)
    assert all(a["worker_id"] == "showcase-worker" for n in fan_out for a in n["attempts"])
    iterations = sorted(n["id"] for n in nodes.values() if n["parent"] == "count")
    assert iterations == ["count/count#1", "count/count#2"]
    assert nodes["count/count#2/tick"]["status"] == "COMPLETED"
    notify = nodes["notify"]
    assert notify["status"] == "FAILED" and notify["attempts"][0]["reason"] == "mail server refused the message"
    child = console.get(f"/console/api/runs/{notify['child']}").json()
    assert child["run"]["workflow"] == "notify_customer" and child["run"]["parent"] == order
    assert {n["id"]: n["status"] for n in child["graph"]["nodes"]} == {"send_email": "FAILED"}
    inner = nodes["notify/send_email"]  # the child run, drawn inside its sub-workflow task
    assert inner["status"] == "FAILED" and inner["parent"] == "notify" and ("notify", inner["id"]) in edges

    csrf = console.get("/console/api/session").json()["identity"]["csrf"]
    rerun = console.post(f"/console/api/runs/{order}/actions/rerun", headers={"x-console-csrf": csrf},
                         json={"task_id": inner["current"]})  # rerun from the task inside the sub-workflow
    assert rerun.json()["ok"] is True
    again = wait_status(console, order, "RUNNING")
    inner = next(n for n in again["graph"]["nodes"] if n["id"] == "notify/send_email")
    assert inner["status"] == "SCHEDULED" and [a["status"] for a in inner["attempts"]] == ["FAILED", "SCHEDULED"]
    assert next(n for n in again["graph"]["nodes"] if n["id"] == "prepare")["status"] == "COMPLETED"


def test_bulk_retry_of_selected_runs_answers_each_run_in_the_vendors_words(gateway):
    gw, api = gateway
    first, second = failed_run(api), failed_run(api)
    console, csrf = open_console(gw.url)
    answer = console.post("/console/api/bulk/retry", headers={"x-console-csrf": csrf},
                          json={"ids": [first, second, "no-such-run"]}).json()["results"]
    assert [(r["id"], r["ok"]) for r in answer] == [(first, True), (second, True), ("no-such-run", False)]
    assert answer[2]["refusal"] == "No run no-such-run in tenant 'default'"
    again = console.post("/console/api/bulk/retry", headers={"x-console-csrf": csrf}, json={"ids": [first]}).json()
    assert again["results"][0]["refusal"] == "Workflow is still running.  status=RUNNING"
    assert console.post("/console/api/bulk/terminate", headers={"x-console-csrf": csrf}, json={"ids": [first]}).status_code == 404


@pytest.mark.postgres
def test_the_history_is_kept_in_the_postgresql_store_too(tmp_path):
    from tests.engine.pg import drop_schema
    from tests.tenancy.conftest import store_settings

    store, schema = store_settings("postgres", tmp_path)
    try:
        with run_gateway(tmp_path, store=store) as gw:
            api = httpx.Client(base_url=gw.url)
            api.post("/api/metadata/workflow", json=WORKFLOW).raise_for_status()
            run_id = failed_run(api)
            console, csrf = open_console(gw.url)
            assert console.post(f"/console/api/runs/{run_id}/actions/restart", headers={"x-console-csrf": csrf},
                                json={}).json()["ok"] is True
            history = console.get(f"/console/api/runs/{run_id}").json()["history"]
            assert [(h["action"], h["outcome"], h["dialect"]) for h in history] == [("restart", "done", "conductor")]
    finally:
        drop_schema(schema)


BAD_CALLS = [
    ("GET", "/console/api/runs?limit=abc", None, 400, "Not a number: 'abc'"),
    ("GET", "/console/api/runs?from=-5", None, 400, "-5 is out of range"),
    ("GET", "/console/api/runs?cursor=" + "A" * 5000, None, 400, "Invalid cursor"),
    ("GET", "/console/api/runs/unknown-run", None, 404, "No run unknown-run in tenant 'default'"),
    ("GET", "/console/api/definitions/a/b", None, 404, "No definition a version b"),
    ("GET", "/console/api/nothing", None, 404, "The console does not serve GET /console/api/nothing"),
    ("POST", "/console/api/runs/x/actions/retry", b"[1]", 400, "must be a JSON object"),
    ("POST", "/console/api/runs/x/actions/retry", b"{bad", 400, "not JSON"),
    ("POST", "/console/api/runs/x/actions/retry", b'{"tenant": ["a"]}', 400, "tenant: a tenant's name"),
    ("POST", "/console/api/runs/x/actions/zap", b"{}", 404, "No console action 'zap'"),
    ("POST", "/console/api/bulk/retry", b'{"ids": [1]}', 400, "ids: a list of 1 to 100 run ids"),
    ("POST", "/console/api/start", b'{"name": "x", "input": [1]}', 400, "input: a JSON object"),
    ("POST", "/console/api/start", b'{"name": "nope"}', 404, "No definition nope (any version)"),
]


def test_bad_input_is_answered_in_the_consoles_format_never_a_500(gateway):
    gw, _ = gateway
    console, csrf = open_console(gw.url)
    for method, path, body, status, words in BAD_CALLS:
        r = console.request(method, path, content=body, headers={"x-console-csrf": csrf, "content-type": "application/json"})
        assert (r.status_code, words in r.json()["error"]) == (status, True), (path, r.text)
