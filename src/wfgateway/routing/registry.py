"""The run registry: which backend owns each execution that passed through the gateway.

Without it a later get, rerun, retry or cancel of an id would be routed by today's routes, and a
canary split or a route change would send it to a backend that never heard of it.  An id is written
once, when the call that created it succeeds, and never changes owner, so lookups may be cached.

Each id is recorded with the tenant that created it, and a lookup names the caller's tenant: another
tenant's id is unknown to the registry (the call is then routed by the caller's own routes and finds
nothing), so an id never steers a caller to a backend that only another tenant's routes reach.

It keeps its table in the engine's store (the persistence home, engine/store/tables.py): the same
SQLite file, or the same PostgreSQL database that every replica shares.
"""

from __future__ import annotations

from collections import OrderedDict

from wfgateway.engine.store.tables import SideFile, StoreHome, Tables

_CACHE_SIZE = 10_000  # config.yaml caches.run_owners
_MIGRATIONS = [
    # 1: the table as PostgreSQL deployments already have it (IF NOT EXISTS adopts theirs)
    ["CREATE TABLE IF NOT EXISTS wfgateway_run_registry (execution_id TEXT PRIMARY KEY, backend TEXT NOT NULL,"
     " dialect TEXT NOT NULL DEFAULT '')"],
    # 2: the tenant that created each id ('' for ids recorded before: they match every tenant)
    ["ALTER TABLE wfgateway_run_registry ADD COLUMN tenant TEXT NOT NULL DEFAULT ''"],
    # 3: a tenant's runs of one backend in id order (the console's upstream listing) without a scan
    ["CREATE INDEX IF NOT EXISTS wfgateway_run_registry_owner"
     " ON wfgateway_run_registry (backend, tenant, execution_id)"],
]


# the registry's lookups (tests/engine/test_search_plans.py checks each walks an index)
OWNER_SQL = "SELECT backend, tenant FROM wfgateway_run_registry WHERE execution_id = ?"
ELSEWHERE_SQL = ("SELECT execution_id, backend, dialect FROM wfgateway_run_registry WHERE backend = ?"
                 " AND tenant = ? AND execution_id > ? ORDER BY execution_id LIMIT ?")
NEXT_BACKEND_SQL = "SELECT MIN(backend) FROM wfgateway_run_registry WHERE backend > ?"

# where the embedded store kept the registry before it moved into the store's own file
_SIDE_FILE = SideFile(".runs.sqlite", "run_registry", "wfgateway_run_registry",
                      ("execution_id", "backend", "dialect", "tenant"))


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


class RunRegistry:
    """Owners of executions, cached in memory (owners never change)."""

    def __init__(self, home: StoreHome, cache_size: int = _CACHE_SIZE) -> None:
        """``cache_size``: how many executions' owners stay in memory."""
        self.tables = Tables(home, "wfgateway", _MIGRATIONS, [_SIDE_FILE])
        self._single_process = home.single_process
        self._cache = _Cache(cache_size)
        self._owners: set[str] = set()

    async def open(self) -> None:
        await self.tables.ready()
        if self._single_process:
            rows = await self.tables.query("SELECT DISTINCT backend FROM wfgateway_run_registry")
            self._owners = {row[0] for row in rows}

    async def close(self) -> None:
        """The home closes with the engine."""

    def may_own_elsewhere(self, backend: str) -> bool:
        """Could an id be owned by another backend than ``backend``?  With one process on the store the
        set of owners seen is complete, so the common case skips the lookup; with several, always."""
        if not self._single_process:
            return True
        return bool(self._owners) and (len(self._owners) > 1 or backend not in self._owners)

    async def owner(self, execution_id: str, tenant: str | None) -> str | None:
        """The backend that owns ``execution_id``, or None if the gateway never saw it -- or saw it
        for another tenant than ``tenant`` (ids recorded without one match every tenant).  ``tenant``
        is required so that no caller forgets it: None (any tenant) is only for bookkeeping, never
        for routing a caller's request."""
        cached = self._cache.get(execution_id)
        if cached is None:
            rows = await self.tables.query(OWNER_SQL, (execution_id,))
            if not rows:
                return None
            cached = (str(rows[0][0]), str(rows[0][1]))
            self._cache.put(execution_id, cached)
        return _visible(cached, tenant)

    async def dialect_of(self, execution_id: str, tenant: str) -> str | None:
        """The dialect whose call created the tenant's run ``execution_id`` (None if unknown to the tenant)."""
        rows = await self.tables.query(
            "SELECT dialect, tenant FROM wfgateway_run_registry WHERE execution_id = ?", (execution_id,))
        return str(rows[0][0]) if rows and (not rows[0][1] or rows[0][1] == tenant) else None

    async def known_elsewhere(self, tenant: str, local: frozenset[str], *, after: str = "",
                              limit: int = 25) -> list[tuple[str, str, str]]:
        """(execution id, backend, dialect) of the tenant's runs owned by backends not in ``local`` (the
        upstream vendors), in id order after ``after``: what the web console lists beside the engine's runs."""
        rows: list[tuple[str, str, str]] = []
        for backend in sorted(await self._backends() - local):  # one index walk per upstream, merged
            found = await self.tables.query(ELSEWHERE_SQL, (backend, tenant, after, limit))
            rows.extend((str(r[0]), str(r[1]), str(r[2])) for r in found)
        return sorted(rows)[:limit]

    async def _backends(self) -> set[str]:
        """The owners recorded so far: known in memory with one process on the store, else read from
        the owner index (one step per distinct backend, not per run)."""
        if self._single_process:
            return set(self._owners)
        owners: set[str] = set()
        last: str | None = ""
        while last is not None:
            found = await self.tables.query(NEXT_BACKEND_SQL, (last,))
            last = found[0][0] if found and found[0][0] is not None else None
            if last is not None:
                owners.add(str(last))
        return owners

    async def record(self, execution_id: str, backend: str, dialect: str = "", tenant: str = "") -> None:
        """Remember the owner and tenant of a new execution (first writer wins)."""
        inserted = await self.tables.execute(
            "INSERT INTO wfgateway_run_registry (execution_id, backend, dialect, tenant) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (execution_id) DO NOTHING",
            (execution_id, backend, dialect, tenant),
        )
        if inserted == 1:  # the cache only ever holds what the table holds
            self._cache.put(execution_id, (backend, tenant))
        self._owners.add(backend)
