"""A namespaced key-value table on the persistence home: ``<namespace>_kv (ns, k, v)``, JSON values.

For state that is read and written whole (a dialect's workflows, sessions, triggers): compare-and-set
instead of locks, ordered prefix scans for paging.  Keys compare bytewise on every store (PostgreSQL
uses the "C" collation), so pages are the same whichever store holds them.
"""

from __future__ import annotations

from typing import Any

from wfgateway.engine.store.tables import SideFile, StoreHome, Tables
from wfgateway.exact_json import dumps_text, loads_stored

_TOP = "\U0010ffff"  # sorts after every character a key may hold


def _dump(value: Any) -> str:
    return dumps_text(value, sort_keys=True)


class KeyValue:
    def __init__(self, home: StoreHome, namespace: str, side_file: str | None = None) -> None:
        """``side_file``: where an older version kept this table beside an SQLite store (SideFile.suffix)."""
        table = f"{namespace}_kv"
        postgres = home.dialect == "postgres"
        self.tables = Tables(home, namespace, [
            [f"CREATE TABLE IF NOT EXISTS {table} (ns TEXT NOT NULL, k TEXT NOT NULL, v TEXT NOT NULL,"
             " PRIMARY KEY (ns, k))"],
            # scans compare keys in the C collation on PostgreSQL (see prefix_range): this index serves them
            [f'CREATE INDEX IF NOT EXISTS {table}_c ON {table} (ns, k COLLATE "C")'] if postgres else [],
        ], [SideFile(side_file, table, table, ("ns", "k", "v"))] if side_file else [])
        k = 'k COLLATE "C"' if postgres else "k"
        self._get = f"SELECT v FROM {table} WHERE ns = ? AND k = ?"
        self._put = f"INSERT INTO {table} (ns, k, v) VALUES (?, ?, ?) ON CONFLICT (ns, k) DO UPDATE SET v = excluded.v"
        self._insert = f"INSERT INTO {table} (ns, k, v) VALUES (?, ?, ?) ON CONFLICT (ns, k) DO NOTHING"
        self._replace = f"UPDATE {table} SET v = ? WHERE ns = ? AND k = ? AND v = ?"
        self._delete = f"DELETE FROM {table} WHERE ns = ? AND k = ?"
        scan = f"SELECT k, v FROM {table} WHERE ns = ? AND {k} >= ? AND {k} < ? AND {k} > ? ORDER BY {k}"
        self._forward, self._backward = scan + " ASC LIMIT ?", scan + " DESC LIMIT ?"

    async def open(self) -> None:
        await self.tables.ready()

    async def close(self) -> None:
        """The home closes with the engine; nothing of the namespace's own to release."""

    async def get(self, ns: str, k: str) -> Any | None:
        if "\x00" in k:  # no stored key holds NUL (PostgreSQL text cannot): found nowhere, on any store
            return None
        rows = await self.tables.query(self._get, (ns, k))
        return loads_stored(rows[0][0]) if rows else None

    async def put(self, ns: str, k: str, value: Any) -> None:
        await self.tables.execute(self._put, (ns, k, _dump(value)))

    async def insert(self, ns: str, k: str, value: Any) -> bool:
        """Store ``value`` only if ``k`` is absent; False if it was there."""
        return await self.tables.execute(self._insert, (ns, k, _dump(value))) == 1

    async def replace(self, ns: str, k: str, expected: Any, value: Any) -> bool:
        """Compare-and-set: store ``value`` only if the stored value equals ``expected``."""
        if "\x00" in k:
            return False
        return await self.tables.execute(self._replace, (_dump(value), ns, k, _dump(expected))) == 1

    async def delete(self, ns: str, k: str) -> bool:
        if "\x00" in k:
            return False
        return await self.tables.execute(self._delete, (ns, k)) == 1

    async def scan(self, ns: str, prefix: str, *, after: str | None = None, limit: int = 1000,
                   reverse: bool = False) -> list[tuple[str, Any]]:
        """Rows whose key starts with ``prefix``, ordered by key, starting after ``after``."""
        low, high, past = prefix_range(prefix, after, reverse)
        rows = await self.tables.query(self._backward if reverse else self._forward, (ns, low, high, past, limit))
        return [(k, loads_stored(v)) for k, v in rows if k.startswith(prefix)]


def prefix_range(prefix: str, after: str | None, reverse: bool) -> tuple[str, str, str]:
    """``(low, high, past)`` of one scan: keys ``low <= k < high`` and ``k > past``, always inside the
    prefix whatever ``after`` (a cursor's key) says -- a cursor pointing past the prefix or before it
    narrows nothing outside it, so a crafted cursor never walks into another project's keys. Keys
    compare by code point (SQLite's BINARY and PostgreSQL's "C" collation order UTF-8 the same way)."""
    low, high, past = prefix, prefix + _TOP, ""
    if after is not None and "\x00" in after:  # no stored key holds NUL (PostgreSQL text cannot)
        return prefix, prefix, ""
    if after is not None:
        if reverse:
            high = min(high, after)
        else:
            past = after
    return low, high, past
