"""Durable state of the Cognite dialect that the engine has no place for: workflows (the entity that
owns versions), sessions and their nonces, triggers and their run history.

A small namespaced key-value table, committed before a handler answers, in SQLite next to the
engine's own file (or in the same PostgreSQL database, so that several gateway replicas share it).
Keys start with the project, so one project never lists another's rows.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any, Protocol

import orjson

SEP = "\x1f"  # between the parts of a key; never part of a project name or a valid externalId


def key(*parts: str) -> str:
    return SEP.join(parts)


def prefix_range(prefix: str, after: str | None, reverse: bool) -> tuple[str, str, str]:
    """``(low, high, past)`` of one scan: keys ``low <= k < high`` and ``k > past``, always inside the
    prefix whatever ``after`` (a cursor's key) says -- a cursor pointing past the prefix or before it
    narrows nothing outside it, so a crafted cursor never walks into another project's keys. Keys
    compare by code point (SQLite's BINARY and PostgreSQL's "C" collation order UTF-8 the same way)."""
    low, high, past = prefix, prefix + "\U0010ffff", ""
    if after is not None and "\x00" in after:  # no stored key holds NUL (PostgreSQL text cannot)
        return prefix, prefix, ""
    if after is not None:
        if reverse:
            high = min(high, after)
        else:
            past = after
    return low, high, past


class KeyValue(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def get(self, ns: str, k: str) -> Any | None: ...

    async def put(self, ns: str, k: str, value: Any) -> None: ...

    async def insert(self, ns: str, k: str, value: Any) -> bool:
        """Store ``value`` only if ``k`` is absent; False if it was there."""

    async def replace(self, ns: str, k: str, expected: Any, value: Any) -> bool:
        """Compare-and-set: store ``value`` only if the stored value equals ``expected``."""

    async def delete(self, ns: str, k: str) -> bool: ...

    async def scan(self, ns: str, prefix: str, *, after: str | None = None, limit: int = 1000,
                   reverse: bool = False) -> list[tuple[str, Any]]:
        """Rows whose key starts with ``prefix``, ordered by key, starting after ``after``."""


def _dump(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


class SqliteKeyValue:
    """SQLite in WAL mode; each call is one short transaction on the event loop's thread."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._db: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        if self._db is not None:
            return
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA busy_timeout=5000")
        db.execute("CREATE TABLE IF NOT EXISTS cognite_kv (ns TEXT NOT NULL, k TEXT NOT NULL, v TEXT NOT NULL,"
                   " PRIMARY KEY (ns, k))")
        self._db = db

    async def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("state store is not open")
        return self._db

    async def get(self, ns: str, k: str) -> Any | None:
        row = self._conn().execute("SELECT v FROM cognite_kv WHERE ns=? AND k=?", (ns, k)).fetchone()
        return orjson.loads(row[0]) if row else None

    async def put(self, ns: str, k: str, value: Any) -> None:
        async with self._lock:
            self._conn().execute("INSERT INTO cognite_kv (ns, k, v) VALUES (?, ?, ?) "
                                 "ON CONFLICT (ns, k) DO UPDATE SET v=excluded.v", (ns, k, _dump(value)))

    async def insert(self, ns: str, k: str, value: Any) -> bool:
        async with self._lock:
            cur = self._conn().execute("INSERT OR IGNORE INTO cognite_kv (ns, k, v) VALUES (?, ?, ?)",
                                       (ns, k, _dump(value)))
            return cur.rowcount == 1

    async def replace(self, ns: str, k: str, expected: Any, value: Any) -> bool:
        async with self._lock:
            cur = self._conn().execute("UPDATE cognite_kv SET v=? WHERE ns=? AND k=? AND v=?",
                                       (_dump(value), ns, k, _dump(expected)))
            return cur.rowcount == 1

    async def delete(self, ns: str, k: str) -> bool:
        async with self._lock:
            cur = self._conn().execute("DELETE FROM cognite_kv WHERE ns=? AND k=?", (ns, k))
            return cur.rowcount == 1

    async def scan(self, ns: str, prefix: str, *, after: str | None = None, limit: int = 1000,
                   reverse: bool = False) -> list[tuple[str, Any]]:
        low, high, past = prefix_range(prefix, after, reverse)
        order = "DESC" if reverse else "ASC"
        sql = f"SELECT k, v FROM cognite_kv WHERE ns=? AND k>=? AND k<? AND k>? ORDER BY k {order} LIMIT ?"
        rows = self._conn().execute(sql, (ns, low, high, past, limit)).fetchall()
        return [(k, orjson.loads(v)) for k, v in rows if k.startswith(prefix)]


class PostgresKeyValue:
    """The same table in PostgreSQL (several replicas share it); one connection, calls serialised."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._conn: Any = None
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        import psycopg

        self._conn = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True)
        await self._conn.execute("CREATE TABLE IF NOT EXISTS cognite_kv (ns TEXT NOT NULL, k TEXT NOT NULL,"
                                 " v TEXT NOT NULL, PRIMARY KEY (ns, k))")
        try:  # scans compare keys in the C collation (see prefix_range): this index serves them
            await self._conn.execute('CREATE INDEX IF NOT EXISTS cognite_kv_c ON cognite_kv (ns, k COLLATE "C")')
        except (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateTable):
            pass  # another replica created it at the same moment

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def _run(self, sql: str, args: tuple[Any, ...]) -> Any:
        async with self._lock:
            return await self._conn.execute(sql, args)

    async def get(self, ns: str, k: str) -> Any | None:
        cur = await self._run("SELECT v FROM cognite_kv WHERE ns=%s AND k=%s", (ns, k))
        row = await cur.fetchone()
        return orjson.loads(row[0]) if row else None

    async def put(self, ns: str, k: str, value: Any) -> None:
        await self._run("INSERT INTO cognite_kv (ns, k, v) VALUES (%s, %s, %s) "
                        "ON CONFLICT (ns, k) DO UPDATE SET v=excluded.v", (ns, k, _dump(value)))

    async def insert(self, ns: str, k: str, value: Any) -> bool:
        cur = await self._run("INSERT INTO cognite_kv (ns, k, v) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                              (ns, k, _dump(value)))
        return cur.rowcount == 1

    async def replace(self, ns: str, k: str, expected: Any, value: Any) -> bool:
        cur = await self._run("UPDATE cognite_kv SET v=%s WHERE ns=%s AND k=%s AND v=%s",
                              (_dump(value), ns, k, _dump(expected)))
        return cur.rowcount == 1

    async def delete(self, ns: str, k: str) -> bool:
        cur = await self._run("DELETE FROM cognite_kv WHERE ns=%s AND k=%s", (ns, k))
        return cur.rowcount == 1

    async def scan(self, ns: str, prefix: str, *, after: str | None = None, limit: int = 1000,
                   reverse: bool = False) -> list[tuple[str, Any]]:
        low, high, past = prefix_range(prefix, after, reverse)
        order = "DESC" if reverse else "ASC"
        sql = (f'SELECT k, v FROM cognite_kv WHERE ns=%s AND k COLLATE "C" >= %s AND k COLLATE "C" < %s '
               f'AND k COLLATE "C" > %s ORDER BY k COLLATE "C" {order} LIMIT %s')
        cur = await self._run(sql, (ns, low, high, past, limit))
        return [(k, orjson.loads(v)) for k, v in await cur.fetchall() if k.startswith(prefix)]


def create_state(store: dict[str, Any], resolve: Any = None) -> KeyValue:
    """The dialect's state next to the engine's store (``store`` is config.yaml's ``store`` section)."""
    kind = (store or {}).get("kind", "sqlite")
    if kind == "postgres":
        return PostgresKeyValue(store["dsn"])
    path = str((store or {}).get("path") or ":memory:")
    if path == ":memory:":
        return SqliteKeyValue(":memory:")
    p = Path(resolve(path) if resolve else path)
    return SqliteKeyValue(p.with_name(p.stem + "-cognite" + (p.suffix or ".db")))
