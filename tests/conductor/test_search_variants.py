"""Acceptance through the unmodified conductor-python 2.0.0: the search variants -- workflows as full
Workflow objects (search-v2), workflows found through their tasks (search-by-tasks, -v2) and task
search (TaskResourceApi.search1 / search_v21) -- with /api/workflow/search's grammar, tenant-scoped."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from conductor.client.configuration.configuration import Configuration
from conductor.client.configuration.settings.authentication_settings import AuthenticationSettings
from conductor.client.http.api.task_resource_api import TaskResourceApi
from conductor.client.http.api_client import ApiClient
from conductor.client.http.models import StartWorkflowRequest, TaskResult
from conductor.client.http.models.workflow_def import WorkflowDef
from conductor.client.http.models.workflow_task import WorkflowTask
from conductor.client.http.rest import ApiException
from conductor.client.orkes.models.metadata_tag import MetadataTag
from conductor.client.orkes_clients import OrkesClients

from tests.support.server import run_gateway

SECRETS = {"acme": "acme-secret-for-search", "rival": "rival-secret-for-search"}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    mp = pytest.MonkeyPatch()
    for tenant, secret in SECRETS.items():
        mp.setenv(f"WFG_TEST_SEARCH_{tenant.upper()}", secret)
    mp.setenv("WFG_TEST_SEARCH_TOKEN", "token-signing-secret-of-at-least-32-bytes")
    auth = {"keys": [{"key_id": f"{t}-key", "key_secret_env": f"WFG_TEST_SEARCH_{t.upper()}", "tenant": t}
                     for t in SECRETS], "token_secret_env": "WFG_TEST_SEARCH_TOKEN"}
    dialects = {"conductor": {"auth": auth}, "cognite": {"enabled": False}, "altostrat": {"enabled": False}}
    try:
        with run_gateway(tmp_path_factory.mktemp("conductor-search"), dialects=dialects) as gw:
            yield gw.url
    finally:
        mp.undo()


def sdk(url: str, tenant: str) -> tuple[ApiClient, OrkesClients]:
    cfg = Configuration(server_api_url=f"{url}/api", authentication_settings=AuthenticationSettings(
        key_id=f"{tenant}-key", key_secret=SECRETS[tenant]))
    return ApiClient(cfg), OrkesClients(configuration=cfg)


def get(api: ApiClient, path: str, response_type: str, **query: Any) -> Any:
    """A GET through the SDK's own HTTP client (it has no method for the workflow search variants)."""
    return api.call_api(path, "GET", query_params=list(query.items()), response_type=response_type,
                        _return_http_data_only=True)


def seed(clients: OrkesClients, flow: str, task: str, outcomes: list[str], worker: str = "w1") -> list[str]:
    """One run per outcome; its worker task ends FAILED or COMPLETED ("" leaves it SCHEDULED)."""
    clients.get_metadata_client().register_workflow_def(WorkflowDef(
        name=flow, version=1, timeout_seconds=0,
        tasks=[WorkflowTask(name=task, task_reference_name="charge", type="SIMPLE")]), overwrite=True)
    ids = [clients.get_workflow_client().start_workflow(StartWorkflowRequest(name=flow, version=1, input={"n": i}))
           for i in range(len(outcomes))]
    tasks = clients.get_task_client()
    for wid, outcome in zip(ids, outcomes, strict=True):
        if not outcome:
            continue
        polled = tasks.poll_task(task, worker_id=worker)
        assert polled is not None
        # the queue is oldest first: report the outcome on the run the polled task belongs to
        tasks.update_task(TaskResult(workflow_instance_id=polled.workflow_instance_id, task_id=polled.task_id,
                                     status=outcome, reason_for_incompletion="declined" if outcome == "FAILED" else None,
                                     output_data={"for": wid}))
    return ids


def test_search_variants_answer_the_tenants_own_runs(gateway: str) -> None:
    api, clients = sdk(gateway, "acme")
    ids = seed(clients, "srch_flow", "srch_charge", ["FAILED", "COMPLETED", ""])
    failed = ids[0]
    rival_api, rival = sdk(gateway, "rival")
    theirs_id = seed(rival, "srch_flow", "srch_charge", ["FAILED"], worker="rival-w")[0]  # same names, another tenant

    # search-v2: Workflow objects (not summaries) under /search's grammar
    found = get(api, "/workflow/search-v2", "SearchResultWorkflow",
                query="workflowType = 'srch_flow' AND status IN (FAILED,COMPLETED)")
    assert found.total_hits == 2
    assert {w.workflow_id for w in found.results} == set(ids[:2])
    wf = next(w for w in found.results if w.workflow_id == failed)
    assert wf.status == "FAILED" and wf.input == {"n": 0} and wf.workflow_name == "srch_flow" and wf.tasks == []
    # start: the page after that many matches (the gateway passes over them by key), totalHits unchanged
    pages = [get(api, "/workflow/search", "SearchResultWorkflowSummary", query="workflowType = 'srch_flow'",
                 sort="startTime:DESC", start=start, size=1) for start in (0, 1, 2, 3)]
    whole = get(api, "/workflow/search", "SearchResultWorkflowSummary", query="workflowType = 'srch_flow'",
                sort="startTime:DESC", size=3)
    assert sorted(w.workflow_id for w in whole.results) == sorted(ids)
    assert [[w.workflow_id for w in p.results] for p in pages] == [[w.workflow_id] for w in whole.results] + [[]]
    assert [p.total_hits for p in pages] == [3, 3, 3, 3]

    # task search: TaskSummary rows, newest first, paged
    tasks = TaskResourceApi(api)
    rows = tasks.search1(query="taskType = 'srch_charge' AND status = 'FAILED'")
    assert rows.total_hits == 1
    row = rows.results[0]
    assert (row.workflow_id, row.workflow_type, row.status, row.task_def_name) == (failed, "srch_flow", "FAILED",
                                                                                    "srch_charge")
    assert row.reason_for_incompletion == "declined" and row.input == "{}" and row.output == f'{{"for":"{failed}"}}'
    every = tasks.search1(query="taskType = 'srch_charge'", size=2)
    assert every.total_hits == 3 and len(every.results) == 2
    rest = tasks.search1(query="taskType = 'srch_charge'", start=2, size=2)
    assert len(rest.results) == 1
    assert {r.task_id for r in every.results + rest.results} == {r.task_id for r in tasks.search1(
        query="taskType = 'srch_charge'").results}
    oldest = tasks.search1(query="taskType = 'srch_charge'", sort="scheduledTime:ASC", size=1).results[0]
    assert oldest.workflow_id == ids[0]

    # task search-v2: Task objects
    full = tasks.search_v21(query="taskType = 'srch_charge' AND status IN (SCHEDULED)")
    assert full.total_hits == 1
    assert full.results[0].workflow_instance_id == ids[2] and full.results[0].reference_task_name == "charge"
    by_id = tasks.search_v21(query=f"taskId = '{row.task_id}'")
    assert [t.task_id for t in by_id.results] == [row.task_id]

    # search-by-tasks: the workflows of the tasks found, each once
    summaries = get(api, "/workflow/search-by-tasks", "SearchResultWorkflowSummary",
                    query="taskType = 'srch_charge' AND status = 'FAILED'")
    assert [s.workflow_id for s in summaries.results] == [failed]
    assert summaries.results[0].status == "FAILED" and summaries.results[0].workflow_type == "srch_flow"
    workflows = get(api, "/workflow/search-by-tasks-v2", "SearchResultWorkflow",
                    query=f"workflowId IN ({ids[1]},{ids[2]})")
    assert {w.workflow_id for w in workflows.results} == {ids[1], ids[2]}

    # the other tenant sees only its own run
    theirs = TaskResourceApi(rival_api).search1(query="taskType = 'srch_charge'")
    assert theirs.total_hits == 1 and theirs.results[0].workflow_id not in ids
    assert get(rival_api, "/workflow/search-by-tasks", "SearchResultWorkflowSummary",
               query=f"workflowId = '{failed}'").total_hits == 0
    assert get(rival_api, "/workflow/search-v2", "SearchResultWorkflow", freeText=failed).total_hits == 0
    # ... and only its own workers' polls (PollData is kept per tenant too)
    assert [p.worker_id for p in clients.get_task_client().get_task_poll_data("srch_charge")] == ["w1"]
    assert [p.worker_id for p in TaskResourceApi(rival_api).get_all_poll_data()] == ["rival-w"]
    # bulk search: the caller's workflows, each other id with its own message
    bulk = api.call_api("/workflow/bulk/search", "POST", body=[ids[0], theirs_id, "nope"],
                        query_params=[("includeTasks", "false")], header_params={"Content-Type": "application/json"},
                        response_type="object", _return_http_data_only=True)
    assert [w["workflowId"] for w in bulk["bulkSuccessfulResults"]] == [ids[0]]
    assert bulk["bulkSuccessfulResults"][0]["tasks"] == []
    assert bulk["bulkErrorResults"] == {theirs_id: f"No such workflow found by id: {theirs_id}",
                                        "nope": "No such workflow found by id: nope"}
    with pytest.raises(ApiException) as empty:
        api.call_api("/workflow/bulk/search", "POST", body=[], header_params={"Content-Type": "application/json"})
    assert empty.value.status == 400
    # ... and its own tags on a definition of the same name
    clients.get_metadata_client().add_workflow_tag(MetadataTag("env", "prod"), "srch_flow")
    assert rival.get_metadata_client().get_workflow_tags("srch_flow") == []
    assert [t.value for t in clients.get_metadata_client().get_workflow_tags("srch_flow")] == ["prod"]


@pytest.mark.parametrize("path, query", [
    ("/tasks/search", "status = 'DONE'"),
    ("/tasks/search-v2", "workflowType = 'x'"),
    ("/workflow/search-by-tasks", "taskType ~ x"),
    ("/workflow/search-v2", "status = 'NOPE'"),
])
def test_a_query_it_cannot_answer_is_conductors_400(gateway: str, path: str, query: str) -> None:
    api, _ = sdk(gateway, "acme")
    with pytest.raises(ApiException) as caught:
        get(api, path, "object", query=query)
    assert caught.value.status == 400
    error = json.loads(caught.value.body)
    assert error["status"] == 400 and error["retryable"] is False and "query" in caught.value.body  # message or validationErrors
