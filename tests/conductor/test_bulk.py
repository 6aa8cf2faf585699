"""Acceptance: Conductor's bulk API (/api/workflow/bulk/...) through the unmodified conductor-python
2.0.0 (``WorkflowBulkResourceApi``) where it has the call, plain HTTP for remove and terminate-remove.

Failed workflows are made for real: a worker task is polled and reported FAILED.  The split test
runs two gateways: the front routes ``bk_up_*`` workflows to the back as a Conductor upstream and
keeps the rest on its engine; one bulk retry through the front repairs both kinds.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.api.workflow_bulk_resource_api import WorkflowBulkResourceApi
from conductor.client.http.api_client import ApiClient
from conductor.client.http.rest import ApiException

from tests.support.server import RunningGateway, run_gateway

ONLY_CONDUCTOR = {"cognite": {"enabled": False}, "altostrat": {"enabled": False}}
MESSAGE = "Bulk Request has been processed."



def bulk_api(url: str) -> WorkflowBulkResourceApi:
    return WorkflowBulkResourceApi(ApiClient(Configuration(server_api_url=f"{url}/api")))


def define(url: str, name: str, task: str) -> None:
    http = httpx.Client(base_url=url)
    assert http.post("/api/metadata/taskdefs", json=[{"name": task, "retryCount": 0, "timeoutSeconds": 60,
                                                      "responseTimeoutSeconds": 30}]).status_code == 200
    definition = {"name": name, "version": 1, "schemaVersion": 2, "timeoutSeconds": 0,
                  "tasks": [{"name": task, "taskReferenceName": "work_ref", "type": "SIMPLE"}]}
    got = http.post("/api/metadata/workflow", params={"overwrite": "true"}, json=definition)
    assert got.status_code == 200, got.text


def start(url: str, name: str, count: int) -> list[str]:
    return [httpx.post(f"{url}/api/workflow/{name}", json={"i": i}).text for i in range(count)]


def fail_all(url: str, task: str, count: int) -> None:
    """A worker polls every queued ``task`` and reports it FAILED."""
    failed = 0
    while failed < count:
        polled = httpx.get(f"{url}/api/tasks/poll/batch/{task}", params={"count": 50, "timeout": 1000}).json()
        assert polled, f"only {failed} of {count} tasks were queued"
        for t in polled:
            got = httpx.post(f"{url}/api/tasks", json={"workflowInstanceId": t["workflowInstanceId"],
                                                       "taskId": t["taskId"], "status": "FAILED",
                                                       "reasonForIncompletion": "planned"})
            assert got.status_code == 200, got.text
            failed += 1


def status(url: str, workflow_id: str) -> dict[str, Any]:
    return httpx.get(f"{url}/api/workflow/{workflow_id}").json()


def test_bulk_retry_of_50_failed_workflows_with_3_unknown_ids(gateway: str) -> None:
    define(gateway, "bk_retry", "bk_retry_work")
    ids = start(gateway, "bk_retry", 50)
    fail_all(gateway, "bk_retry_work", 50)
    assert {status(gateway, i)["status"] for i in ids} == {"FAILED"}
    unknown = ["no-such-1", "no-such-2", "no-such-3"]
    asked = ids[:20] + unknown[:1] + ids[20:40] + unknown[1:] + ids[40:]

    got = bulk_api(gateway).retry(asked)

    assert got.bulk_successful_results == ids  # in the order asked
    assert got.bulk_error_results == {u: f"No such workflow found by id: {u}" for u in unknown}
    assert got.message == MESSAGE
    for workflow_id in ids:
        wf = status(gateway, workflow_id)
        assert wf["status"] == "RUNNING"
        assert [t["status"] for t in wf["tasks"]] == ["FAILED", "SCHEDULED"]  # the failed task, retried

    again = bulk_api(gateway).retry(ids[:2])  # they run now: each gets the single retry's own message
    assert again.bulk_successful_results == []
    assert again.bulk_error_results == {i: "Workflow is still running.  status=RUNNING" for i in ids[:2]}


def test_pause_resume_terminate_restart_through_the_sdk(gateway: str) -> None:
    define(gateway, "bk_life", "bk_life_work")
    ids = start(gateway, "bk_life", 3)
    api = bulk_api(gateway)

    assert api.pause_workflow(ids).bulk_successful_results == ids
    assert {status(gateway, i)["status"] for i in ids} == {"PAUSED"}
    assert api.resume_workflow(ids + ids[:1]).bulk_error_results == {
        ids[0]: f"The workflow {ids[0]} is not PAUSED so cannot resume. Current status is RUNNING"}
    assert {status(gateway, i)["status"] for i in ids} == {"RUNNING"}

    terminated = api.terminate(ids[:2], reason="cleanup")
    assert terminated.bulk_successful_results == ids[:2]
    assert [status(gateway, i)["reasonForIncompletion"] for i in ids[:2]] == ["cleanup", "cleanup"]

    restarted = api.restart(ids)
    assert restarted.bulk_successful_results == ids[:2]
    assert restarted.bulk_error_results[ids[2]].endswith("is not in terminal state, unable to restart.")
    assert {status(gateway, i)["status"] for i in ids} == {"RUNNING"}


def test_remove_and_terminate_remove(gateway: str) -> None:
    define(gateway, "bk_rm", "bk_rm_work")
    ids = start(gateway, "bk_rm", 3)
    http = httpx.Client(base_url=gateway)

    running = http.request("DELETE", "/api/workflow/bulk/remove", json=ids[:1])
    assert running.json()["bulkErrorResults"] == {ids[0]: f"Cannot archive workflow: {ids[0]} with status: RUNNING"}
    assert http.request("DELETE", "/api/workflow/bulk/remove", params={"archiveWorkflow": "false"},
                        json=ids[:1]).json()["bulkSuccessfulResults"] == ids[:1]
    assert http.get(f"/api/workflow/{ids[0]}").status_code == 404

    both = http.request("DELETE", "/api/workflow/bulk/terminate-remove", params={"reason": "gone"}, json=ids[1:])
    # as the Conductor server: each id is recorded once for terminate and once for remove
    assert both.json()["bulkSuccessfulResults"] == [ids[1], ids[1], ids[2], ids[2]]
    assert all(http.get(f"/api/workflow/{i}").status_code == 404 for i in ids)


def test_the_id_limit_and_an_empty_list_are_conductors_400(gateway: str) -> None:
    with pytest.raises(ApiException) as err:
        bulk_api(gateway).retry([f"id-{i}" for i in range(1001)])
    assert err.value.status == 400
    body = httpx.post(f"{gateway}/api/workflow/bulk/retry", json=[f"id-{i}" for i in range(1001)]).json()
    assert body["validationErrors"] == [{"path": "retry.workflowIds", "message":
                                         "Cannot process more than 1000 workflows. Please use multiple requests."}]
    empty = httpx.post(f"{gateway}/api/workflow/bulk/retry", json=[])
    assert empty.status_code == 400 and empty.json()["validationErrors"][0]["message"] == "WorkflowIds list cannot be null."
    at_limit = httpx.post(f"{gateway}/api/workflow/bulk/retry", json=[f"id-{i}" for i in range(1000)])
    assert at_limit.status_code == 200 and len(at_limit.json()["bulkErrorResults"]) == 1000


def test_the_old_capture_is_gone(gateway: str) -> None:
    """POST /api/workflow/bulk/retry was once the single retry of a workflow 'bulk'."""
    got = httpx.post(f"{gateway}/api/workflow/bulk/retry", json=["x"]).json()
    assert got == {"bulkErrorResults": {"x": "No such workflow found by id: x"}, "bulkSuccessfulResults": [],
                   "message": MESSAGE}


# -- ids owned by two backends ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def front_and_back(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningGateway, RunningGateway]]:
    with run_gateway(tmp_path_factory.mktemp("bulk-back"), dialects=ONLY_CONDUCTOR) as back:
        routes = {
            "backends": {"engine": {"kind": "engine"},
                         "cond": {"kind": "upstream", "dialect": "conductor", "url": back.url, "retries": 0}},
            "routes": [{"name": "up", "match": {"dialect": "conductor", "workflow": "bk_up_*"}, "backend": "cond"},
                       {"match": {}, "backend": "engine"}],
        }
        with run_gateway(tmp_path_factory.mktemp("bulk-front"), dialects=ONLY_CONDUCTOR, **routes) as front:
            yield front, back


def test_bulk_retry_splits_ids_by_owner_and_merges_the_answers(
        front_and_back: tuple[RunningGateway, RunningGateway]) -> None:
    front, back = front_and_back
    define(front.url, "bk_up_flow", "bk_up_work")  # routed by name: stored on the back
    define(front.url, "bk_local_flow", "bk_local_work")  # kept on the front's engine
    remote = start(front.url, "bk_up_flow", 3)
    local = start(front.url, "bk_local_flow", 3)
    assert all(httpx.get(f"{back.url}/api/workflow/{i}").status_code == 200 for i in remote)
    assert all(httpx.get(f"{back.url}/api/workflow/{i}").status_code == 404 for i in local)
    fail_all(back.url, "bk_up_work", 3)
    fail_all(front.url, "bk_local_work", 3)

    asked = [local[0], remote[0], "no-such-x", local[1], remote[1], remote[2], local[2]]
    got = bulk_api(front.url).retry(asked)

    assert sorted(got.bulk_successful_results) == sorted(local + remote)
    assert got.bulk_error_results == {"no-such-x": "No such workflow found by id: no-such-x"}
    assert {status(back.url, i)["status"] for i in remote} == {"RUNNING"}
    assert {status(front.url, i)["status"] for i in local} == {"RUNNING"}
