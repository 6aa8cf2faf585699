"""PostgreSQL's run-count folding (counts.py): the +1/-1 changes its triggers append are added to the
counts every second by one replica at a time, and once more when a healthy store closes.

Kept apart from ``PostgresStore``'s queries: this is a background job with its own lock and schedule,
given only a way to borrow a connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import psycopg
from psycopg import AsyncConnection

from wfgateway.engine.store import counts
from wfgateway.engine.store.base import StoreError

Connect = Callable[[], AbstractAsyncContextManager[AsyncConnection[Any]]]


class CountFolder:
    def __init__(self, connect: Connect, schema: str | None) -> None:
        self._connect = connect
        self._lock = f"wfgateway.fold-counts:{schema or ''}"
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._forever())

    async def stop(self, fold_once_more: bool) -> None:
        """Stop folding; ``fold_once_more`` (a healthy store) leaves the next opener no changes to read."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if fold_once_more:
            with contextlib.suppress(StoreError, psycopg.Error):
                await self.fold()

    async def fold(self) -> None:
        """Add the pending changes to the counts (and the counts by day), unless another replica is doing it
        right now; then vacuum the changes tables, whose rows live a second: left to autovacuum (once a minute at best) a
        total would step over a minute of dead rows (after a bulk load of 10^6 runs, 90 ms of them)."""
        async with self._connect() as conn:
            async with conn.transaction():
                cur = await conn.execute("SELECT pg_try_advisory_xact_lock(hashtext(%s))", (self._lock,))
                row = await cur.fetchone()
                if row is None or not row[0]:
                    return
                emptied = [table for fold, table in counts.FOLDS if (await conn.execute(fold)).rowcount]
            for table in emptied:
                await conn.execute(f"VACUUM {table}")

    async def _forever(self) -> None:
        """Fold every second, waiting for a connection like any call (skipping folds while the pool is busy
        let a bulk load leave 10^5 changes for every total to read); a database that is down is the
        calls' to report."""
        while True:
            await asyncio.sleep(counts.FOLD_EVERY_S)
            with contextlib.suppress(StoreError, psycopg.Error):
                await self.fold()
