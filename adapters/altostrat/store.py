"""The Altostrat dialect's own tables: vault items, authorizations, webhook tokens, idempotency keys.

They live in the engine's database (the same SQLite file, or the same PostgreSQL database) under
``altostrat_*`` names.  Each method is one transaction; SQLite calls run in a worker thread so the
event loop never blocks on the file.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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


class Duplicate(Exception):
    """A unique key already exists."""


class Tables:
    """Blocking SQL against SQLite or PostgreSQL; use the ``a*`` coroutines from handlers."""

    def __init__(self, store_settings: dict[str, Any], base_dir: Path, extra_schema: Sequence[str] = ()) -> None:
        """Nothing is opened or created until first use (``wfgateway check`` builds dialects too)."""
        self.kind = store_settings.get("kind", "sqlite")
        self._settings = store_settings
        self._schema = [*SCHEMA, *extra_schema]
        self._lock = threading.Lock()
        self._sqlite: sqlite3.Connection | None = None
        self._pg: Any = None
        self._opened = False
        if self.kind == "postgres":
            self.location = base_dir
        else:
            path = Path(store_settings.get("path") or "wfgateway.db")
            self.path = path if path.is_absolute() else base_dir / path
            self.location = self.path.parent

    def _open(self) -> None:
        """Connect and create the tables (called with the lock held)."""
        if self._opened:
            return
        if self.kind == "postgres":
            import os

            import psycopg

            s = self._settings
            dsn = s.get("dsn") or os.environ.get(s.get("dsn_env") or "", "")
            self._pg = psycopg.connect(dsn, autocommit=False)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), timeout=30, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._sqlite = conn
        self._opened = True
        for statement in self._schema:
            self._run([(statement, ())])

    def close(self) -> None:
        with self._lock:
            if self._sqlite is not None:
                self._sqlite.close()
            if self._pg is not None:
                self._pg.close()
            self._sqlite, self._pg, self._opened = None, None, False

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self._pg is not None else sql

    def _run(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> int:
        """Run ``statements`` as one transaction; the rows the last one changed (lock held)."""
        count = 0
        if self._sqlite is not None:
            try:
                self._sqlite.execute("BEGIN IMMEDIATE")
                for sql, args in statements:
                    count = self._sqlite.execute(sql, tuple(args)).rowcount
                self._sqlite.execute("COMMIT")
                return count
            except sqlite3.IntegrityError as exc:
                self._sqlite.execute("ROLLBACK")
                raise Duplicate(str(exc)) from exc
            except BaseException:
                if self._sqlite.in_transaction:
                    self._sqlite.execute("ROLLBACK")
                raise
        import psycopg

        try:
            with self._pg.cursor() as cur:
                for sql, args in statements:
                    cur.execute(self._sql(sql), tuple(args))
                    count = cur.rowcount
            self._pg.commit()
            return count
        except psycopg.errors.UniqueViolation as exc:
            self._pg.rollback()
            raise Duplicate(str(exc)) from exc
        except BaseException:
            self._pg.rollback()
            raise

    def execute(self, sql: str, args: Sequence[Any] = ()) -> int:
        """Run one statement in its own transaction; the number of rows it changed."""
        with self._lock:
            self._open()
            return self._run([(sql, args)])

    def transaction(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """Run several statements as one transaction (all or nothing)."""
        with self._lock:
            self._open()
            self._run(statements)

    async def atransaction(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        await asyncio.to_thread(self.transaction, statements)

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            self._open()
            if self._pg is not None and any(isinstance(a, str) and "\x00" in a for a in args):
                return []  # PostgreSQL text cannot hold NUL (it refuses the query): no row matches, as on SQLite
            if self._sqlite is not None:
                return list(self._sqlite.execute(sql, tuple(args)).fetchall())
            try:
                with self._pg.cursor() as cur:
                    cur.execute(self._sql(sql), tuple(args))
                    rows = cur.fetchall()
                self._pg.commit()
                return rows
            except BaseException:
                self._pg.rollback()
                raise

    async def aexecute(self, sql: str, args: Sequence[Any] = ()) -> int:
        return await asyncio.to_thread(self.execute, sql, args)

    async def aquery(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return await asyncio.to_thread(self.query, sql, args)
