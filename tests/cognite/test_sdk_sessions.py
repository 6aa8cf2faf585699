"""Sessions through the unmodified SDK on the gateway as config.yaml ships it: the three session
types, list with a status filter and cursor paging, retrieve by ids, revoke; a revoked or expired
nonce starts no run or retry, and a schedule trigger holding a revoked session stops starting runs
(its history records why).  Nonce expiry is seen by moving the gateway's session clock forward."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from cognite.client import CogniteClient
from cognite.client.data_classes import ClientCredentials
from cognite.client.data_classes.workflows import FunctionTaskParameters, WorkflowTask
from cognite.client.exceptions import CogniteAPIError, CogniteNotFoundError
from wfgateway.adapters.cognite.scheduler import next_fire
from wfgateway.adapters.cognite.sessions import NONCE_TTL_MS, ONESHOT_TTL_MS

from tests.cognite.conftest import sdk_client
from tests.cognite.test_sdk_retry import async_task, detailed, unique, upsert, wait_status, wait_task
from tests.cognite.test_sdk_triggers import YEARLY, cognite_dialect, tick, trigger
from tests.support.server import RunningGateway, run_gateway


@dataclass
class Shipped:
    gateway: RunningGateway
    client: CogniteClient


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shipped]:
    with run_gateway(tmp_path_factory.mktemp("cognite-sessions")) as gw:
        yield Shipped(gw, sdk_client(gw.url, "plant-sessions"))


@pytest.fixture
def clock_ahead(shipped: Shipped) -> Iterator[list[int]]:
    """Shift the gateway's session clock by the milliseconds appended to the yielded list."""
    sessions = cognite_dialect(shipped.gateway).service.sessions
    real = sessions.clock
    shift = [0]
    sessions.clock = lambda: real() + sum(shift)
    yield shift
    sessions.clock = real


def test_all_three_session_types_list_page_retrieve_and_revoke(shipped: Shipped):
    client = shipped.client
    token = client.iam.sessions.create()
    oneshot = client.iam.sessions.create(session_type="ONESHOT_TOKEN_EXCHANGE")
    creds = client.iam.sessions.create(ClientCredentials("my-app", "s3cret"), session_type="CLIENT_CREDENTIALS")
    assert [(s.type, s.status) for s in (token, oneshot, creds)] == [
        ("TOKEN_EXCHANGE", "READY"), ("ONESHOT_TOKEN_EXCHANGE", "READY"), ("CLIENT_CREDENTIALS", "READY")]
    assert creds.client_id == "my-app" and len({token.nonce, oneshot.nonce, creds.nonce}) == 3

    wf = unique("sess-wf")
    upsert(client, wf, [async_task("a")])
    client.workflows.executions.run(wf, "1", nonce=token.nonce)  # binding the nonce activates the session
    active = client.iam.sessions.list(status="ACTIVE", limit=-1)
    ready = client.iam.sessions.list(status="READY", limit=-1)
    assert token.id in active.as_ids() and token.id not in ready.as_ids()
    assert {oneshot.id, creds.id} <= set(ready.as_ids())
    assert all(s.status == "ACTIVE" for s in active) and all(s.status == "READY" for s in ready)

    got = client.iam.sessions.retrieve(creds.id)
    assert (got.id, got.type, got.status, got.client_id) == (creds.id, "CLIENT_CREDENTIALS", "READY", "my-app")
    assert got.expiration_time - got.creation_time == NONCE_TTL_MS
    both = client.iam.sessions.retrieve([token.id, oneshot.id])
    assert [(s.id, s.status) for s in both] == [(token.id, "ACTIVE"), (oneshot.id, "READY")]
    with pytest.raises(CogniteNotFoundError) as missing:
        client.iam.sessions.retrieve([token.id, 12345])
    assert missing.value.code == 400 and missing.value.missing == [{"id": 12345}]

    revoked = client.iam.sessions.revoke(token.id)
    assert (revoked.id, revoked.status) == (token.id, "REVOKED")
    assert client.iam.sessions.revoke([token.id])[0].status == "REVOKED"  # revoking is idempotent
    assert token.id in client.iam.sessions.list(status="REVOKED", limit=-1).as_ids()
    assert token.id not in client.iam.sessions.list(status="ACTIVE", limit=-1).as_ids()
    with pytest.raises(CogniteNotFoundError) as unknown:
        client.iam.sessions.revoke([oneshot.id, 777])
    assert unknown.value.missing == [{"id": 777}]
    assert client.iam.sessions.retrieve(oneshot.id).status == "READY"  # nothing revoked by a refused call


def test_list_pages_with_cursors_until_every_session_is_seen(shipped: Shipped):
    client = shipped.client
    created = {client.iam.sessions.create(session_type="ONESHOT_TOKEN_EXCHANGE").id for _ in range(105)}
    first_page = client.iam.sessions.list(limit=25)
    assert len(first_page) == 25
    everything = client.iam.sessions.list(limit=-1)  # the SDK follows nextCursor, 100 a page
    ids = everything.as_ids()
    assert created <= set(ids) and len(ids) == len(set(ids)) >= 105


def test_a_revoked_session_starts_no_run_and_no_retry(shipped: Shipped):
    client = shipped.client
    wf = unique("revoked-wf")
    upsert(client, wf, [async_task("a")])
    session = client.iam.sessions.create()
    client.iam.sessions.revoke(session.id)
    with pytest.raises(CogniteAPIError) as refused:
        client.workflows.executions.run(wf, "1", nonce=session.nonce)
    assert refused.value.code == 400 and "has been revoked" in refused.value.message
    assert client.workflows.executions.list(workflow_version_ids=wf) == []

    run = client.workflows.executions.run(wf, "1")
    task = wait_task(client, run.id, "a", "in_progress")
    client.workflows.tasks.update(task.id, "failed", output={"error": "boom"})
    wait_status(client, run.id, "failed")
    retry_session = client.iam.sessions.create()
    client.iam.sessions.revoke(retry_session.id)
    with pytest.raises(CogniteAPIError) as no_retry:
        client.post(f"/api/v1/projects/{client.config.project}/workflows/executions/{run.id}/retry",
                    json={"authentication": {"nonce": retry_session.nonce}})
    assert no_retry.value.code == 400 and "has been revoked" in no_retry.value.message
    assert detailed(client, run.id).status == "failed"
    assert client.workflows.executions.retry(run.id).status == "running"  # a fresh session still works


def test_nonces_expire_after_a_minute_and_one_shot_sessions_after_an_hour(shipped: Shipped, clock_ahead):
    client = shipped.client
    wf = unique("expiry-wf")
    upsert(client, wf, [async_task("a")])
    late = client.iam.sessions.create()
    oneshot = client.iam.sessions.create(session_type="ONESHOT_TOKEN_EXCHANGE")
    client.workflows.executions.run(wf, "1", nonce=oneshot.nonce)
    clock_ahead.append(NONCE_TTL_MS + 1)
    with pytest.raises(CogniteAPIError) as expired:
        client.workflows.executions.run(wf, "1", nonce=late.nonce)
    assert expired.value.code == 400 and "has expired" in expired.value.message
    assert client.iam.sessions.retrieve(late.id).status == "EXPIRED"
    assert client.iam.sessions.retrieve(oneshot.id).status == "ACTIVE"
    clock_ahead.append(ONESHOT_TTL_MS)
    assert client.iam.sessions.retrieve(oneshot.id).status == "EXPIRED"
    assert late.id in client.iam.sessions.list(status="EXPIRED", limit=-1).as_ids()


def test_trigger_runs_read_the_system_input_and_stop_when_the_session_is_revoked(shipped: Shipped):
    client, gw = shipped.client, shipped.gateway
    wf, tr = unique("sys-wf"), unique("sys-tr")
    upsert(client, wf, [WorkflowTask("report", FunctionTaskParameters(
        "reporter", data={"version": "${workflow.input.version}", "site": "${workflow.input.site}"},
        is_async_complete=True))])
    before = set(client.iam.sessions.list(status="ACTIVE", limit=-1).as_ids())
    created = client.workflows.triggers.upsert(trigger(tr, wf, input={"site": "A"}, metadata={"by": "cron"}))
    held = set(client.iam.sessions.list(status="ACTIVE", limit=-1).as_ids()) - before
    assert len(held) == 1  # the trigger bound the session the SDK created for it

    due = next_fire(YEARLY, None, created.created_time)
    [fired] = [r for r in tick(gw, due) if r["externalId"] == tr]
    execution = detailed(client, fired["workflowExecutionId"])
    assert execution.input == {"site": "A", "version": "1"} and execution.metadata == {"by": "cron"}
    task = wait_task(client, execution.id, "report", "in_progress")
    assert task.input.data == {"version": "1", "site": "A"}

    client.iam.sessions.revoke(list(held))
    later = next_fire(YEARLY, None, due)
    [refused] = [r for r in tick(gw, later) if r["externalId"] == tr]
    assert refused["status"] == "failed" and "workflowExecutionId" not in refused
    runs = client.workflows.triggers.list_runs(tr, limit=None)
    assert [(r.status, r.fire_time) for r in runs] == [("failed", later), ("success", due)]
    assert f"Session {held.pop()} has been revoked" in runs[0].reason_for_failure
    assert len(client.workflows.executions.list(workflow_version_ids=wf, limit=None)) == 1
