"""Schedule triggers through the SDK.  Cron has minute granularity, so the tests drive the gateway's
own scheduler with a chosen "now" (its tick, and a second real scheduler loop with a clock ten
minutes ahead) instead of waiting for a real minute to pass."""

from __future__ import annotations

import asyncio
import time

import pytest
from cognite.client.data_classes.workflows import WorkflowScheduledTriggerRule, WorkflowTriggerUpsert
from cognite.client.exceptions import CogniteAPIError, CogniteNotFoundError
from wfgateway.adapters.cognite.scheduler import TriggerScheduler, next_fire

from tests.cognite.conftest import wait_for
from tests.cognite.test_sdk_retry import async_task, detailed, unique, upsert

MINUTE = 60_000


def cognite_dialect(gateway):
    return next(d for d in gateway.app.dialects if d.name == "cognite")


def on_gateway_loop(gateway, coro):
    """Run ``coro`` on the gateway's event loop (where its scheduler and stores live)."""
    return asyncio.run_coroutine_threadsafe(coro, cognite_dialect(gateway).loop).result(timeout=20)


def tick(gateway, now_ms: int) -> list[dict]:
    return on_gateway_loop(gateway, cognite_dialect(gateway).scheduler.tick(now_ms))


YEARLY = "0 0 1 1 *"  # never fires by the real clock while a test runs, only by the ticks we drive
DAY = 24 * 60 * MINUTE


def trigger(xid: str, workflow: str, cron: str = YEARLY, **kw) -> WorkflowTriggerUpsert:
    return WorkflowTriggerUpsert(xid, WorkflowScheduledTriggerRule(cron), workflow, "1", **kw)


def test_trigger_fires_on_schedule_and_records_history(client, gateway):
    wf, tr = unique("cron-wf"), unique("nightly")
    upsert(client, wf, [async_task("a")])
    created = client.workflows.triggers.upsert(trigger(tr, wf, input={"k": 1}, metadata={"src": "cron"}))
    assert (created.external_id, created.is_paused, created.workflow_version) == (tr, False, "1")
    assert created.trigger_rule.cron_expression == YEARLY
    assert tr in {t.external_id for t in client.workflows.triggers.list(limit=None)}

    due = next_fire(YEARLY, None, created.created_time)
    assert all(r["externalId"] != tr for r in tick(gateway, due - 1))
    fired = [r for r in tick(gateway, due) if r["externalId"] == tr]
    assert len(fired) == 1 and fired[0]["status"] == "success" and fired[0]["fireTime"] == due
    assert [r for r in tick(gateway, due) if r["externalId"] == tr] == []  # each fire time fires once
    runs = client.workflows.triggers.list_runs(tr, limit=None)
    assert [(r.status, r.fire_time, r.workflow_external_id) for r in runs] == [("success", due, wf)]
    execution = detailed(client, runs[0].workflow_execution_id)
    # CDF appends the system input (the workflow version) to the trigger's static input
    assert execution.input == {"k": 1, "version": "1"}
    assert (execution.workflow_external_id, execution.metadata) == (wf, {"src": "cron"})

    client.workflows.triggers.pause(tr)
    assert next(t for t in client.workflows.triggers.list(limit=None) if t.external_id == tr).is_paused
    assert [r for r in tick(gateway, due + 400 * DAY) if r["externalId"] == tr] == []
    client.workflows.triggers.resume(tr)
    later = [r for r in tick(gateway, due + 400 * DAY) if r["externalId"] == tr]
    assert len(later) == 1
    assert len(client.workflows.triggers.list_runs(tr, limit=None)) == 2
    assert client.workflows.triggers.list_runs(tr, limit=None)[0].fire_time > due  # newest first

    client.workflows.triggers.delete(tr)
    assert tr not in {t.external_id for t in client.workflows.triggers.list(limit=None)}
    with pytest.raises(CogniteNotFoundError):
        client.workflows.triggers.list_runs(tr)


def test_scheduler_loop_really_starts_executions(client, gateway):
    """A real scheduler loop (clock ten minutes ahead) fires a trigger and the run exists."""
    wf, tr = unique("loop-wf"), unique("loop")
    upsert(client, wf, [async_task("a")])
    client.workflows.triggers.upsert(trigger(tr, wf, cron="* * * * *"))
    dialect = cognite_dialect(gateway)

    async def start() -> TriggerScheduler:
        s = TriggerScheduler(dialect.service.kv, gateway.engine, clock=lambda: int(time.time() * 1000) + 10 * MINUTE,
                             interval_s=0.05)
        s.start()
        return s

    scheduler = on_gateway_loop(gateway, start())
    try:
        runs = wait_for(lambda: client.workflows.triggers.list_runs(tr, limit=None), lambda r: len(r) >= 1)
    finally:
        on_gateway_loop(gateway, scheduler.stop())
    assert runs[0].status == "success"
    assert detailed(client, runs[0].workflow_execution_id).status == "running"


def test_trigger_refusals(client):
    wf = unique("trigger-refusals")
    upsert(client, wf, [async_task("a")])
    with pytest.raises(CogniteAPIError) as bad_cron:
        client.workflows.triggers.upsert(trigger(unique("t"), wf, cron="every minute"))
    assert bad_cron.value.code == 400 and "cron" in bad_cron.value.message
    with pytest.raises(CogniteAPIError) as seconds:
        client.workflows.triggers.upsert(trigger(unique("t"), wf, cron="* * * * * */5"))
    assert seconds.value.code == 400
    with pytest.raises(CogniteNotFoundError):
        client.workflows.triggers.upsert(WorkflowTriggerUpsert(unique("t"), WorkflowScheduledTriggerRule("0 0 * * *"),
                                                               wf, "9"))
    with pytest.raises(CogniteNotFoundError):
        client.workflows.triggers.pause(unique("ghost"))


def test_a_trigger_whose_version_disappeared_records_a_failed_run(client, gateway):
    wf, tr = unique("gone-wf"), unique("gone")
    upsert(client, wf, [async_task("a")])
    created = client.workflows.triggers.upsert(trigger(tr, wf))
    client.workflows.versions.delete((wf, "1"))
    due = next_fire(YEARLY, None, created.created_time)
    fired = [r for r in tick(gateway, due) if r["externalId"] == tr]
    assert fired[0]["status"] == "failed" and fired[0]["reasonForFailure"]
    runs = client.workflows.triggers.list_runs(tr)
    assert runs[0].status == "failed" and runs[0].reason_for_failure


@pytest.mark.parametrize("cron", ["0 0 31 2 *", "0 12 30 2 *"])
def test_a_schedule_that_never_fires_is_a_400_that_stores_nothing_and_binds_no_session(client, cron):
    """February 30th and 31st pass the five-field check but have no fire time: 400 naming the expression
    (it was a 500 -- after the session of its nonce had been bound)."""
    wf, xid = unique("never-fires"), unique("t")
    upsert(client, wf, [async_task("a")])
    active = len(client.iam.sessions.list(status="ACTIVE", limit=-1))
    with pytest.raises(CogniteAPIError) as never:  # the SDK creates a session for the trigger's nonce
        client.workflows.triggers.upsert(WorkflowTriggerUpsert(xid, WorkflowScheduledTriggerRule(cron), wf, "1"))
    assert never.value.code == 400
    assert never.value.message == f"Invalid cron expression '{cron}': it never fires"
    assert xid not in {t.external_id for t in client.workflows.triggers.list(limit=-1)}
    assert len(client.iam.sessions.list(status="ACTIVE", limit=-1)) == active  # its nonce was not bound


def test_a_trigger_for_an_unknown_version_is_404_and_binds_no_session(client):
    """The version is looked up before the nonce is bound: a refused upsert leaves its session unused."""
    wf = unique("trigger-unknown-version")
    upsert(client, wf, [async_task("a")])
    active = len(client.iam.sessions.list(status="ACTIVE", limit=-1))
    with pytest.raises(CogniteNotFoundError) as missing:  # the SDK creates a session for the trigger's nonce
        client.workflows.triggers.upsert(WorkflowTriggerUpsert(unique("t"), WorkflowScheduledTriggerRule("0 0 * * *"),
                                                               wf, "9"))
    assert missing.value.missing == [{"workflowExternalId": wf, "version": "9"}]
    assert len(client.iam.sessions.list(status="ACTIVE", limit=-1)) == active
