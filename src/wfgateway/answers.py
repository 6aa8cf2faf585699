"""Rendered answers of executions that have not changed, kept per process.

A dialect renders a stored run (Conductor's Workflow JSON, say) from the execution the backend reads.
When the backend is ``VersionedReads`` (the embedded engine), the rendered bytes are kept under
(tenant, execution id, variant) together with the execution's stamp; the next read asks the backend
whether the stamp is still the stored one (one narrow read, nothing decoded) and answers the kept
bytes if so.  Every write to the run or one of its tasks, in any process sharing the store, changes
the stamp, so a kept answer is never served after a change; the tenant is part of the key and is
checked by the backend's read, so an answer never crosses tenants.  Bounded by bytes
(``caches.answers_kib``), least recently used out first; an answer larger than a quarter of the
bound is not kept.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable

from wfgateway.core.backend import Backend, VersionedReads, stamp_of
from wfgateway.core.errors import NotImplementedByBackend
from wfgateway.core.model import Execution

ENTRY_OVERHEAD = 256  # bytes of the key, the stamp and the slot, counted against the bound
Key = tuple[str, str, Hashable]  # (tenant, execution id, variant)


class AnswerCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max(int(max_bytes), 0)
        self.size = 0
        self._entries: OrderedDict[Key, tuple[tuple[int, int], bytes]] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self._kinds: dict[int, tuple[Backend, VersionedReads | None]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()
        self.size = 0

    def _versioned(self, backend: Backend) -> VersionedReads | None:
        """``backend`` as VersionedReads, or None; the Protocol check once per backend object (it costs
        a few microseconds, a tenth of a kept answer's whole path)."""
        known = self._kinds.get(id(backend))
        if known is None or known[0] is not backend:
            known = (backend, backend if isinstance(backend, VersionedReads) else None)
            self._kinds[id(backend)] = known
        return known[1]

    async def answer(self, backend: Backend, tenant: str, execution_id: str, variant: Hashable,
                     render: Callable[[Execution], bytes]) -> bytes:
        """``render`` of the execution as stored now, from the kept bytes when it has not changed.
        NotFound (and every other error) as ``backend.get``."""
        versioned = self._versioned(backend) if self.max_bytes else None
        if versioned is None:  # no cache, or a backend that cannot tell (an upstream vendor)
            return render(await backend.get(execution_id, tenant=tenant))
        read = versioned.get_if_changed
        key: Key = (tenant, execution_id, variant)
        entry = self._entries.get(key)
        try:
            execution = await read(execution_id, entry[0] if entry is not None else None, tenant=tenant)
        except NotImplementedByBackend:  # a stand-in that refuses every call: let ``get`` say so
            return render(await backend.get(execution_id, tenant=tenant))
        if execution is None and entry is not None:
            self.hits += 1
            self._entries.move_to_end(key)
            return entry[1]
        if execution is None:  # a backend that answered "unchanged" to nothing known: read it plainly
            execution = await backend.get(execution_id, tenant=tenant)
        self.misses += 1
        body = render(execution)
        self._keep(key, stamp_of(execution), body)
        return body

    def _keep(self, key: Key, stamp: tuple[int, int], body: bytes) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self.size -= len(old[1]) + ENTRY_OVERHEAD
        if (len(body) + ENTRY_OVERHEAD) * 4 > self.max_bytes:
            return
        self._entries[key] = (stamp, body)
        self.size += len(body) + ENTRY_OVERHEAD
        while self.size > self.max_bytes:
            _, (_, dropped) = self._entries.popitem(last=False)
            self.size -= len(dropped) + ENTRY_OVERHEAD
