"""Workflows, versions, executions (cancel, list, pagination), sessions and project isolation through
the official cognite-sdk against the real gateway."""

from __future__ import annotations

import httpx
import pytest
from cognite.client.data_classes.workflows import (
    FunctionTaskParameters,
    WorkflowTask,
    WorkflowVersionId,
)
from cognite.client.exceptions import CogniteAPIError, CogniteNotFoundError

from tests.cognite.conftest import sdk_client, wait_for
from tests.cognite.test_sdk_retry import (
    async_task,
    detailed,
    statuses,
    unique,
    upsert,
    wait_status,
    wait_task,
)


def api(gateway, project: str = "acme") -> httpx.Client:
    return httpx.Client(base_url=f"{gateway.url}/api/v1/projects/{project}", timeout=10)


def nonce(http: httpx.Client) -> str:
    r = http.post("/sessions", json={"items": [{"tokenExchange": True}]})
    assert r.status_code == 200, r.text
    session = r.json()["items"][0]
    assert session["status"] == "READY" and isinstance(session["id"], int)
    return session["nonce"]


def test_workflow_and_version_lifecycle(client):
    xid = unique("wf/with space")  # ids are URL-encoded by the SDK
    upsert(client, xid, [async_task("a"), async_task("b", depends_on=["a"])])
    upsert(client, xid, [async_task("a")], version="2")
    wf = client.workflows.retrieve(xid)
    assert wf is not None and wf.external_id == xid and wf.description == f"{xid} for tests"
    assert xid in {w.external_id for w in client.workflows.list(limit=None)}
    v1 = client.workflows.versions.retrieve((xid, "1"))
    assert v1 is not None and [t.external_id for t in v1.workflow_definition.tasks] == ["a", "b"]
    assert v1.workflow_definition.tasks[1].depends_on == ["a"] and v1.workflow_definition.tasks[0].retries == 0
    assert len(v1.workflow_definition.hash_) == 40 and v1.workflow_definition.hash_.isupper()
    assert {v.version for v in client.workflows.versions.list(xid)} == {"1", "2"}
    assert [v.version for v in client.workflows.versions.list(WorkflowVersionId(xid, "2"))] == ["2"]
    assert {v.version for v in client.workflows.versions(workflow_version_ids=xid)} == {"1", "2"}  # GET form
    client.workflows.versions.delete((xid, "2"))
    assert client.workflows.versions.retrieve((xid, "2")) is None
    with pytest.raises(CogniteNotFoundError) as missing:
        client.workflows.versions.delete((xid, "2"))
    assert missing.value.missing == [{"workflowExternalId": xid, "version": "2"}]
    client.workflows.versions.delete((xid, "2"), ignore_unknown_ids=True)
    client.workflows.delete(xid)
    assert client.workflows.retrieve(xid) is None
    assert client.workflows.versions.retrieve((xid, "1")) is None
    with pytest.raises(CogniteNotFoundError):
        client.workflows.delete(xid)
    client.workflows.delete(xid, ignore_unknown_ids=True)


def test_same_version_hash_for_same_definition_and_new_hash_for_changes(client):
    xid = unique("hash")
    upsert(client, xid, [async_task("a")])
    first = client.workflows.versions.retrieve((xid, "1")).workflow_definition.hash_
    upsert(client, xid, [async_task("a")])
    assert client.workflows.versions.retrieve((xid, "1")).workflow_definition.hash_ == first
    upsert(client, xid, [async_task("a", retries=2)])
    assert client.workflows.versions.retrieve((xid, "1")).workflow_definition.hash_ != first


def test_invalid_definitions_are_refused_with_cognite_errors(client):
    xid = unique("invalid")
    with pytest.raises(CogniteAPIError) as too_many:
        upsert(client, xid, [async_task("a", retries=11)])
    assert too_many.value.code == 400 and "retries" in too_many.value.message
    with pytest.raises(CogniteAPIError) as unknown_dep:
        upsert(client, xid, [async_task("a", depends_on=["ghost"])])
    assert unknown_dep.value.code == 400 and "ghost" in unknown_dep.value.message
    with pytest.raises(CogniteAPIError) as long_id:
        upsert(client, "x" * 256, [async_task("a")])
    assert long_id.value.code == 400


def test_deleting_a_workflow_with_running_executions_is_refused(client):
    xid = unique("busy")
    upsert(client, xid, [async_task("a")])
    run = client.workflows.executions.run(xid, "1")
    with pytest.raises(CogniteAPIError) as busy:
        client.workflows.delete(xid)
    assert busy.value.code == 409
    client.workflows.executions.cancel(run.id, None)
    client.workflows.delete(xid)


def test_cancel_then_retry(client):
    xid = unique("cancel")
    upsert(client, xid, [async_task("a"), async_task("b", depends_on=["a"])])
    run = client.workflows.executions.run(xid, "1")
    wait_task(client, run.id, "a", "in_progress")
    cancelled = client.workflows.executions.cancel(run.id, reason="operator stop")
    assert (cancelled.id, cancelled.status, cancelled.reason_for_incompletion) == (run.id, "terminated",
                                                                                    "operator stop")
    ex = detailed(client, run.id)
    assert statuses(ex, "a") == ["canceled"] and statuses(ex, "b") == []
    assert client.workflows.executions.cancel(run.id, "again").status == "terminated"  # a re-sent cancel is harmless
    retried = client.workflows.executions.retry(run.id)
    assert (retried.id, retried.status) == (run.id, "running")
    a = wait_task(client, run.id, "a", "in_progress", count=2)
    client.workflows.tasks.update(a.id, "completed")
    b = wait_task(client, run.id, "b", "in_progress")
    client.workflows.tasks.update(b.id, "completed")
    wait_status(client, run.id, "completed")
    with pytest.raises(CogniteAPIError) as done:
        client.workflows.executions.cancel(run.id, None)
    assert done.value.code == 400 and "terminal" in done.value.message
    other = client.workflows.executions.run(xid, "1")
    assert client.workflows.executions.cancel(other.id, None).reason_for_incompletion == "cancelled"


def test_list_executions_with_filters_and_cursor(client, gateway):
    xid = unique("listing")
    upsert(client, xid, [async_task("a")])
    upsert(client, xid, [async_task("a")], version="2")
    runs = [client.workflows.executions.run(xid, "1") for _ in range(4)]
    other_version = client.workflows.executions.run(xid, "2")
    client.workflows.executions.cancel(runs[0].id, "stop")
    ids_v1 = {e.id for e in client.workflows.executions.list((xid, "1"), limit=None)}
    assert ids_v1 == {r.id for r in runs}
    assert {e.id for e in client.workflows.executions.list(xid, limit=None)} == ids_v1 | {other_version.id}
    terminated = client.workflows.executions.list((xid, "1"), statuses="terminated", limit=None)
    assert [e.id for e in terminated] == [runs[0].id]
    running = client.workflows.executions.list([(xid, "1"), (xid, "2")], statuses=["running"], limit=None)
    assert {e.id for e in running} == {r.id for r in runs[1:]} | {other_version.id}
    assert len(client.workflows.executions.list(xid, limit=2)) == 2
    after = client.workflows.executions.list(xid, created_time_start=runs[3].created_time, limit=None)
    assert {runs[3].id, other_version.id} <= {e.id for e in after}
    assert all(e.created_time >= runs[3].created_time for e in after)
    before = client.workflows.executions.list(xid, created_time_end=runs[0].created_time, limit=None)
    assert all(e.created_time <= runs[0].created_time for e in before) and runs[0].id in {e.id for e in before}

    seen: list[str] = []
    cursor = None
    with api(gateway) as http:
        while True:
            body = {"filter": {"workflowFilters": [{"externalId": xid}]}, "limit": 2}
            if cursor:
                body["cursor"] = cursor
            page = http.post("/workflows/executions/list", json=body).json()
            assert len(page["items"]) <= 2
            seen += [e["id"] for e in page["items"]]
            cursor = page.get("nextCursor")
            if not cursor:
                break
    assert sorted(seen) == sorted({r.id for r in runs} | {other_version.id}) and len(seen) == 5
    created = [e.created_time for e in client.workflows.executions.list(xid, limit=None)]
    assert created == sorted(created, reverse=True)  # newest first


def test_list_executions_of_several_workflows_answers_full_pages_newest_first(client, gateway):
    wanted, other, noise = unique("several_a"), unique("several_b"), unique("several_noise")
    for xid in (wanted, other, noise):
        upsert(client, xid, [async_task("a")])
    upsert(client, wanted, [async_task("a")], version="2")
    expected = []
    for _ in range(3):  # the runs of a workflow that is not asked for come between the ones that are
        expected.append(client.workflows.executions.run(wanted, "2").id)
        client.workflows.executions.run(wanted, "1")
        client.workflows.executions.run(noise, "1")
        expected.append(client.workflows.executions.run(other, "1").id)
    pages, cursor = [], None
    with api(gateway) as http:
        while True:
            body = {"filter": {"workflowFilters": [{"externalId": wanted, "version": "2"}, {"externalId": other}],
                               "status": ["RUNNING"]}, "limit": 2, **({"cursor": cursor} if cursor else {})}
            page = http.post("/workflows/executions/list", json=body).json()
            pages.append([e["id"] for e in page["items"]])
            cursor = page.get("nextCursor")
            if not cursor:
                break
    assert pages[:3] == [expected[::-1][i:i + 2] for i in (0, 2, 4)]  # full pages, newest first, nothing else
    assert pages[3:] in ([], [[]])


def test_sessions_make_run_and_retry_apply_once_per_nonce(client, gateway):
    xid = unique("nonce")
    upsert(client, xid, [async_task("a")])
    with api(gateway) as http:
        n = nonce(http)
        first = http.post(f"/workflows/{xid}/versions/1/run", json={"authentication": {"nonce": n}})
        again = http.post(f"/workflows/{xid}/versions/1/run", json={"authentication": {"nonce": n}})
        assert first.status_code == again.status_code == 200 and first.json() == again.json()
        assert len(client.workflows.executions.list(xid, limit=None)) == 1
        reused = http.post(f"/workflows/{xid}/versions/1/run", json={"authentication": {"nonce": n}, "input": {}})
        assert reused.status_code == 200 and reused.json()["id"] == first.json()["id"]
        wrong = http.post(f"/workflows/executions/{first.json()['id']}/retry", json={"authentication": {"nonce": n}})
        assert wrong.status_code == 400 and "already been used" in wrong.json()["error"]["message"]
        bogus = http.post(f"/workflows/{xid}/versions/1/run", json={"authentication": {"nonce": "made-up"}})
        assert bogus.status_code == 400 and bogus.json()["error"]["code"] == 400

        execution_id = first.json()["id"]
        a = wait_task(client, execution_id, "a", "in_progress")
        client.workflows.tasks.update(a.id, "failed")
        wait_status(client, execution_id, "failed")
        n2 = nonce(http)
        r1 = http.post(f"/workflows/executions/{execution_id}/retry", json={"authentication": {"nonce": n2}})
        r2 = http.post(f"/workflows/executions/{execution_id}/retry", json={"authentication": {"nonce": n2}})
        assert r1.status_code == r2.status_code == 200 and r1.json() == r2.json()
        assert r1.json()["status"] == "RUNNING"
    wait_task(client, execution_id, "a", "in_progress", count=2)
    assert len(detailed(client, execution_id).executed_tasks) == 2  # the re-sent retry added no attempt


def test_gzip_bodies_and_cognite_error_shape(gateway):
    import gzip

    import orjson

    with api(gateway) as http:
        body = gzip.compress(orjson.dumps({"items": [{"externalId": unique("gz")}]}))
        r = http.post("/workflows", content=body, headers={"content-encoding": "gzip",
                                                          "content-type": "application/json"})
        assert r.status_code == 200 and r.json()["items"][0]["externalId"].startswith("gz-")
        bad = http.post("/workflows", json={"items": [{"externalId": "ok", "dataSetId": "nope"}]})
        assert bad.status_code == 400
        assert set(bad.json()) == {"error"} and bad.json()["error"]["code"] == 400
        assert "dataSetId" in bad.json()["error"]["message"]
        assert bad.headers.get("x-request-id")
        meta = http.post("/sessions", json={"items": [{"tokenExchange": True}]}).json()["items"][0]["nonce"]
        too_much = http.post("/workflows/x/versions/1/run", json={"authentication": {"nonce": meta},
                                                                    "metadata": {f"k{i}": "v" for i in range(11)}})
        assert too_much.status_code == 400 and "metadata" in too_much.json()["error"]["message"]
        unknown = http.get("/workflows/nothing/here/at/all")
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == 404


def test_one_project_never_sees_another(client, gateway):
    xid = unique("tenant")
    upsert(client, xid, [async_task("a")])
    run = client.workflows.executions.run(xid, "1")
    other = sdk_client(gateway.url, "other-project")
    assert other.workflows.retrieve(xid) is None
    assert other.workflows.versions.retrieve((xid, "1")) is None
    assert other.workflows.executions.retrieve_detailed(run.id) is None
    assert xid not in {w.external_id for w in other.workflows.list(limit=None)}
    assert len(other.workflows.executions.list(xid, limit=None)) == 0
    with pytest.raises(CogniteNotFoundError):
        other.workflows.executions.retry(run.id)
    with pytest.raises(CogniteNotFoundError):
        other.workflows.executions.cancel(run.id, None)
    with pytest.raises(CogniteNotFoundError):
        other.workflows.executions.run(xid, "1")
    a = wait_task(client, run.id, "a", "in_progress")
    with pytest.raises(CogniteNotFoundError):
        other.workflows.tasks.update(a.id, "completed")
    assert detailed(client, run.id).status == "running"


def test_task_templates_resolve_workflow_input_and_task_outputs(client, functions):
    xid = unique("templates")
    upsert(client, xid, [
        WorkflowTask("first", FunctionTaskParameters("echo", data={"day": "${workflow.input.day}"})),
        WorkflowTask("second", FunctionTaskParameters("echo", data={"seen": "${first.output.response.day}",
                                                                    "all": "${workflow.input}"}),
                     depends_on=["first"]),
    ])
    run = client.workflows.executions.run(xid, "1", input={"day": "monday"})
    ex = wait_status(client, run.id, "completed")
    second = next(t for t in ex.executed_tasks if t.external_id == "second")
    assert second.output.response == {"seen": "monday", "all": {"day": "monday"}}
    assert wait_for(lambda: functions.calls[-1], lambda c: c == ("/fn/echo", {"seen": "monday",
                                                                             "all": {"day": "monday"}}))
