"""The console's action history: who did what to which run, when, and what the vendor answered.

Each console action (and each refusal) is one row keyed by the run's id, shown in the run's history
on its page.  It lives beside the store like the run registry: its own SQLite file next to an SQLite
store (the engine's schema stays the engine's), a table in the same database for PostgreSQL (shared by
every replica).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

_PG_TABLE = "wfgateway_console_audit"


@dataclass(frozen=True)
class AuditEntry:
    execution_id: str
    tenant: str
    at_ms: int
    subject: str  # who (the console login's subject)
    action: str
    dialect: str  # whose operation carried it out
    outcome: str  # "done" or "refused"
    detail: str  # the vendor's refusal, or the run the action made

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def now_ms() -> int:
    return int(time.time() * 1000)


class AuditLog(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def record(self, entry: AuditEntry) -> None: ...

    async def history(self, execution_id: str, tenant: str) -> list[AuditEntry]:
        """The run's entries, oldest first (only those recorded for ``tenant``)."""


_COLUMNS = "execution_id, tenant, at_ms, subject, action, dialect, outcome, detail"


class SqliteAudit:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None

    async def open(self) -> None:
        if self._db is not None:
            return
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False, timeout=5.0)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE IF NOT EXISTS console_audit (execution_id TEXT NOT NULL, tenant TEXT NOT NULL,"
                   " at_ms INTEGER NOT NULL, subject TEXT NOT NULL, action TEXT NOT NULL, dialect TEXT NOT NULL,"
                   " outcome TEXT NOT NULL, detail TEXT NOT NULL)")
        db.execute("CREATE INDEX IF NOT EXISTS console_audit_run ON console_audit (execution_id, at_ms)")
        self._db = db

    async def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    async def record(self, entry: AuditEntry) -> None:
        await self.open()
        assert self._db is not None
        self._db.execute(f"INSERT INTO console_audit ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         tuple(asdict(entry).values()))

    async def history(self, execution_id: str, tenant: str) -> list[AuditEntry]:
        await self.open()
        assert self._db is not None
        rows = self._db.execute(f"SELECT {_COLUMNS} FROM console_audit WHERE execution_id = ? AND tenant = ?"
                                " ORDER BY at_ms, rowid", (execution_id, tenant)).fetchall()
        return [AuditEntry(*row) for row in rows]


class PostgresAudit:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._pool: Any = None
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        async with self._lock:
            if self._pool is not None:
                return
            from psycopg_pool import AsyncConnectionPool

            pool = AsyncConnectionPool(self.dsn, min_size=1, max_size=2, open=False, kwargs={"autocommit": True})
            await pool.open(wait=True, timeout=10)
            async with pool.connection() as conn:
                await conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {_PG_TABLE} (execution_id TEXT NOT NULL, tenant TEXT NOT NULL,"
                    " at_ms BIGINT NOT NULL, subject TEXT NOT NULL, action TEXT NOT NULL, dialect TEXT NOT NULL,"
                    " outcome TEXT NOT NULL, detail TEXT NOT NULL, seq BIGSERIAL)")
                await conn.execute(f"CREATE INDEX IF NOT EXISTS {_PG_TABLE}_run ON {_PG_TABLE} (execution_id, at_ms)")
            self._pool = pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def record(self, entry: AuditEntry) -> None:
        await self.open()
        async with self._pool.connection() as conn:
            await conn.execute(f"INSERT INTO {_PG_TABLE} ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                               tuple(asdict(entry).values()))

    async def history(self, execution_id: str, tenant: str) -> list[AuditEntry]:
        await self.open()
        async with self._pool.connection() as conn:
            cur = await conn.execute(f"SELECT {_COLUMNS} FROM {_PG_TABLE} WHERE execution_id = %s AND tenant = %s"
                                     " ORDER BY at_ms, seq", (execution_id, tenant))
            rows = await cur.fetchall()
        return [AuditEntry(*row) for row in rows]


def audit_for_store(store: dict[str, Any], base_dir: Path) -> AuditLog:
    """The history that lives beside (SQLite) or inside (PostgreSQL) the configured store."""
    if store.get("kind") == "postgres":
        dsn = store.get("dsn") or os.environ.get(str(store.get("dsn_env") or ""), "")
        if not dsn:
            raise ValueError("store.dsn_env names an empty environment variable")
        return PostgresAudit(dsn)
    raw = str(store.get("path") or "wfgateway.db")
    if raw == ":memory:":
        return SqliteAudit(Path(":memory:"))
    store_path = Path(raw) if Path(raw).is_absolute() else base_dir / raw
    return SqliteAudit(store_path.with_name(store_path.stem + ".console.sqlite"))
