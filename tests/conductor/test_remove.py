"""Acceptance: removing workflows (DELETE /api/workflow/{id}/remove) with the official SDK's
WorkflowClient.delete_workflow and over plain HTTP, against the real gateway on 127.0.0.1.

What the user notices: a removed workflow answers Conductor's 404 afterwards and nothing of it is
left in the store; a running one is refused while it would be archived (Conductor's default) and
removed with archiveWorkflow=false; removals racing workers' results never leave half a workflow.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.models import TaskDef
from conductor.client.http.models.workflow_def import WorkflowDef
from conductor.client.http.models.workflow_task import WorkflowTask
from conductor.client.http.rest import ApiException
from conductor.client.orkes_clients import OrkesClients

from tests.conductor.spec_check import checked_client
from tests.support.server import RunningGateway

TASK = "rm_task"
FLOW = "rm_flow"


@pytest.fixture(scope="module")
def clients(open_gateway: RunningGateway) -> OrkesClients:
    clients = OrkesClients(configuration=Configuration(server_api_url=f"{open_gateway.url}/api"))
    metadata = clients.get_metadata_client()
    metadata.register_task_def(TaskDef(name=TASK, retry_count=0, timeout_seconds=60, response_timeout_seconds=30))
    metadata.register_workflow_def(WorkflowDef(name=FLOW, version=1, timeout_seconds=3600, tasks=[
        WorkflowTask(name=TASK, task_reference_name="first", type="SIMPLE"),
        WorkflowTask(name=TASK, task_reference_name="second", type="SIMPLE"),
    ]), overwrite=True)
    return clients


@pytest.fixture(scope="module")
def api(open_gateway: RunningGateway) -> Iterator[httpx.Client]:
    with checked_client(open_gateway.url) as client:
        yield client


@pytest.fixture(scope="module")
def db(open_gateway: RunningGateway) -> Iterator[sqlite3.Connection]:
    """A reader on the gateway's own SQLite file, to see what the store really holds."""
    conn = sqlite3.connect(f"file:{open_gateway.engine.store.path}?mode=ro", uri=True)
    try:
        yield conn
    finally:
        conn.close()


def rows_of(db: sqlite3.Connection, workflow_id: str) -> dict[str, int]:
    counts = {table: db.execute(f"SELECT COUNT(*) FROM {table} WHERE {column} = ?", (workflow_id,)).fetchone()[0]
              for table, column in (("executions", "id"), ("attempts", "execution_id"), ("timers", "execution_id"))}
    return {k: v for k, v in counts.items() if v}


def orphans(db: sqlite3.Connection) -> dict[str, int]:
    """Attempts or timers whose execution no longer exists: half of a removed workflow."""
    return {table: db.execute(f"SELECT COUNT(*) FROM {table} WHERE execution_id NOT IN "
                              "(SELECT id FROM executions)").fetchone()[0] for table in ("attempts", "timers")}


def poll(api: httpx.Client, count: int) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while len(got) < count and time.monotonic() < deadline:
        r = api.get(f"/api/tasks/poll/batch/{TASK}", params={"count": count - len(got), "timeout": 200,
                                                            "workerid": "rm-worker"})
        assert r.status_code == 200
        got += r.json()
    assert len(got) == count, f"only {len(got)} of {count} tasks became pollable"
    return got


def update(api: httpx.Client, task: dict[str, Any]) -> httpx.Response:
    return api.post("/api/tasks", json={"workflowInstanceId": task["workflowInstanceId"], "taskId": task["taskId"],
                                        "status": "COMPLETED", "outputData": {"ok": True}})


def not_found(call: Any, workflow_id: str) -> None:
    with pytest.raises(ApiException) as err:
        call()
    assert err.value.status == 404 and err.value.message == f"No such workflow found by id: {workflow_id}"


def test_a_finished_workflow_removed_with_the_sdk_is_gone(clients: OrkesClients, api: httpx.Client,
                                                         db: sqlite3.Connection) -> None:
    wc = clients.get_workflow_client()
    wid = wc.start_workflow_by_name(FLOW, {"n": 1}, version=1)
    for _ in range(2):
        (task,) = poll(api, 1)
        assert update(api, task).status_code == 200
    assert wc.get_workflow(wid, include_tasks=True).status == "COMPLETED"
    before = rows_of(db, wid)
    assert before["executions"] == 1 and before["attempts"] == 2  # and pending lease/timeout timers

    assert wc.delete_workflow(wid) is None  # archiveWorkflow=True, as the SDK sends by default

    not_found(lambda: wc.get_workflow(wid, include_tasks=True), wid)
    not_found(lambda: wc.get_workflow_status(wid), wid)
    not_found(lambda: wc.delete_workflow(wid), wid)
    assert rows_of(db, wid) == {}
    assert wid not in {s.workflow_id for s in wc.search(query=f"workflowType = '{FLOW}'").results}


def test_a_running_workflow_is_kept_unless_archiving_is_turned_off(clients: OrkesClients, api: httpx.Client,
                                                                   db: sqlite3.Connection) -> None:
    wc = clients.get_workflow_client()
    wid = wc.start_workflow_by_name(FLOW, {"n": 2}, version=1)
    (task,) = poll(api, 1)

    with pytest.raises(ApiException) as err:
        wc.delete_workflow(wid)
    assert err.value.status == 400 and err.value.message == f"Cannot archive workflow: {wid} with status: RUNNING"
    assert wc.get_workflow(wid, include_tasks=True).status == "RUNNING"  # refused means untouched

    assert wc.delete_workflow(wid, archive_workflow=False) is None
    not_found(lambda: wc.get_workflow(wid, include_tasks=True), wid)
    assert rows_of(db, wid) == {}  # the leased task, its lease and the workflow timeout went with it
    late = update(api, task)  # the worker reports after the removal
    assert late.status_code == 404 and late.json()["status"] == 404


def test_unknown_ids_answer_conductors_404(api: httpx.Client) -> None:
    r = api.delete("/api/workflow/no-such-workflow/remove", params={"archiveWorkflow": "false"})
    assert r.status_code == 404 and r.json()["message"] == "No such workflow found by id: no-such-workflow"


def test_removals_racing_task_results_never_leave_half_a_workflow(clients: OrkesClients, api: httpx.Client,
                                                                  db: sqlite3.Connection) -> None:
    wc = clients.get_workflow_client()
    ids = [wc.start_workflow_by_name(FLOW, {"i": i}, version=1) for i in range(16)]
    tasks = poll(api, len(ids))

    def remove(wid: str) -> httpx.Response:
        return api.delete(f"/api/workflow/{wid}/remove", params={"archiveWorkflow": "false"})

    with ThreadPoolExecutor(max_workers=8) as pool:  # each workflow's result and removal sent together
        pairs = [(pool.submit(update, api, t), pool.submit(remove, t["workflowInstanceId"])) for t in tasks]
        updates_done = [u.result() for u, _ in pairs]
        removals_done = [r.result() for _, r in pairs]

    assert {r.status_code for r in removals_done} == {200}, [r.text for r in removals_done if r.status_code != 200]
    assert {r.status_code for r in updates_done} <= {200, 404}, [r.text for r in updates_done]
    for wid in ids:
        assert rows_of(db, wid) == {}
        assert api.get(f"/api/workflow/{wid}").status_code == 404
    assert orphans(db) == {"attempts": 0, "timers": 0}
