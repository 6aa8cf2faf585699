"""Definition snapshots: the immutable definition body every execution runs, cached by content digest.

An execution stores only the digest of its definition's body; the body is written once (idempotently)
with the first unit of work that uses it.  The cache keeps the parsed definitions, so loading an
execution never parses its definition again; the body -> (digest, definition) map saves hashing the
same text (a hot definition started thousands of times) over and over.  Each map holds at most
``cache_size`` entries, least recently used dropped first (config.yaml caches.definitions): a
long-running gateway sees ever more distinct definitions, and an evicted one is read back from the store.
"""

from __future__ import annotations

import hashlib
from typing import Any

from wfgateway.core.errors import NotFound
from wfgateway.core.model import WorkflowDefinition
from wfgateway.engine.codec import definition_from_dict, definition_to_dict
from wfgateway.engine.store.base import Store
from wfgateway.engine.util import BoundedCache, dumps, loads
from wfgateway.engine.validation import validate_definition


def digest_of(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()[:32]


class Snapshots:
    def __init__(self, store: Store, cache_size: int = 512) -> None:
        self.store = store
        self._by_digest: BoundedCache[str, WorkflowDefinition] = BoundedCache(cache_size)
        self._stored: BoundedCache[str, bool] = BoundedCache(cache_size)  # digests known to be in the store
        self._by_body: BoundedCache[str, tuple[str, WorkflowDefinition]] = BoundedCache(cache_size)

    async def get(self, digest: str) -> WorkflowDefinition:
        """The definition an execution runs (NotFound if its snapshot row is missing)."""
        d = self._by_digest.get(digest)
        if d is None:
            body = await self.store.snapshot_get(digest)
            if body is None:
                raise NotFound(f"Definition snapshot {digest} is missing")
            d = definition_from_dict(loads(body))
            self._by_digest.put(digest, d)
            self._stored.put(digest, True)
        return d

    def of_body(self, body: str) -> tuple[str, WorkflowDefinition]:
        got = self._by_body.get(body)
        if got is None:
            digest = digest_of(body)
            d = self._by_digest.get(digest) or definition_from_dict(loads(body))
            self._by_digest.put(digest, d)
            got = (digest, d)
            self._by_body.put(body, got)
        return got

    def use(self, body: str, pending: list[tuple[str, str]]) -> tuple[str, WorkflowDefinition]:
        """(digest, definition) of ``body``; appends (digest, body) to ``pending`` (a unit of work's
        snapshot inserts) unless the snapshot is known to be stored."""
        digest, d = self.of_body(body)
        if digest not in self._stored:
            pending.append((digest, body))
            self._stored.put(digest, True)  # harmless if the commit fails: snapshot inserts are idempotent
        return digest, d

    async def stored_body(self, tenant: str, name: str, version: int | str | None) -> str:
        """The body of a stored definition (the latest version when ``version`` is None)."""
        body = await self.store.def_get(tenant, name, None if version is None else str(version))
        if body is None:
            what = f"{name}" if version is None else f"{name} version {version}"
            raise NotFound(f"No such workflow definition: {what}")
        return body

    async def child_body(self, tenant: str, params: dict[str, Any]) -> str:
        """The body a sub-workflow task runs: an inline ``params["definition"]`` (validated) or the
        stored definition ``params["name"]`` / ``params["version"]`` names."""
        inline = params.get("definition")
        if isinstance(inline, dict):
            d = definition_from_dict({"tenant": tenant, "version": 1, **inline})
            validate_definition(d)
            return dumps(definition_to_dict(d))
        return await self.stored_body(tenant, str(params.get("name")), params.get("version"))
