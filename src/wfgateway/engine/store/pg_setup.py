"""PostgreSQL connection settings and schema migrations for ``PostgresStore``.

Kept apart from the store's queries: this is the once-per-start work (building the conninfo with the
schema on the search_path, creating that schema, applying ``schema.MIGRATIONS`` under an advisory lock
so two gateway replicas starting together never migrate twice).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from wfgateway.engine.store import counts
from wfgateway.engine.store.schema import CURRENT, ENGINE, LEDGER, MIGRATIONS, pending

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class InvalidSchemaName(ValueError):
    pass


def check_schema(schema: str | None) -> str | None:
    """Schema names are plain lower-case identifiers, so they need no quoting in ``search_path``."""
    if schema is None:
        return None
    if not _SCHEMA_NAME.match(schema):
        raise InvalidSchemaName(
            f"PostgreSQL schema name '{schema}' must be lower-case letters, digits and '_' (at most 63)"
        )
    return schema


def conninfo_for(dsn: str, schema: str | None) -> str:
    """The DSN with ``-c search_path=<schema>`` added to its ``options`` (kept: options already there)."""
    if schema is None:
        return dsn
    existing = conninfo_to_dict(dsn).get("options") or ""
    options = f"{existing} -c search_path={schema}".strip()
    return make_conninfo(dsn, options=options)


async def migrate(dsn: str, schema: str | None, connect_timeout_s: float) -> int:
    """Create the schema if needed and apply the engine's pending migrations (and the run counts', which
are PostgreSQL's own SQL); the engine's resulting version."""
    conn = await psycopg.AsyncConnection.connect(
        conninfo_for(dsn, schema), autocommit=True, connect_timeout=max(int(connect_timeout_s), 1)
    )
    try:
        version = await apply_migrations(conn, schema, ENGINE, MIGRATIONS)
        await apply_migrations(conn, schema, counts.NAMESPACE, counts.PG_MIGRATIONS)
        return version
    finally:
        await conn.close()


async def apply_migrations(conn: psycopg.AsyncConnection[Any], schema: str | None, namespace: str,
                           migrations: Sequence[Sequence[str]]) -> int:
    """One namespace's pending migrations in one transaction, under an advisory lock so replicas
    starting together never migrate twice (``conn`` is in autocommit mode)."""
    async with conn.transaction():
        lock_name = f"wfgateway.migrate:{schema or ''}:{namespace}"
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (lock_name,))
        if schema is not None:
            await conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        await conn.execute(LEDGER)
        await conn.execute("ALTER TABLE schema_version ADD COLUMN IF NOT EXISTS namespace TEXT NOT NULL DEFAULT ''")
        cur = await conn.execute(placeholders(CURRENT), (namespace,))  # type: ignore[arg-type]
        row = await cur.fetchone()
        current = (row[0] if row else None) or 0
        for statement, args in pending(namespace, current, migrations):
            await conn.execute(placeholders(statement), args)  # type: ignore[arg-type]  # our own SQL
        return max(current, len(migrations))


def placeholders(statement: str) -> str:
    """Portable ``?`` placeholders as psycopg's ``%s``."""
    return statement.replace("?", "%s")


def where(dsn: str) -> str:
    """host:port/dbname of a DSN, for messages (never its password)."""
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "the configured PostgreSQL database"
    return f"postgresql://{parts.get('host') or 'localhost'}:{parts.get('port') or 5432}/{parts.get('dbname') or ''}"


async def drop_schema(dsn: str, schema: str) -> None:
    """Drop a schema and everything in it (test isolation, benchmarks)."""
    check_schema(schema)
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
