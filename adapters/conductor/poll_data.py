"""Conductor's PollData (GET /api/tasks/queue/polldata, /polldata/all): per tenant, task type and
domain, the worker that polled last and when.

A poll only writes to memory (one dict entry); a background loop writes what changed to the
persistence home's ``conductor_polldata_kv`` table once a second (as the OSS server's poll-data write
cache does), so polling costs no store write.  Reads merge what is stored with what this process has
not written yet; another replica's polls show up within a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from wfgateway.engine.store.kv import KeyValue
from wfgateway.engine.store.tables import StoreHome

NAMESPACE = "conductor_polldata"
FLUSH_EVERY_S = 1.0
_SEP = "\x1f"  # between the task type and the domain in a key (no task type holds it)

log = logging.getLogger(__name__)


class PollDataStore:
    def __init__(self, home: StoreHome) -> None:
        self.kv = KeyValue(home, NAMESPACE)
        self._pending: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._loop_task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        await self.kv.open()
        self._loop_task = asyncio.create_task(self._flush_loop())

    async def close(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        with contextlib.suppress(Exception):
            await self.flush()

    def record(self, tenant: str, task_type: str, domain: str | None, worker_id: str | None) -> None:
        """A poll of ``task_type`` (in ``domain``) by ``worker_id`` happened now."""
        doc = {"queueName": task_type, "domain": domain or None, "workerId": worker_id,
               "lastPollTime": int(time.time() * 1000)}
        self._pending[(tenant, task_type, domain or "")] = {k: v for k, v in doc.items() if v is not None}

    async def flush(self) -> None:
        pending, self._pending = self._pending, {}
        for (tenant, task_type, domain), doc in pending.items():
            await self.kv.put(tenant, f"{task_type}{_SEP}{domain}", doc)

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY_S)
            try:
                await self.flush()
            except Exception:  # the store is unavailable now: the next polls are recorded again
                log.warning("conductor poll data not written", exc_info=True)

    async def of_type(self, tenant: str, task_type: str) -> list[dict[str, Any]]:
        """The PollData of one task type, one per domain (no domain first)."""
        return await self._read(tenant, f"{task_type}{_SEP}", lambda key: key[1] == task_type)

    async def everything(self, tenant: str) -> list[dict[str, Any]]:
        """Every task type's PollData, by queue name and domain."""
        return await self._read(tenant, "", lambda key: True)

    async def _read(self, tenant: str, prefix: str, wanted: Any) -> list[dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        after: str | None = None
        while True:
            rows = await self.kv.scan(tenant, prefix, after=after, limit=1000)
            found.update((k, v) for k, v in rows if isinstance(v, dict))
            if len(rows) < 1000:
                break
            after = rows[-1][0]
        for key, doc in list(self._pending.items()):
            if key[0] == tenant and wanted(key):
                stored = found.get(f"{key[1]}{_SEP}{key[2]}")
                if stored is None or int(stored.get("lastPollTime") or 0) <= doc["lastPollTime"]:
                    found[f"{key[1]}{_SEP}{key[2]}"] = doc
        return [found[k] for k in sorted(found)]
