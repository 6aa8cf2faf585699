"""The router: picks, for every call, the backend that serves it (``Pipeline.select_backend``).

Order of decisions: operations a dialect keeps local (token endpoints) stay on the gateway; an
execution id the run registry knows goes to its owner, whatever today's routes say; otherwise the
first matching route picks (by weights and sticky key when it has them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from wfgateway.adapter import RouteKeyMapping
from wfgateway.config import Config, load_config
from wfgateway.core.errors import Unavailable
from wfgateway.engine.store.tables import StoreHome
from wfgateway.pipeline import Forwarding
from wfgateway.routing.keys import NO_KEYS, KeyReader
from wfgateway.routing.metrics import RoutingMetrics
from wfgateway.routing.registry import RunRegistry
from wfgateway.routing.state import RoutingState, bind, build_state
from wfgateway.routing.table import NoRoute

log = logging.getLogger("wfgateway.routing")

_SECTIONS_NEEDING_RESTART = ("server", "store", "dialects", "tasks", "caches")


class Router:
    """``route_keys``: each served dialect's Adapter.route_keys, by dialect name."""

    def __init__(self, config: Config, engine: Any, route_keys: Mapping[str, RouteKeyMapping],
                 home: StoreHome) -> None:
        self.config = config
        self.engine = engine
        self.metrics = RoutingMetrics()
        self.registry = RunRegistry(home, int(config.caches["run_owners"]))
        self.readers: dict[str, KeyReader] = {name: KeyReader(keys) for name, keys in route_keys.items()}
        self._generation = 1
        self.state: RoutingState = build_state(config, engine, self.metrics, self._generation)
        self._watcher: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self._reload_lock = asyncio.Lock()
        self._started = False
        self.loop: asyncio.AbstractEventLoop | None = None

    # -- the request path --------------------------------------------------------------------------
    async def select(self, target: Any, call: Any) -> Any:
        state = self.state  # one generation for the whole call
        dialect = target.dialect.name
        op = target.operation_id
        reader = self.readers.get(dialect)
        keys = NO_KEYS
        op_keys = None
        if reader is not None:
            op_keys = reader.operation(op)
            if op_keys is not None and op_keys.local:
                return bind(state, None, "engine" if "engine" in state.runtimes else _first_engine(state), dialect,
                            registry=self.registry, metrics=self.metrics, keys=self.readers)
            keys = reader.read(op, call)
        try:
            route = state.table.match(dialect, op, keys, call.principal.tenant, _LazyHeaders(call.request))
        except NoRoute as exc:
            raise Unavailable(f"no route in the gateway's config serves {dialect} {op}") from exc
        backend = route.choose(keys)
        if op_keys is not None and op_keys.split:
            # the handler splits the ids by owner (split()); it must run even when the route points
            # at a same-vendor upstream, so it gets a binding it can call, never a raw forwarder
            found = bind(state, route, backend, dialect, registry=self.registry, metrics=self.metrics,
                         keys=self.readers)
            if isinstance(found, Forwarding):
                found = bind(state, None, _first_engine(state), dialect, registry=self.registry,
                             metrics=self.metrics, keys=self.readers)
            return found
        if keys.execution_id is not None and self.registry.may_own_elsewhere(backend):
            owner = await self.registry.owner(keys.execution_id, call.principal.tenant)
            if owner is not None and owner != backend:
                if owner not in state.runtimes:
                    raise Unavailable(f"execution {keys.execution_id} belongs to backend {owner!r}, "
                                      "which is no longer configured")
                backend = owner
        return bind(state, route, backend, dialect, registry=self.registry, metrics=self.metrics, keys=self.readers)

    async def split(self, target: Any, call: Any, execution_ids: list[str]) -> list[tuple[Any, list[str]]]:
        """(binding, ids) groups of a bulk call: each id goes to the backend the run registry says
        owns it, an id it does not know to the backend the call's route picks.  A binding is a
        Backend for the handler or, for a same-vendor upstream, a Forwarding of the dialect's own
        request.  Group order follows the first appearance of each backend among the ids."""
        state = self.state
        dialect = target.dialect.name
        try:
            route = state.table.match(dialect, target.operation_id, NO_KEYS, call.principal.tenant,
                                      _LazyHeaders(call.request))
        except NoRoute as exc:
            raise Unavailable(f"no route in the gateway's config serves {dialect} {target.operation_id}") from exc
        default = route.choose(NO_KEYS)
        groups: dict[str, list[str]] = {}
        for execution_id in execution_ids:
            owner = (await self.registry.owner(execution_id, call.principal.tenant)
                     if self.registry.may_own_elsewhere(default) else None)
            name = owner if owner is not None and owner in state.runtimes else default
            groups.setdefault(name, []).append(execution_id)
        return [(bind(state, route if name == default else None, name, dialect, registry=self.registry,
                      metrics=self.metrics, keys=self.readers), ids) for name, ids in groups.items()]

    # -- lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()  # reloads from other threads run here
        await self.registry.open()
        self._started = True
        interval_ms = int(self.config.server.get("reload_interval_ms", 1000) or 0)
        if self.config.path is not None and interval_ms > 0:
            from wfgateway.routing.reload import watch_config

            self._watcher = asyncio.create_task(watch_config(self, self.config.path, interval_ms / 1000))
        from wfgateway.routing.reload import install_sighup

        install_sighup(self)

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        for task in list(self._closing):
            task.cancel()
        for transport in self.state.transports():
            await transport.close()
        await self.registry.close()

    async def readiness(self) -> dict[str, str]:
        """Upstream health for /readyz: each upstream backend's circuit state."""
        return {f"backend:{t.name}": t.circuit.state for t in self.state.transports()}

    # -- hot reload --------------------------------------------------------------------------------
    async def reload(self, config: Config) -> bool:
        """Swap in the routes and backends of ``config``; on any error keep the current ones."""
        async with self._reload_lock:
            old = self.state
            try:
                new = build_state(config, self.engine, self.metrics, old.generation + 1, previous=old)
            except Exception as exc:
                self.metrics.reloads.labels("refused").inc()
                log.error("config reload refused, keeping the current routes: %s", exc)
                return False
            changed = [s for s in _SECTIONS_NEEDING_RESTART if getattr(config, s) != getattr(self.config, s)]
            if changed:
                log.warning("config reload: changes to %s take effect only after a restart", ", ".join(changed))
            self.state = new
            self.config.routes, self.config.backends = config.routes, config.backends
            self.metrics.reloads.labels("applied").inc()
            kept = {id(t) for t in new.transports()}
            for transport in old.transports():
                if id(transport) not in kept:
                    self._close_later(transport, _longest_timeout_s(old))
            log.info("config reloaded: %d routes, %d backends (generation %d)", len(new.table.routes),
                     len(new.runtimes), new.generation)
            return True

    async def reload_file(self) -> bool:
        if self.config.path is None:
            log.error("config reload: the gateway was not started from a file")
            return False
        try:
            config = load_config(self.config.path)
        except Exception as exc:
            self.metrics.reloads.labels("refused").inc()
            log.error("config reload refused, keeping the current routes: %s", exc)
            return False
        for key, value in self.config.server_overrides.items():  # the command line still wins
            config.override_server(key, value)
        return await self.reload(config)

    def _close_later(self, transport: Any, limit_s: float) -> None:
        task = asyncio.get_running_loop().create_task(transport.drain_and_close(limit_s))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)


def _first_engine(state: RoutingState) -> str:
    for name, runtime in state.runtimes.items():
        if runtime.transport is None:
            return name
    raise Unavailable("no engine backend is configured for the gateway's own operations")


def _longest_timeout_s(state: RoutingState) -> float:
    longest = max([r.timeout_ms or 0 for r in state.table.routes] + [30_000])
    return longest / 1000 + 1


class _LazyHeaders:
    """Request headers, parsed only if a route matches on one."""

    __slots__ = ("_request",)

    def __init__(self, request: Any) -> None:
        self._request = request

    def get(self, name: str) -> str | None:
        return self._request.headers.get(name)
