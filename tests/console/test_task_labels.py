"""What a user reads on a run's DAG: each task's type in its vendor's own words -- Conductor's SIMPLE,
INLINE, DO_WHILE; Cognite's function, dynamic, subworkflow; Altostrat's component ids -- on the task's
box and in the task panel, also for the tasks of a dynamic fan-out, a loop's passes and a
sub-workflow's child run; the engine's own kind is left to the tooltip, for operators."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from cognite.client import ClientConfig, CogniteClient, global_config
from cognite.client.credentials import Token
from cognite.client.data_classes.workflows import (
    DynamicTaskParameters,
    FunctionTaskParameters,
    SubworkflowTaskParameters,
    WorkflowDefinitionUpsert,
    WorkflowTask,
    WorkflowUpsert,
    WorkflowVersionUpsert,
)
from playwright.sync_api import Page, expect

from tests.console.browser import node
from tests.console.showcase import OWNER, failed_order
from tests.support.server import run_gateway

global_config.disable_pypi_version_check = True


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    with run_gateway(tmp_path_factory.mktemp("labels")) as gw:
        yield gw


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    yield context.new_page()
    context.close()


def open_run(page: Page, base: str, run_id: str, settled: str) -> None:
    page.goto(f"{base}/console/#/run/default/{run_id}")
    expect(node(page, settled)).to_be_visible(timeout=30_000)


def reads(page: Page, node_id: str, label: str) -> None:
    """The task's box reads ``label`` (then its status) as its type."""
    expect(node(page, node_id).locator("text.task-label")).to_have_text(re.compile(rf"^{re.escape(label)} · "))


def ids_of(page: Page) -> list[str]:
    return page.locator("#dag g[data-node]").evaluate_all("gs => gs.map(g => g.getAttribute('data-node'))")


def test_a_conductor_order_reads_conductors_task_types_down_to_its_fan_out_loop_and_sub_workflow(gateway, page):
    run_id = failed_order(httpx.Client(base_url=gateway.url))
    open_run(page, gateway.url, run_id, "notify")
    for ref, label in {"prepare": "SET_VARIABLE", "route": "SWITCH", "express_fee": "INLINE",
                       "ship": "FORK_JOIN_DYNAMIC", "ship_join": "JOIN", "count": "DO_WHILE",
                       "notify": "SUB_WORKFLOW"}.items():
        reads(page, ref, label)
    ids = ids_of(page)
    packs = [i for i in ids if i.startswith("ship/pack_")]
    ticks = [i for i in ids if i.startswith("count/") and i.endswith("/tick")]
    assert len(packs) == 3 and len(ticks) == 2, ids
    for nid in packs:
        reads(page, nid, "SIMPLE")
    for nid in ticks:
        reads(page, nid, "INLINE")
    reads(page, "notify/send_email", "SIMPLE")
    page_text = page.locator("#dag").inner_text()
    for engine_word in ("worker ·", "compute ·", "loop ·", "dynamic ·"):
        assert engine_word not in page_text
    # the engine's kind stays in the tooltip, for operators
    expect(node(page, "ship/pack_1").locator("title")).to_contain_text("engine task kind: worker")
    node(page, "notify/send_email").click()
    expect(page.locator("#task-type")).to_have_text("SIMPLE · 1 attempt(s)")
    expect(page.locator("#task-kind")).to_have_text("engine task kind: worker")


def test_a_conductor_dynamic_fork_reads_the_types_its_task_list_gave_its_branches(gateway, page):
    api = httpx.Client(base_url=gateway.url)
    api.put("/api/metadata/workflow", json=[{"name": "forked", "version": 1, **OWNER, "tasks": [
        {"name": "fan", "taskReferenceName": "fan", "type": "FORK_JOIN_DYNAMIC", "dynamicForkTasksParam": "branches",
         "dynamicForkTasksInputParamName": "branchInput",
         "inputParameters": {"branches": "${workflow.input.branches}", "branchInput": {}}},
        {"name": "fan_join", "taskReferenceName": "fan_join", "type": "JOIN"},
    ]}]).raise_for_status()
    run_id = api.post("/api/workflow/forked", json={"branches": [
        {"name": "shape", "taskReferenceName": "shape", "type": "JSON_JQ_TRANSFORM",
         "inputParameters": {"queryExpression": ".", "n": 1}},
        {"name": "calc", "taskReferenceName": "calc", "type": "INLINE",
         "inputParameters": {"evaluatorType": "javascript", "expression": "1"}},
    ]}).raise_for_status().text

    open_run(page, gateway.url, run_id, "fan/shape")
    reads(page, "fan", "FORK_JOIN_DYNAMIC")
    reads(page, "fan/shape", "JSON_JQ_TRANSFORM")
    reads(page, "fan/calc", "INLINE")

    page.goto(f"{gateway.url}/console/#/definition/default/forked/1")  # the definition's graph too
    box = page.locator('.dag g[data-node="fan"] text.task-label')
    expect(box).to_have_text(re.compile(r"^FORK_JOIN_DYNAMIC · "), timeout=30_000)
    expect(page.locator('.dag g[data-node="fan_join"] text.task-label')).to_have_text(re.compile(r"^JOIN · "))


def test_a_cognite_execution_reads_cdf_task_types_for_its_dynamic_and_subworkflow_tasks(gateway, page):
    client = CogniteClient(ClientConfig(client_name="labels-test", project="default", base_url=gateway.url,
                                        credentials=Token("open-mode")))
    client.workflows.upsert(WorkflowUpsert("labelled"))
    client.workflows.versions.upsert(WorkflowVersionUpsert("labelled", "1", WorkflowDefinitionUpsert([
        WorkflowTask("extract", FunctionTaskParameters("extractor", is_async_complete=True), retries=0),
        WorkflowTask("fan", DynamicTaskParameters("${workflow.input.tasks}"), depends_on=["extract"]),
        WorkflowTask("stage", SubworkflowTaskParameters([
            WorkflowTask("load", FunctionTaskParameters("loader", is_async_complete=True), retries=0)]),
            depends_on=["extract"]),
    ])))
    run = client.workflows.executions.run("labelled", "1", input={"tasks": [
        {"externalId": "part", "type": "function",
         "parameters": {"function": {"externalId": "parter"}, "isAsyncComplete": True}},
        {"externalId": "reshape", "type": "transformation",  # no endpoint here either: the engine waits
         "parameters": {"transformation": {"externalId": "reshaper"}}}]})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        tasks = client.workflows.executions.retrieve_detailed(run.id).executed_tasks
        if any(t.external_id == "extract" and t.status == "in_progress" for t in tasks):
            extract = next(t for t in tasks if t.external_id == "extract")
            client.workflows.tasks.update(extract.id, "completed", output={"rows": 1})
            break
        time.sleep(0.05)
    while time.monotonic() < deadline:
        tasks = client.workflows.executions.retrieve_detailed(run.id).executed_tasks
        if {"part", "reshape", "load"} <= {t.external_id for t in tasks}:
            break
        time.sleep(0.05)

    open_run(page, gateway.url, run.id, "fan")
    expect(page.locator("#dag g[data-node^='fan/']")).to_have_count(2, timeout=30_000)
    reads(page, "extract", "function")  # a function with no endpoint: the engine waits for its callback
    reads(page, "fan", "dynamic")
    reads(page, "stage", "subworkflow")
    ids = ids_of(page)
    reads(page, "fan/part", "function")
    reads(page, "fan/reshape", "transformation")  # the type the dynamic task's resolved list gave it
    inside = [i for i in ids if i.startswith("stage/") and i.endswith("load")]
    assert len(inside) == 1, ids
    reads(page, inside[0], "function")
    expect(node(page, "extract").locator("title")).to_contain_text("engine task kind: wait")
    assert "wait ·" not in page.locator("#dag").inner_text()


def test_an_altostrat_run_reads_its_nodes_component_ids(gateway, page):
    api = httpx.Client(base_url=gateway.url)
    auth = api.post("/workflows/authorization").raise_for_status().json()["id"]
    flow = api.post("/workflows", json={"name": "Labelled", "authorization_id": auth, "nodes": [
        {"id": "start", "type": "manual_trigger", "position": {"x": 0, "y": 0}, "data": {"componentId": "manual_trigger"}},
        {"id": "ping", "type": "webhook", "position": {"x": 200, "y": 0},
         "data": {"componentId": "webhook", "method": "GET", "url": f"{gateway.url}/healthz"}},
    ], "edges": [{"id": "e1", "source": "start", "target": "ping"}]}).raise_for_status().json()
    run_id = api.post(f"/workflows/{flow['id']}/execute", json={"context": {}}).raise_for_status().json()["id"]

    open_run(page, gateway.url, run_id, "ping")
    reads(page, "start", "manual_trigger")
    reads(page, "ping", "webhook")
    expect(node(page, "ping").locator("title")).to_contain_text("engine task kind: http")
    node(page, "ping").click()
    expect(page.locator("#task-type")).to_contain_text("webhook · ")
