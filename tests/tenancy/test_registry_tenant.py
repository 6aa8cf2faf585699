"""Issue 21: the run registry knows an execution id only for the tenant that created it, so another
tenant's id never steers a call to a backend only that tenant's routes reach (SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.engine.pg import create_schema, drop_schema, pg_store
from tests.support.server import run_gateway
from tests.tenancy.conftest import _tenant, dialect_auth
from wfgateway.engine.store.sqlite import SQLiteStore
from wfgateway.routing.registry import RunRegistry


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def registries(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[RunRegistry, RunRegistry]]:
    """Two handles on one registry (a replica, or the same store reopened with a cold cache)."""
    schema = create_schema() if request.param == "postgres" else None
    stores = [SQLiteStore(tmp_path / "gw.db") if schema is None else pg_store(schema) for _ in range(2)]
    for store in stores:
        await store.open()
    a, b = RunRegistry(stores[0]), RunRegistry(stores[1])
    await a.open()
    await b.open()
    try:
        yield a, b
    finally:
        for store in stores:
            await store.close()
        if schema:
            drop_schema(schema)


async def test_an_id_is_known_only_to_the_tenant_that_created_it(registries):
    a, b = registries
    await a.record("e-acme", "conductor-acme", "conductor", "acme")
    await a.record("e-acme", "engine", "conductor", "rival")  # first writer wins, tenant included
    for reg in (a, b):  # warm cache and cold cache answer alike
        assert await reg.owner("e-acme", "acme") == "conductor-acme"
        assert await reg.owner("e-acme", "rival") is None
        assert await reg.owner("e-acme", None) == "conductor-acme"
        assert await reg.owner("e-other", "acme") is None


async def test_a_registry_table_from_before_tenants_is_upgraded_in_place(tmp_path: Path):
    path = tmp_path / "gw.db"
    with sqlite3.connect(path) as db:  # the table as PostgreSQL deployments had it, with a row
        db.execute("CREATE TABLE wfgateway_run_registry (execution_id TEXT PRIMARY KEY, backend TEXT NOT NULL,"
                   " dialect TEXT NOT NULL DEFAULT '')")
        db.execute("INSERT INTO wfgateway_run_registry (execution_id, backend) VALUES ('old', 'up')")
    store = SQLiteStore(path)
    await store.open()
    reg = RunRegistry(store)
    await reg.open()
    await reg.record("new", "up", "conductor", "acme")
    assert await reg.owner("old", "acme") == "up"  # recorded before tenants: kept reachable as before
    assert await reg.owner("new", "rival") is None
    await store.close()


def test_another_tenants_execution_id_never_routes_to_that_tenants_upstream(tmp_path: Path, env_secrets):
    """acme's Conductor traffic goes to an upstream Conductor (a second real gateway); rival's stays on
    the embedded engine.  rival asking for acme's execution id gets 404 from its own backend -- the
    registry once sent it to acme's upstream, which answered acme's run with the gateway's credentials."""
    with run_gateway(tmp_path / "back") as back, run_gateway(
            tmp_path / "front", dialects=dialect_auth(),
            backends={"engine": {"kind": "engine"}, "acme-up": {"kind": "upstream", "dialect": "conductor",
                                                                "url": back.url}},
            routes=[{"name": "acme-upstream", "match": {"dialect": "conductor", "tenant": "acme"},
                     "backend": "acme-up"},
                    {"name": "rest", "match": {}, "backend": "engine"}]) as front:
        acme, rival = _tenant(front.url, "acme"), _tenant(front.url, "rival")
        wf = {"name": "billing", "version": 1, "schemaVersion": 2, "ownerEmail": "a@example.com",
              "tasks": [{"name": "work", "taskReferenceName": "w", "type": "SIMPLE"}]}
        assert acme.conductor.post("/api/metadata/taskdefs", json=[{"name": "work"}]).status_code == 200
        assert acme.conductor.post("/api/metadata/workflow", json=wf).status_code == 200
        started = acme.conductor.post("/api/workflow/billing", json={"card": "acme-only"})
        assert started.status_code == 200, started.text
        run_id = started.text
        assert acme.conductor.get(f"/api/workflow/{run_id}").json()["input"] == {"card": "acme-only"}
        for path in (f"/api/workflow/{run_id}", f"/api/workflow/{run_id}/status"):
            answer = rival.conductor.get(path)
            assert answer.status_code == 404 and "acme-only" not in answer.text, answer.text
        assert rival.conductor.delete(f"/api/workflow/{run_id}").status_code == 404
        for method, action in (("POST", "terminate"), ("PUT", "pause"), ("DELETE", "terminate-remove")):
            # bulk calls split their ids by the run registry too
            bulk = rival.conductor.request(method, f"/api/workflow/bulk/{action}", json=[run_id])
            assert bulk.status_code == 200 and run_id not in bulk.json()["bulkSuccessfulResults"], bulk.text
        assert acme.conductor.get(f"/api/workflow/{run_id}").json()["status"] == "RUNNING"
