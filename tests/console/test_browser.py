"""The console in a real headless Chromium: runs started through the three vendors' SDKs / HTTP fail,
are found in the runs list, their DAG shows the failed task red, and retry (Cognite), rerun-from-task
(Conductor) and resume-from (Altostrat) pressed in the page turn them green; refusals are shown in the
vendor's words; another tenant's runs stay invisible."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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
from conductor.client.http.models import StartWorkflowRequest, TaskDef, TaskResult
from conductor.client.orkes_clients import OrkesClients
from conductor.client.workflow.conductor_workflow import ConductorWorkflow
from conductor.client.workflow.task.simple_task import SimpleTask
from playwright.sync_api import expect

from tests.console.browser import GREEN, RED, expect_node, notice, open_run_from_list, press
from tests.support.server import run_gateway
from tests.tenancy.conftest import SECRETS, dialect_auth

global_config.disable_pypi_version_check = True


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    with run_gateway(tmp_path_factory.mktemp("console")) as gw:
        yield gw


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    yield context.new_page()
    context.close()


def until(fn, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = fn()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


def test_conductor_run_failed_by_its_worker_is_rerun_from_the_task_with_edited_input(gateway, page):
    config = Configuration(server_api_url=f"{gateway.url}/api")
    clients = OrkesClients(configuration=config)
    clients.get_metadata_client().register_task_def(TaskDef(name="console_greet", retry_count=0))
    flow = ConductorWorkflow(executor=clients.get_workflow_executor(), name="console_greetings", version=1)
    flow >> SimpleTask("console_greet", "greet").input(key="name", value="${workflow.input.name}")
    flow.register(overwrite=True)
    workflows, tasks = clients.get_workflow_client(), clients.get_task_client()
    run_id = workflows.start_workflow(StartWorkflowRequest(name="console_greetings", version=1, input={}))
    task = until(lambda: tasks.poll_task("console_greet"), "the worker task is polled")
    tasks.update_task(TaskResult(workflow_instance_id=run_id, task_id=task.task_id, status="FAILED",
                                 reason_for_incompletion="no name to greet"))
    until(lambda: workflows.get_workflow(run_id, include_tasks=False).status == "FAILED", "the run fails")

    open_run_from_list(page, gateway.url, run_id, dialect="conductor", workflow="console_greetings")
    expect(page.locator("#run-names")).to_contain_text(f"Conductor workflowId: {run_id} (FAILED)")
    expect_node(page, "greet", "FAILED", RED)

    press(page, "resume")  # Conductor's resume of a run that is not paused: its refusal, in its words
    expect(notice(page)).to_have_class("notice refusal")
    expect(notice(page)).to_contain_text(f"The workflow {run_id} is not PAUSED so cannot resume. Current status is FAILED")

    page.click("#action-terminate")  # every action asks first; cancelled, nothing happens
    page.click("#modal-cancel")
    expect(page.locator("#modal")).to_be_hidden()

    page.locator("#dag g[data-node=greet]").click()
    expect(page.locator("#task-panel")).to_contain_text("no name to greet")
    press(page, "rerun", **{"a-task": {"label": "from task greet (FAILED)"}, "a-task-input": json.dumps({"name": "Ada"})})
    expect(notice(page)).to_contain_text("Rerun done")
    again = until(lambda: tasks.poll_task("console_greet"), "the rerun task is polled")
    assert again.input_data == {"name": "Ada"}  # the task input edited in the page
    tasks.update_task(TaskResult(workflow_instance_id=run_id, task_id=again.task_id, status="COMPLETED",
                                 output_data={"greeting": "Hello, Ada!"}))
    expect_node(page, "greet", "COMPLETED", GREEN)
    expect(page.locator("h1 .badge")).to_have_text("COMPLETED")
    expect(page.locator("#history")).to_contain_text("rerun")
    expect(page.locator("#history")).to_contain_text("resume")
    expect(page.locator("#history")).not_to_contain_text("terminate")


def test_cognite_execution_failed_through_tasks_update_is_retried_with_cognites_rules(gateway, page):
    client = CogniteClient(ClientConfig(client_name="console-test", project="default", base_url=gateway.url,
                                        credentials=Token("open-mode")))
    client.workflows.upsert(WorkflowUpsert("console-cdf"))
    client.workflows.versions.upsert(WorkflowVersionUpsert("console-cdf", "1", WorkflowDefinitionUpsert([
        WorkflowTask("greet", FunctionTaskParameters("greeter", data={"name": "${workflow.input.name}"}), retries=0),
    ])))
    run = client.workflows.executions.run("console-cdf", "1", input={"name": "Ada"})

    def attempt(status: str):
        got = client.workflows.executions.retrieve_detailed(run.id)
        latest = [t for t in got.executed_tasks if t.external_id == "greet"]
        return latest[-1] if latest and latest[-1].status == status else None

    task = until(lambda: attempt("in_progress"), "greet is in progress")
    client.workflows.tasks.update(task.id, "failed", output={"error": "greeter is down"})
    until(lambda: client.workflows.executions.retrieve_detailed(run.id).status == "failed", "the execution fails")

    open_run_from_list(page, gateway.url, run.id, dialect="cognite", workflow="console-cdf")
    expect(page.locator("#run-names")).to_contain_text(f"Cognite executionId: {run.id} (FAILED)")
    expect_node(page, "greet", "FAILED", RED)
    expect(page.locator("#action-retry")).to_have_attribute("data-dialect", "cognite")

    press(page, "retry")
    expect(notice(page)).to_contain_text("Retry done")
    expect_node(page, "greet", "IN_PROGRESS")
    press(page, "retry")  # a running execution: Cognite's 400, in Cognite's words
    expect(notice(page)).to_have_class("notice refusal")
    expect(notice(page)).to_contain_text(f"Workflow execution {run.id} is not in a retryable state (status=RUNNING)")

    task = until(lambda: attempt("in_progress"), "the retried attempt is in progress")
    client.workflows.tasks.update(task.id, "completed", output={"greeting": "Hello, Ada!"})
    expect_node(page, "greet", "COMPLETED", GREEN)
    expect(page.locator("h1 .badge")).to_have_text("COMPLETED")


class FlakyService(BaseHTTPRequestHandler):
    """The service an Altostrat webhook node calls: down for its first call."""

    calls = 0

    def do_POST(self):
        FlakyService.calls += 1
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, payload = (503, b'{"error": "down"}') if FlakyService.calls == 1 else (200, b'{"ok": true}')
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


def test_altostrat_run_failed_by_its_webhook_is_resumed_from_the_last_good_node(gateway, page):
    service = ThreadingHTTPServer(("127.0.0.1", 0), FlakyService)
    threading.Thread(target=service.serve_forever, daemon=True).start()
    try:
        api = httpx.Client(base_url=gateway.url)
        auth = api.post("/workflows/authorization").raise_for_status().json()["id"]
        flow = api.post("/workflows", json={"name": "Console greetings", "authorization_id": auth, "nodes": [
            {"id": "start", "type": "manual_trigger", "position": {"x": 0, "y": 0}, "data": {"componentId": "manual_trigger"}},
            {"id": "greet", "type": "webhook", "position": {"x": 300, "y": 0},
             "data": {"componentId": "webhook", "method": "POST",
                      "url": f"http://127.0.0.1:{service.server_address[1]}/greet", "body": {"n": 1}}},
        ], "edges": [{"id": "start-greet", "source": "start", "target": "greet"}]}).raise_for_status().json()
        run_id = api.post(f"/workflows/{flow['id']}/execute", json={"context": {}}).raise_for_status().json()["id"]
        until(lambda: api.get(f"/workflows/runs/{run_id}").json()["status"] == "failed", "the run fails")

        open_run_from_list(page, gateway.url, run_id, dialect="altostrat", text=run_id)
        expect(page.locator("#run-names")).to_contain_text(f"Altostrat runId: {run_id} (failed)")
        expect_node(page, "greet", "FAILED", RED)
        expect_node(page, "start", "COMPLETED", GREEN)

        press(page, "resume_from", **{"a-node": "greet"})  # a node that did not complete: Altostrat's 422
        expect(notice(page)).to_have_class("notice refusal")
        expect(notice(page)).to_contain_text(f"Node 'greet' did not complete successfully in workflow run '{run_id}'.")

        press(page, "resume_from", **{"a-node": "start"})
        expect(page).not_to_have_url(f"{gateway.url}/console/#/run/default/{run_id}", timeout=30_000)
        expect_node(page, "greet", "COMPLETED", GREEN)
        expect(page.locator("h1 .badge")).to_have_text("COMPLETED")
        expect(page.locator("#run-names")).to_contain_text("(completed)")
        expect(page.locator("#history")).to_contain_text(f"made from run {run_id}")
        assert FlakyService.calls == 2
    finally:
        service.shutdown()


def test_a_login_sees_only_its_tenants_runs(browser, tmp_path, monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    with run_gateway(tmp_path, dialects=dialect_auth()) as gw:
        def altostrat_run(token: str) -> str:
            api = httpx.Client(base_url=gw.url, headers={"Authorization": f"Bearer {token}"})
            auth = api.post("/workflows/authorization").raise_for_status().json()["id"]
            flow = api.post("/workflows", json={"name": "tenant-flow", "authorization_id": auth, "nodes": [
                {"id": "start", "type": "manual_trigger", "position": {"x": 0, "y": 0},
                 "data": {"componentId": "manual_trigger"}}], "edges": []}).raise_for_status().json()
            return api.post(f"/workflows/{flow['id']}/execute", json={"context": {}}).raise_for_status().json()["id"]

        mine, theirs = altostrat_run(SECRETS["TENANCY_ALTO_ACME"]), altostrat_run(SECRETS["TENANCY_ALTO_RIVAL"])
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{gw.url}/console/")
        page.select_option("#login-dialect", "cognite")
        page.fill("#login-token", "not-a-token")
        page.click("#login-submit")
        expect(page.locator("#login-error")).to_have_text("Cognite: Unauthorized: invalid token")

        page.select_option("#login-dialect", "conductor")
        page.fill("#login-key_id", "acme-key")
        page.fill("#login-key_secret", SECRETS["TENANCY_CONDUCTOR_ACME"])
        page.click("#login-submit")
        expect(page.locator(f'#runs tr[data-run="{mine}"]')).to_be_visible(timeout=30_000)
        expect(page.locator(f'#runs tr[data-run="{theirs}"]')).to_have_count(0)
        expect(page.locator("#f-tenant option")).to_have_count(1)

        page.goto(f"{gw.url}/console/#/run/rival/{theirs}")
        expect(page.locator("#run-missing")).to_have_text("This run cannot be shown")
        expect(page.locator("#view")).to_contain_text("This login may not see tenant 'rival'")
        page.goto(f"{gw.url}/console/#/run/acme/{theirs}")
        expect(page.locator("#run-missing")).to_have_text("Run not found")
        expect(page.locator("#view")).to_contain_text(f"No run {theirs} in tenant 'acme'")
        context.close()


def test_a_definition_is_shown_with_its_graph_and_started_from_the_form(gateway, page):
    api = httpx.Client(base_url=gateway.url)
    api.post("/api/metadata/workflow", json={"name": "console_form", "version": 2, "schemaVersion": 2,
                                             "ownerEmail": "qa@example.com", "tasks": [
        {"name": "double", "taskReferenceName": "double", "type": "INLINE",
         "inputParameters": {"evaluatorType": "javascript", "expression": "$.n * 2", "n": "${workflow.input.n}"}}]}
             ).raise_for_status()
    page.goto(f"{gateway.url}/console/#/definitions")
    page.click("#definitions a:text-is('console_form')")
    expect(page.locator('#view .dag g[data-node="double"]')).to_have_attribute("data-status", "NOT_STARTED")
    page.fill("#start-input", json.dumps({"n": 21}))
    page.click("#start-run")
    page.click("#modal-confirm")
    expect(page.locator("h1 .badge")).to_have_text("COMPLETED", timeout=30_000)
    expect(page.locator("#run-names")).to_contain_text("Conductor workflowId")
    page.locator('#dag g[data-node="double"]').click()
    expect(page.locator("#task-panel")).to_contain_text('"result": 42')
    expect(page.locator("#history")).to_contain_text("start")


def test_docs_pages_render_each_enforced_spec_with_no_request_leaving_the_machine(gateway, page):
    outside: list[str] = []

    def only_local(route):
        if route.request.url.startswith(gateway.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    for dialect, operation in (("conductor", "/api/workflow/{workflowId}/retry"),
                               ("cognite", "/api/v1/projects/{project}/workflows/executions/{executionId}/retry"),
                               ("altostrat", "/workflows/runs/{runId}/resume-from/{nodeId}")):
        page.goto(f"{gateway.url}/docs/{dialect}")
        expect(page.locator(f'.opblock-summary-path[data-path="{operation}"]').first).to_be_visible(timeout=30_000)
    assert outside == []


def test_the_execution_link_conductor_python_prints_opens_the_run_in_the_console(gateway, page):
    """conductor-python prints "see the workflow execution here: <server>/execution/<id>" (the Conductor
    UI's run page) after a start; on the gateway that link lands on the console's runs list showing it."""
    api = httpx.Client(base_url=gateway.url)
    api.post("/api/metadata/workflow", json={"name": "console_link", "version": 1, "tasks": [
        {"name": "hold", "taskReferenceName": "hold", "type": "WAIT"}]}).raise_for_status()
    run_id = api.post("/api/workflow/console_link", json={}).text.strip('"')
    link = api.get(f"/execution/{run_id}")
    assert link.status_code == 302 and link.headers["location"] == f"/console/#/runs?q={run_id}"
    assert api.get("/execution/a/b").status_code == 404  # only the UI's own shape is taken
    page.goto(f"{gateway.url}/execution/{run_id}")
    row = page.locator(f'#runs tr[data-run="{run_id}"]')
    expect(row).to_be_visible(timeout=30_000)
    expect(page.locator("#runs tr[data-run]")).to_have_count(1)
    row.locator("a").click()
    expect(page.locator("h1 .badge")).to_have_text("RUNNING", timeout=30_000)
