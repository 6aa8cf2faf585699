"""The run registry in the engine's store: SQLite (one process) and PostgreSQL (shared by replicas)."""

from __future__ import annotations

import uuid

import pytest

from tests.engine.pg import create_schema, drop_schema, pg_store
from wfgateway.engine.store.sqlite import SQLiteStore
from wfgateway.routing.registry import RunRegistry


async def test_sqlite_registry_survives_reopening(tmp_path):
    store = SQLiteStore(tmp_path / "data" / "gw.db")
    await store.open()
    reg = RunRegistry(store)
    await reg.open()
    assert not reg.may_own_elsewhere("engine")
    await reg.record("e-1", "canary", "conductor")
    await reg.record("e-1", "engine", "conductor")  # first writer wins: an owner never changes
    await store.close()
    assert sorted(p.name for p in (tmp_path / "data").glob("*.sqlite")) == []  # no side file any more
    store = SQLiteStore(tmp_path / "data" / "gw.db")
    await store.open()
    again = RunRegistry(store)
    await again.open()
    try:
        assert await again.owner("e-1", None) == "canary"
        assert await again.owner("e-2", None) is None
        assert again.may_own_elsewhere("engine") and not again.may_own_elsewhere("canary")
    finally:
        await store.close()


@pytest.mark.postgres
async def test_postgres_registry_is_shared_between_replicas():
    schema = create_schema()
    one, two = pg_store(schema), pg_store(schema)
    eid = f"e-{uuid.uuid4()}"
    try:
        await one.open()
        await two.open()
        a, b = RunRegistry(one), RunRegistry(two)
        await a.open()
        await b.open()
        assert b.may_own_elsewhere("engine")  # another replica may have recorded any id
        assert await b.owner(eid, None) is None
        await a.record(eid, "cognite-prod", "cognite")
        assert await b.owner(eid, None) == "cognite-prod"
    finally:
        await one.close()
        await two.close()
        drop_schema(schema)


async def test_the_side_file_of_earlier_versions_is_imported_once(tmp_path):
    """Before the persistence home the embedded store kept the registry in ``<stem>.runs.sqlite``."""
    import sqlite3

    with sqlite3.connect(tmp_path / "gw.runs.sqlite") as old:
        old.execute("CREATE TABLE run_registry (execution_id TEXT PRIMARY KEY, backend TEXT NOT NULL,"
                    " dialect TEXT NOT NULL DEFAULT '', created_at TEXT)")
        old.execute("INSERT INTO run_registry (execution_id, backend, dialect) VALUES ('e-old', 'canary', 'conductor')")
    store = SQLiteStore(tmp_path / "gw.db")
    await store.open()
    try:
        reg = RunRegistry(store)
        await reg.open()
        assert await reg.owner("e-old", "acme") == "canary"
        assert not (tmp_path / "gw.runs.sqlite").exists() and (tmp_path / "gw.runs.sqlite.imported").exists()
    finally:
        await store.close()
