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

    def __init__(self, store_settings: dict[str, Any], base_dir: Path) -> None:
        kind = store_settings.get("kind", "sqlite")
        self.kind = kind
        self._lock = threading.Lock()
        if kind == "postgres":
            import os

            import psycopg

            dsn = store_settings.get("dsn") or os.environ.get(store_settings.get("dsn_env") or "", "")
            self._pg = psycopg.connect(dsn, autocommit=False)
            self._sqlite = None
            self.location = base_dir
        else:
            path = Path(store_settings.get("path") or "wfgateway.db")
            if not path.is_absolute():
                path = base_dir / path
            path.parent.mkdir(parents=True, exist_ok=True)
            self.location = path.parent
            self.path = path
            self._sqlite = sqlite3.connect(str(path), timeout=30, check_same_thread=False, isolation_level=None)
            self._sqlite.execute("PRAGMA journal_mode=WAL")
            self._sqlite.execute("PRAGMA busy_timeout=30000")
            self._pg = None
        for statement in SCHEMA:
            self.execute(statement)

    def close(self) -> None:
        with self._lock:
            if self._sqlite is not None:
                self._sqlite.close()
            if self._pg is not None:
                self._pg.close()

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self._pg is not None else sql

    def execute(self, sql: str, args: Sequence[Any] = ()) -> int:
        """Run one statement in its own transaction; the number of rows it changed."""
        with self._lock:
            if self._sqlite is not None:
                try:
                    self._sqlite.execute("BEGIN IMMEDIATE")
                    cur = self._sqlite.execute(sql, tuple(args))
                    self._sqlite.execute("COMMIT")
                    return cur.rowcount
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

    def transaction(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """Run several statements as one transaction (all or nothing)."""
        with self._lock:
            if self._sqlite is not None:
                try:
                    self._sqlite.execute("BEGIN IMMEDIATE")
                    for sql, args in statements:
                        self._sqlite.execute(sql, tuple(args))
                    self._sqlite.execute("COMMIT")
                except sqlite3.IntegrityError as exc:
                    self._sqlite.execute("ROLLBACK")
                    raise Duplicate(str(exc)) from exc
                except BaseException:
                    if self._sqlite.in_transaction:
                        self._sqlite.execute("ROLLBACK")
                    raise
                return
            import psycopg

            try:
                with self._pg.cursor() as cur:
                    for sql, args in statements:
                        cur.execute(self._sql(sql), tuple(args))
                self._pg.commit()
            except psycopg.errors.UniqueViolation as exc:
                self._pg.rollback()
                raise Duplicate(str(exc)) from exc
            except BaseException:
                self._pg.rollback()
                raise

    async def atransaction(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        await asyncio.to_thread(self.transaction, statements)

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
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
