"""One persistence home: a component's own tables in the engine's database.

The run registry and each dialect's state (workflows, vault items, triggers...) live beside the
engine's tables, on the same connections (SQLite's event-loop connection, PostgreSQL's pool), so one
place waits out a busy or failing store, reconnects, migrates and reports health.  A component names
its namespace and its migrations; its tables are called ``<namespace>_...``.

SQL uses ``?`` placeholders and portable types (TEXT, BIGINT, INTEGER); the store translates them
for its driver.  Avoid a literal ``?`` or ``%`` in statements (bind such values as parameters).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from wfgateway import tracing
from wfgateway.engine.store.health import StoreHealth

Statement = tuple[str, Sequence[Any]]


@dataclass(frozen=True)
class SideFile:
    """A table an older version kept in its own SQLite file beside the store's (``<stem><suffix>``):
    copied into ``into`` once, when the namespace is first created, and the file renamed ``*.imported``."""

    suffix: str  # after the store file's stem; ``{ext}`` stands for the store file's extension
    table: str
    into: str
    columns: tuple[str, ...]  # copied by name; a column the old table lacks takes its default


class StoreHome(Protocol):
    """What a store offers the components that keep their tables in it."""

    dialect: str  # "sqlite" or "postgres": for the few statements that differ (collations)
    single_process: bool  # no other process shares the database
    health: StoreHealth  # fault episodes, for logs, /readyz and /metrics

    async def open(self) -> None:
        """Connect and migrate the engine's tables (idempotent)."""

    async def close(self) -> None: ...

    async def run_sql(self, statements: Sequence[Statement]) -> int:
        """Run ``statements`` as one transaction; the rows the last one changed.
        DuplicateKey on a unique violation, StoreUnavailable when the store cannot take it now."""

    async def fetch_sql(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    async def migrate(self, namespace: str, migrations: Sequence[Sequence[str]], side_files: Sequence[SideFile] = ()
                      ) -> int:
        """Apply the namespace's pending migrations (recorded in ``schema_version``); its version.
        An SQLite store imports ``side_files`` when it creates the namespace; PostgreSQL has none."""

    async def check(self) -> str:
        """``"ok"`` if the store takes a write now, else the reason (for /readyz)."""


class Tables:
    """A namespace's tables: migrated on first use, then plain statements on the home's connections."""

    def __init__(self, home: StoreHome, namespace: str, migrations: Sequence[Sequence[str]],
                 side_files: Sequence[SideFile] = ()) -> None:
        self.home = home
        self.namespace = namespace
        self.migrations = migrations
        self.side_files = side_files
        self._ready = False
        self._lock = asyncio.Lock()

    @property
    def dialect(self) -> str:
        return self.home.dialect

    async def ready(self) -> None:
        """Open the home and apply this namespace's migrations (once; later calls return at once)."""
        if self._ready:
            return
        async with self._lock:
            if not self._ready:
                await self.home.open()
                await self.home.migrate(self.namespace, self.migrations, self.side_files)
                self._ready = True

    async def execute(self, sql: str, args: Sequence[Any] = ()) -> int:
        """One statement in its own transaction; the rows it changed."""
        await self.ready()
        with tracing.span("store.transaction", {"wfgateway.namespace": self.namespace}):
            return await self.home.run_sql([(sql, args)])

    async def transaction(self, statements: Sequence[Statement]) -> int:
        """Several statements, all or nothing; the rows the last one changed."""
        await self.ready()
        with tracing.span("store.transaction", {"wfgateway.namespace": self.namespace}):
            return await self.home.run_sql(statements)

    async def query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        await self.ready()
        return await self.home.fetch_sql(sql, args)
