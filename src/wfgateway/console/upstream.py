"""Runs the gateway sent to upstream vendors: what the run registry knows, read back through each
upstream backend's client half (the same Backend the routed API calls use)."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from wfgateway.core.backend import Backend
from wfgateway.core.errors import GatewayError
from wfgateway.core.model import Execution

LOOKUP_TIMEOUT_S = 5.0


class Registry(Protocol):
    async def owner(self, execution_id: str, tenant: str | None) -> str | None: ...

    async def dialect_of(self, execution_id: str, tenant: str) -> str | None: ...

    async def known_elsewhere(self, tenant: str, local: frozenset[str], *, after: str = "",
                              limit: int = 25) -> list[tuple[str, str, str]]: ...


class Routing(Protocol):
    """What the console reads of the gateway's router: its registry and its current backends."""

    registry: Registry
    state: Any  # RoutingState: runtimes by backend name (each with ``transport`` and ``client``)


class UpstreamRuns:
    def __init__(self, routing: Routing) -> None:
        self.routing = routing

    def _local(self) -> frozenset[str]:
        return frozenset(name for name, r in self.routing.state.runtimes.items() if r.transport is None)

    def client(self, backend: str) -> Backend | None:
        runtime = self.routing.state.runtimes.get(backend)
        return None if runtime is None or runtime.transport is None else runtime.client

    async def owner(self, execution_id: str, tenant: str) -> str | None:
        """The upstream backend that owns the run, or None (the engine's, or unknown)."""
        backend = await self.routing.registry.owner(execution_id, tenant)
        return backend if backend is not None and self.client(backend) is not None else None

    async def get(self, backend: str, execution_id: str, tenant: str, include_history: bool) -> Execution:
        """The run as its upstream holds it, labelled with the dialect that started it here (the
        upstream knows only its own)."""
        client = self.client(backend)
        if client is None:
            raise LookupError(f"backend {backend!r} is no longer configured")
        run = await asyncio.wait_for(client.get(execution_id, tenant=tenant, include_history=include_history),
                                     LOOKUP_TIMEOUT_S)
        run.dialect = await self.routing.registry.dialect_of(execution_id, tenant) or run.dialect
        return run

    async def page(self, tenant: str, after: str, limit: int
                   ) -> tuple[list[tuple[str, str, str, Execution | str]], str | None]:
        """A page of the tenant's upstream runs: (id, backend, dialect, the run or why it cannot be read)."""
        rows = await self.routing.registry.known_elsewhere(tenant, self._local(), after=after, limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]

        async def read(run_id: str, backend: str) -> Execution | str:
            try:
                return await self.get(backend, run_id, tenant, False)
            except GatewayError as exc:
                return exc.message
            except (TimeoutError, LookupError, OSError) as exc:
                return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__

        runs = await asyncio.gather(*(read(r[0], r[1]) for r in rows))
        return [(r[0], r[1], r[2], run) for r, run in zip(rows, runs, strict=True)], (rows[-1][0] if more else None)
