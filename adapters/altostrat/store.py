"""The Altostrat dialect's own tables: vault items, authorizations, webhook tokens, idempotency keys
(and the schedules of schedules.py).

They live in the engine's store -- the persistence home (engine/store/tables.py): the same SQLite
file or PostgreSQL database, its connections, its waits and its migration ledger -- under
``altostrat_*`` names.  Statements use ``?`` placeholders; each call is one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

from wfgateway.engine.store.base import DuplicateKey as Duplicate
from wfgateway.engine.store.tables import StoreHome, Tables

__all__ = ["SCHEMA", "Duplicate", "Tables", "create_tables"]

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS altostrat_vault (
        id TEXT PRIMARY KEY, tenant TEXT NOT NULL, name TEXT NOT NULL, ciphertext TEXT NOT NULL,
        created_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL, expires_ms BIGINT,
        UNIQUE (tenant, name))""",
    """CREATE TABLE IF NOT EXISTS altostrat_authorizations (
        id TEXT PRIMARY KEY, tenant TEXT NOT NULL, user_id TEXT, email TEXT, provider TEXT,
        status TEXT NOT NULL, created_ms BIGINT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS altostrat_webhooks (
        token_hash TEXT PRIMARY KEY, tenant TEXT NOT NULL, workflow_id TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS altostrat_idempotency (
        tenant TEXT NOT NULL, key TEXT NOT NULL, workflow_id TEXT NOT NULL, run_id TEXT NOT NULL,
        created_ms BIGINT NOT NULL, PRIMARY KEY (tenant, key))""",
    "CREATE INDEX IF NOT EXISTS altostrat_webhooks_wf ON altostrat_webhooks (tenant, workflow_id)",
]


def create_tables(home: StoreHome, extra_schema: Sequence[str] = ()) -> Tables:
    """The dialect's tables (``IF NOT EXISTS``: a database from before the ledger keeps its rows)."""
    return Tables(home, "altostrat", [[*SCHEMA, *extra_schema]])
