"""The vault: encrypted at rest, key handling, resolution, redaction."""

from __future__ import annotations

import os
import sqlite3
import stat

import pytest
from wfgateway.adapters.altostrat.store import create_tables
from wfgateway.adapters.altostrat.vault import KEY_FILE, Redactor, Vault, load_key

from tests.engine.pg import create_schema, drop_schema, pg_store
from wfgateway.core.errors import InvalidArgument, NotFound
from wfgateway.engine.store.sqlite import SQLiteStore

NOW = 1_700_000_000_000


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def tables(request, tmp_path):
    """The dialect's tables in the engine's store: SQLite, and PostgreSQL in a schema of its own."""
    schema = create_schema() if request.param == "postgres" else None
    store = SQLiteStore(tmp_path / "gw.db") if schema is None else pg_store(schema)
    await store.open()
    try:
        yield create_tables(store)
    finally:
        await store.close()
        if schema is not None:
            drop_schema(schema)


async def test_secrets_are_encrypted_at_rest_and_resolved_for_nodes(tables, tmp_path):
    vault = Vault(tables, load_key(None, tmp_path))
    item = await vault.create("org_1", "api_token", "plain-secret-value-42", None, NOW)
    assert item.id.startswith("vlt_")
    if tables.dialect == "sqlite":
        raw = (tmp_path / "gw.db").read_bytes() + (tmp_path / "gw.db-wal").read_bytes()
        assert b"plain-secret-value-42" not in raw
        rows = sqlite3.connect(tmp_path / "gw.db").execute("SELECT ciphertext FROM altostrat_vault").fetchall()
    else:
        rows = await tables.query("SELECT ciphertext FROM altostrat_vault")
    assert rows and "plain-secret-value-42" not in rows[0][0]
    assert await vault.resolve("org_1", "api_token") == "plain-secret-value-42"
    assert await vault.resolve("org_2", "api_token") is None  # organisations are separate
    assert await vault.resolve("org_1", "other") is None


async def test_generated_key_file_is_private_and_reused(tables, tmp_path):
    key = load_key(None, tmp_path)
    mode = stat.S_IMODE(os.stat(tmp_path / KEY_FILE).st_mode)
    assert mode == 0o600
    assert load_key(None, tmp_path) == key
    vault = Vault(tables, key)
    await vault.create("o", "n1x", "v", None, NOW)
    assert await Vault(tables, load_key(None, tmp_path)).resolve("o", "n1x") == "v"


async def test_key_from_environment_takes_precedence(tables, tmp_path, monkeypatch):
    monkeypatch.setenv("ALTO_VAULT_KEY", "correct horse battery staple")
    vault = Vault(tables, load_key("ALTO_VAULT_KEY", tmp_path))
    await vault.create("o", "abc", "v1", None, NOW)
    assert not (tmp_path / KEY_FILE).exists()
    other = Vault(tables, load_key(None, tmp_path))  # a different key cannot read it
    assert await other.resolve("o", "abc") is None
    assert await vault.resolve("o", "abc") == "v1"


async def test_expired_items_resolve_to_nothing(tables, tmp_path):
    vault = Vault(tables, load_key(None, tmp_path))
    await vault.create("o", "short", "v", NOW + 1000, NOW)
    assert await vault.resolve("o", "short", now_ms=NOW + 999) == "v"
    assert await vault.resolve("o", "short", now_ms=NOW + 1000) is None


async def test_crud_names_are_unique_per_org_and_api_keys_are_generated(tables, tmp_path):
    vault = Vault(tables, load_key(None, tmp_path))
    a = await vault.create("o", "dup", "1", None, NOW)
    with pytest.raises(InvalidArgument, match="already been taken"):
        await vault.create("o", "dup", "2", None, NOW)
    await vault.create("p", "dup", "3", None, NOW)
    key = await vault.create("o", "api-key:ci", None, None, NOW)
    assert key.api_key and key.api_key.startswith("wfk_")
    assert await vault.resolve("o", "api-key:ci") == key.api_key
    assert [i.name for i in await vault.list("o")] == ["dup", "api-key:ci"]
    updated = await vault.update("o", a.id, {"secret": "new", "name": "renamed"}, NOW + 5)
    assert updated.name == "renamed" and await vault.resolve("o", "renamed") == "new"
    await vault.delete("o", a.id)
    with pytest.raises(NotFound):
        await vault.get("o", a.id)
    with pytest.raises(NotFound):
        await vault.delete("p", key.id)  # another org's item


def test_redactor_scrubs_secret_values_everywhere():
    r = Redactor(["abc123", "zzzz"])
    assert r({"a": "x abc123 y", "b": ["zzzz", 1, None], "abc123": True}) == {
        "a": "x [REDACTED] y", "b": ["[REDACTED]", 1, None], "[REDACTED]": True}
    assert Redactor([])({"a": "abc123"}) == {"a": "abc123"}


def test_a_secret_too_short_to_tell_from_text_garbles_nothing():
    r = Redactor(["s", "ok", "abc"])
    assert r({"status": "ok", "body": "success abc"}) == {"status": "ok", "body": "success abc"}


def test_run_redaction_touches_only_what_nodes_produced():
    r = Redactor(["0000"])
    run = {"id": "fl_run_00000a", "status": "completed", "started_at": "2025-10-31T12:00:00.000000Z",
           "trigger_payload": {"k": "v0000"}, "error_message": "code 0000",
           "logs": [{"id": "fl_log_0000", "created_at": "2025-10-31T12:00:00.000000Z", "output": {"t": "10000"}}]}
    out = r.run(run)
    assert (out["id"], out["started_at"]) == ("fl_run_00000a", "2025-10-31T12:00:00.000000Z")
    assert out["trigger_payload"] == {"k": "v[REDACTED]"} and out["error_message"] == "code [REDACTED]"
    assert out["logs"][0]["id"] == "fl_log_0000" and out["logs"][0]["output"] == {"t": "1[REDACTED]"}
