"""The run registry on SQLite (beside the store) and PostgreSQL (in the store's database)."""

from __future__ import annotations

import uuid

import pytest

from wfgateway.routing.registry import PostgresRegistry, SqliteRegistry, registry_for_store


async def test_sqlite_registry_survives_reopening(tmp_path):
    reg = registry_for_store({"kind": "sqlite", "path": "data/gw.db"}, tmp_path)
    assert isinstance(reg, SqliteRegistry) and reg.path == tmp_path / "data" / "gw.runs.sqlite"
    await reg.open()
    assert not reg.may_own_elsewhere("engine")
    await reg.record("e-1", "canary", "conductor")
    await reg.record("e-1", "engine", "conductor")  # first writer wins: an owner never changes
    await reg.close()
    again = SqliteRegistry(tmp_path / "data" / "gw.runs.sqlite")
    await again.open()
    assert await again.owner("e-1", None) == "canary"
    assert await again.owner("e-2", None) is None
    assert again.may_own_elsewhere("engine") and not again.may_own_elsewhere("canary")
    await again.close()


@pytest.mark.postgres
async def test_postgres_registry_is_shared_between_replicas():
    dsn = "postgresql://127.0.0.1:5432/test"
    a, b = PostgresRegistry(dsn), PostgresRegistry(dsn)
    eid = f"e-{uuid.uuid4()}"
    try:
        await a.open()
        await b.open()
        assert await b.owner(eid, None) is None
        await a.record(eid, "cognite-prod", "cognite")
        assert await b.owner(eid, None) == "cognite-prod"
    finally:
        await a.close()
        await b.close()
