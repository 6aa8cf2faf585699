"""Versioned schema migrations (portable SQL shared by every store implementation).

One migration path for everything stored in the engine's database: the engine's own tables
(``MIGRATIONS``, namespace ``''``) and each namespace's tables (the run registry, each dialect's
state; see tables.py).  Each entry is applied once, in order, and recorded in ``schema_version``
under its namespace.  Never edit a released migration: append a new one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

ENGINE = ""  # the engine's own namespace in the ledger (rows written before namespaces existed)
LEDGER = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, namespace TEXT NOT NULL DEFAULT '')"
LEDGER_ADD_NAMESPACE = "ALTER TABLE schema_version ADD COLUMN namespace TEXT NOT NULL DEFAULT ''"
CURRENT = "SELECT MAX(version) FROM schema_version WHERE namespace = ?"


def pending(namespace: str, current: int | None, migrations: Sequence[Sequence[str]]
            ) -> list[tuple[str, tuple[Any, ...]]]:
    """The statements that bring ``namespace`` from version ``current`` to the last of ``migrations``,
    each migration followed by its ledger row (``?`` placeholders; run them in one transaction)."""
    out: list[tuple[str, tuple[Any, ...]]] = []
    for number, statements in enumerate(migrations, start=1):
        if number <= (current or 0):
            continue
        out.extend((statement, ()) for statement in statements)
        out.append(("INSERT INTO schema_version (version, namespace) VALUES (?, ?)", (number, namespace)))
    return out


MIGRATIONS: list[list[str]] = [
    # 1: the initial schema
    [
        """CREATE TABLE definitions (
            tenant TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL, vnum BIGINT,
            body TEXT NOT NULL, created_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL,
            PRIMARY KEY (tenant, name, version))""",
        "CREATE INDEX definitions_created ON definitions (tenant, created_ms)",
        "CREATE TABLE snapshots (hash TEXT PRIMARY KEY, body TEXT NOT NULL)",
        """CREATE TABLE executions (
            id TEXT PRIMARY KEY, tenant TEXT NOT NULL, name TEXT NOT NULL, def_version TEXT NOT NULL,
            status TEXT NOT NULL, input TEXT, output TEXT, variables TEXT, correlation_id TEXT,
            metadata TEXT, reason TEXT, parent_execution_id TEXT, parent_task_id TEXT, cloned_from TEXT,
            idempotency_key TEXT, dialect TEXT, priority INTEGER NOT NULL DEFAULT 0,
            created_ms BIGINT NOT NULL, started_ms BIGINT NOT NULL, ended_ms BIGINT NOT NULL,
            updated_ms BIGINT NOT NULL, last_retried_ms BIGINT NOT NULL, row_version BIGINT NOT NULL,
            def_hash TEXT NOT NULL, extra TEXT, next_seq BIGINT NOT NULL,
            deadline_ms BIGINT NOT NULL DEFAULT 0)""",
        "CREATE INDEX executions_tenant_created ON executions (tenant, created_ms, id)",
        "CREATE INDEX executions_name_created ON executions (tenant, name, created_ms, id)",
        "CREATE INDEX executions_correlation ON executions (tenant, correlation_id)",
        "CREATE INDEX executions_parent ON executions (parent_execution_id)",
        """CREATE UNIQUE INDEX executions_idempotency ON executions (tenant, idempotency_key)
            WHERE idempotency_key IS NOT NULL""",
        """CREATE TABLE attempts (
            key TEXT PRIMARY KEY, id TEXT NOT NULL, execution_id TEXT NOT NULL, tenant TEXT NOT NULL,
            ref TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL,
            seq BIGINT NOT NULL, attempt INTEGER NOT NULL, input TEXT, output TEXT, reason TEXT,
            worker_id TEXT, retried_from TEXT, retried INTEGER NOT NULL, visible INTEGER NOT NULL,
            parent_attempt_id TEXT, subworkflow_id TEXT, branch TEXT, poll_count INTEGER NOT NULL,
            scheduled_ms BIGINT NOT NULL, started_ms BIGINT NOT NULL, ended_ms BIGINT NOT NULL,
            updated_ms BIGINT NOT NULL, lease_until_ms BIGINT NOT NULL, callback_after_ms BIGINT NOT NULL,
            logs TEXT, extra TEXT, retry_base INTEGER NOT NULL, retry_pending INTEGER NOT NULL,
            spec TEXT, children TEXT, params TEXT)""",
        "CREATE INDEX attempts_execution ON attempts (execution_id, visible, seq)",
        "CREATE INDEX attempts_public_id ON attempts (id, visible)",
        """CREATE INDEX attempts_queue ON attempts (tenant, name, scheduled_ms)
            WHERE status = 'SCHEDULED' AND kind = 'worker' AND visible = 1""",
        """CREATE INDEX attempts_http_inflight ON attempts (status)
            WHERE kind = 'http' AND visible = 1 AND status IN ('SCHEDULED', 'IN_PROGRESS')""",
        """CREATE TABLE timers (
            id TEXT PRIMARY KEY, due_ms BIGINT NOT NULL, execution_id TEXT NOT NULL, attempt_key TEXT,
            kind TEXT NOT NULL, payload TEXT)""",
        "CREATE INDEX timers_due ON timers (due_ms)",
    ],
    # 2: the public-id index without ``visible``, so superseding an attempt does not rewrite it
    [
        "DROP INDEX attempts_public_id",
        "CREATE INDEX attempts_id ON attempts (id)",
    ],
    # 3: timers by execution, so removing an execution does not scan every pending timer
    [
        "CREATE INDEX timers_execution ON timers (execution_id)",
    ],
    # 4: one row /readyz writes to prove the store takes writes
    [
        "CREATE TABLE store_probe (id INTEGER PRIMARY KEY, at_ms BIGINT NOT NULL)",
    ],
    # 5: every search walks an index that covers its filters and its order (store/search.py): a status,
    # a correlation id or a parent leads, ``created_ms, id`` follow; these replace the two that did not
    [
        "DROP INDEX executions_correlation",
        "DROP INDEX executions_parent",
        "CREATE INDEX executions_name_status_created ON executions (tenant, name, status, created_ms, id)",
        "CREATE INDEX executions_version_status_created"
        " ON executions (tenant, name, def_version, status, created_ms, id)",
        "CREATE INDEX executions_status_created ON executions (tenant, status, created_ms, id)",
        "CREATE INDEX executions_name_correlation ON executions (tenant, name, correlation_id, created_ms, id)",
        "CREATE INDEX executions_correlation_created ON executions (tenant, correlation_id, created_ms, id)",
        "CREATE INDEX executions_parent_created ON executions (parent_execution_id, created_ms, id)",
    ],
    # 6: the runs one dialect created, newest first (the web console's dialect filter)
    [
        "CREATE INDEX executions_dialect_created ON executions (tenant, dialect, created_ms, id)",
    ],
    # 7: task searches (store/task_search.py): a task name or a status leads, ``scheduled_ms, key`` follow
    [
        "CREATE INDEX attempts_name_scheduled ON attempts (tenant, name, scheduled_ms, key)",
        "CREATE INDEX attempts_status_scheduled ON attempts (tenant, status, scheduled_ms, key)",
    ],
    # 8: a task search with no name or status filter reads the tenant's attempts in order
    [
        "CREATE INDEX attempts_tenant_scheduled ON attempts (tenant, scheduled_ms, key)",
    ],
    # 9: the runs of one dialect in one status, newest first (the web console's dialect and status filters)
    [
        "CREATE INDEX executions_dialect_status_created ON executions (tenant, dialect, status, created_ms, id)",
    ],
    # 10: the runs of one version of a workflow, newest first (Cognite's workflowFilters with a version and
    # no status): without it the walk reads every newer run of the workflow's other versions
    [
        "CREATE INDEX executions_version_created ON executions (tenant, name, def_version, created_ms, id)",
    ],
    # 11: poll limits (store/gates.py): one gate row per limited worker task name (its lock serializes the
    # name's gated claims; ``starts`` holds its recent claim times) and the name's IN_PROGRESS attempts
    [
        """CREATE TABLE task_gates (
            tenant TEXT NOT NULL, name TEXT NOT NULL, starts TEXT NOT NULL, PRIMARY KEY (tenant, name))""",
        """CREATE INDEX attempts_in_progress ON attempts (tenant, name)
            WHERE status = 'IN_PROGRESS' AND kind = 'worker' AND visible = 1""",
    ],
    # 12: task searches walk only visible attempts, and their totals read the index alone: a count of up to
    # 10,000 matches read each attempt's row to test ``visible`` (10 ms at 10^5 attempts).  Partial indexes
    # of the visible attempts, ``visible`` (implied) and a name search's status carried so nothing else is read
    [
        """CREATE INDEX attempts_visible_name_scheduled ON attempts (tenant, name, scheduled_ms, key, status, visible)
            WHERE visible = 1""",
        """CREATE INDEX attempts_visible_status_scheduled ON attempts (tenant, status, scheduled_ms, key, visible)
            WHERE visible = 1""",
        """CREATE INDEX attempts_visible_scheduled ON attempts (tenant, scheduled_ms, key, visible)
            WHERE visible = 1""",
        "DROP INDEX attempts_name_scheduled",
        "DROP INDEX attempts_status_scheduled",
        "DROP INDEX attempts_tenant_scheduled",
    ],
]
