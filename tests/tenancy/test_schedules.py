"""Conductor schedules are per tenant: both tenants keep a schedule of the same name, each sees,
pauses and deletes only its own, a tenant's /admin/pause stops only its schedules, and a firing
starts the workflow in the schedule's tenant (another tenant can neither read the run nor find the
firing)."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.tenancy.conftest import TwoTenants


def _flow() -> dict[str, Any]:
    return {"name": "sched_tenancy", "version": 1, "schemaVersion": 2, "timeoutSeconds": 0,
            "tasks": [{"name": "hold", "taskReferenceName": "hold_ref", "type": "WAIT"}]}


def _schedule(cron: str, region: str) -> dict[str, Any]:
    return {"name": "nightly", "cronExpression": cron, "zoneId": "UTC",
            "startWorkflowRequest": {"name": "sched_tenancy", "version": 1, "input": {"region": region}}}


def _tick(tenants: TwoTenants, now: int) -> list[dict[str, Any]]:
    dialect = next(d for d in tenants.gateway.app.dialects if d.name == "conductor")
    return asyncio.run_coroutine_threadsafe(dialect.scheduler.tick(now), dialect.loop).result(timeout=20)


def test_schedules_are_kept_paused_and_fired_per_tenant(tenants: TwoTenants) -> None:
    acme, rival = tenants.acme.conductor, tenants.rival.conductor
    for client, cron, region in ((acme, "0 0 1 * * ?", "acme-eu"), (rival, "0 30 2 * * ?", "rival-us")):
        assert client.post("/api/metadata/workflow", json=_flow(), params={"overwrite": "true"}).status_code == 200
        assert client.post("/api/scheduler/schedules", json=_schedule(cron, region)).status_code == 200
    assert acme.get("/api/scheduler/schedules/nightly").json()["cronExpression"] == "0 0 1 * * ?"
    assert rival.get("/api/scheduler/schedules/nightly").json()["cronExpression"] == "0 30 2 * * ?"
    assert [s["startWorkflowRequest"]["input"]["region"] for s in acme.get("/api/scheduler/schedules").json()] \
        == ["acme-eu"]

    assert rival.get("/api/scheduler/admin/pause").json() == {"status": "done"}
    assert rival.put("/api/scheduler/schedules/nightly/pause").status_code == 200
    assert acme.get("/api/scheduler/schedules/nightly").json()["paused"] is False

    day_after = acme.get("/api/scheduler/schedules/nightly").json()["nextRunTime"] + 86_400_000 - 1
    fired = [run for run in _tick(tenants, day_after) if run["scheduleName"] == "nightly"]
    assert len(fired) == 1 and fired[0]["state"] == "EXECUTED"  # acme's; rival is paused (both ways)
    run_id = fired[0]["workflowId"]
    assert acme.get(f"/api/workflow/{run_id}").json()["input"]["region"] == "acme-eu"
    assert rival.get(f"/api/workflow/{run_id}").status_code == 404
    assert acme.get("/api/scheduler/search/executions").json()["totalHits"] == 1
    assert rival.get("/api/scheduler/search/executions").json() == {"totalHits": 0, "results": []}

    assert rival.delete("/api/scheduler/schedules/nightly").status_code == 200
    assert rival.get("/api/scheduler/schedules/nightly").status_code == 404
    assert acme.get("/api/scheduler/schedules/nightly").status_code == 200
    assert rival.get("/api/scheduler/admin/resume").json() == {"status": "done"}
    assert acme.delete("/api/scheduler/schedules/nightly").status_code == 200
