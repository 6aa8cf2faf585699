"""The run registry: which backend owns each execution that passed through the gateway.

Without it a later get, rerun, retry or cancel of an id would be routed by today's routes, and a
canary split or a route change would send it to a backend that never heard of it.  An id is written
once, when the call that created it succeeds, and never changes owner, so lookups may be cached.

SQLite (the embedded store): its own file beside the store's, so the engine's schema stays the
engine's.  PostgreSQL (several replicas): a table in the store's database, shared by all replicas.

Each id is recorded with the tenant that created it, and a lookup names the caller's tenant: another
tenant's id is unknown to the registry (the call is then routed by the caller's own routes and finds
nothing), so an id never steers a caller to a backend that only another tenant's routes reach.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections import OrderedDict
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger("wfgateway.routing")

_CACHE_SIZE = 10_000  # config.yaml caches.run_owners
_PG_TABLE = "wfgateway_run_registry"


class RunRegistry(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def owner(self, execution_id: str, tenant: str | None) -> str | None:
        """The backend that owns ``execution_id``, or None if the gateway never saw it -- or saw it
        for another tenant than ``tenant`` (ids recorded without one match every tenant).  ``tenant``
        is required so that no caller forgets it: None (any tenant) is only for bookkeeping, never
        for routing a caller's request."""

    async def record(self, execution_id: str, backend: str, dialect: str = "", tenant: str = "") -> None:
        """Remember the owner and tenant of a new execution (first writer wins)."""


def _visible(row: tuple[str, str], tenant: str | None) -> str | None:
    backend, owner_tenant = row
    return backend if tenant is None or not owner_tenant or owner_tenant == tenant else None


class _Cache:
    """A bounded LRU of known (owner, tenant) pairs (they never change, so entries never go stale)."""

    def __init__(self, size: int = _CACHE_SIZE) -> None:
        self._items: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._size = size

    def get(self, key: str) -> tuple[str, str] | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: str, value: tuple[str, str]) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self._size:
            self._items.popitem(last=False)


class SqliteRegistry:
    """An SQLite file (WAL); lookups are single-row primary-key reads, cheap enough inline."""

    def __init__(self, path: Path, cache_size: int = _CACHE_SIZE) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._cache = _Cache(cache_size)
        self._owners: set[str] = set()

    async def open(self) -> None:
        if self._db is not None:
            return
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False, timeout=5.0)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(
            "CREATE TABLE IF NOT EXISTS run_registry (execution_id TEXT PRIMARY KEY, backend TEXT NOT NULL,"
            " dialect TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,"
            " tenant TEXT NOT NULL DEFAULT '')"
        )
        if "tenant" not in {row[1] for row in db.execute("PRAGMA table_info(run_registry)")}:
            db.execute("ALTER TABLE run_registry ADD COLUMN tenant TEXT NOT NULL DEFAULT ''")
        self._owners = {row[0] for row in db.execute("SELECT DISTINCT backend FROM run_registry")}
        self._db = db

    def may_own_elsewhere(self, backend: str) -> bool:
        """Could an id be owned by another backend than ``backend``?  (One process owns an SQLite
        store, so the set of owners seen is complete and the common case skips the lookup.)"""
        return bool(self._owners) and (len(self._owners) > 1 or backend not in self._owners)

    async def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("run registry is not open")
        return self._db

    async def owner(self, execution_id: str, tenant: str | None) -> str | None:
        cached = self._cache.get(execution_id)
        if cached is not None:
            return _visible(cached, tenant)
        row = self._conn().execute(
            "SELECT backend, tenant FROM run_registry WHERE execution_id = ?", (execution_id,)
        ).fetchone()
        if row is None:
            return None
        self._cache.put(execution_id, (row[0], row[1]))
        return _visible((row[0], row[1]), tenant)

    async def record(self, execution_id: str, backend: str, dialect: str = "", tenant: str = "") -> None:
        cur = self._conn().execute(
            "INSERT OR IGNORE INTO run_registry (execution_id, backend, dialect, tenant) VALUES (?, ?, ?, ?)",
            (execution_id, backend, dialect, tenant),
        )
        if cur.rowcount == 1:  # first writer wins; the cache only ever holds what the table holds
            self._cache.put(execution_id, (backend, tenant))
        self._owners.add(backend)


class PostgresRegistry:
    """A table in the store's PostgreSQL database, shared by every gateway replica."""

    def __init__(self, dsn: str, pool_size: int = 4, cache_size: int = _CACHE_SIZE) -> None:
        self.dsn = dsn
        self.pool_size = pool_size
        self._pool: Any = None
        self._cache = _Cache(cache_size)
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        async with self._lock:
            if self._pool is not None:
                return
            from psycopg_pool import AsyncConnectionPool

            pool = AsyncConnectionPool(self.dsn, min_size=1, max_size=self.pool_size, open=False,
                                       kwargs={"autocommit": True})
            await pool.open(wait=True, timeout=10)
            async with pool.connection() as conn:
                await conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {_PG_TABLE} (execution_id TEXT PRIMARY KEY, backend TEXT NOT NULL,"
                    " dialect TEXT NOT NULL DEFAULT '', created_at TIMESTAMPTZ NOT NULL DEFAULT now(),"
                    " tenant TEXT NOT NULL DEFAULT '')"
                )
                await conn.execute(f"ALTER TABLE {_PG_TABLE} ADD COLUMN IF NOT EXISTS tenant TEXT NOT NULL DEFAULT ''")
            self._pool = pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def owner(self, execution_id: str, tenant: str | None) -> str | None:
        cached = self._cache.get(execution_id)
        if cached is not None:
            return _visible(cached, tenant)
        if "\x00" in execution_id:  # PostgreSQL text cannot hold NUL: no such id was ever recorded
            return None
        if self._pool is None:
            await self.open()
        async with self._pool.connection() as conn:
            cur = await conn.execute(f"SELECT backend, tenant FROM {_PG_TABLE} WHERE execution_id = %s",
                                     (execution_id,))
            row = await cur.fetchone()
        if row is None:
            return None
        self._cache.put(execution_id, (row[0], row[1]))
        return _visible((row[0], row[1]), tenant)

    async def record(self, execution_id: str, backend: str, dialect: str = "", tenant: str = "") -> None:
        if self._pool is None:
            await self.open()
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                f"INSERT INTO {_PG_TABLE} (execution_id, backend, dialect, tenant) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (execution_id) DO NOTHING",
                (execution_id, backend, dialect, tenant),
            )
        if cur.rowcount == 1:
            self._cache.put(execution_id, (backend, tenant))


def registry_for_store(store: dict[str, Any], base_dir: Path, cache_size: int = _CACHE_SIZE) -> RunRegistry:
    """The registry that lives beside (SQLite) or inside (PostgreSQL) the configured store; it keeps
    the owners of up to ``cache_size`` executions in memory."""
    if store.get("kind") == "postgres":
        dsn = store.get("dsn") or os.environ.get(str(store.get("dsn_env") or ""), "")
        if not dsn:
            raise ValueError("store.dsn_env names an empty environment variable")
        return PostgresRegistry(dsn, cache_size=cache_size)
    raw = str(store.get("path") or "wfgateway.db")
    if raw == ":memory:":
        return SqliteRegistry(Path(":memory:"), cache_size)
    store_path = Path(raw)
    if not store_path.is_absolute():
        store_path = base_dir / store_path
    return SqliteRegistry(store_path.with_name(store_path.stem + ".runs.sqlite"), cache_size)
