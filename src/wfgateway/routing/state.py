"""One immutable generation of routing: the route table and the backends it points at.

A reload builds a whole new generation and swaps it in with one assignment, so a request sees
either the old routes and backends or the new ones, never a mix; requests in flight keep the
objects they already hold and finish on them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wfgateway.adapter import AdapterError, adapter_module, find_adapter
from wfgateway.backends.bound import BoundBackend, MissingClient
from wfgateway.backends.forward import Forwarder
from wfgateway.backends.settings import DEFAULT_ROUTE_TIMEOUT_MS, BackendSettings
from wfgateway.backends.transport import UpstreamTransport
from wfgateway.backends.upstream_credentials import CredentialsError, upstream_auth_for
from wfgateway.config import Config, ConfigError
from wfgateway.routing.table import Route, RouteTable

if TYPE_CHECKING:
    from wfgateway.routing.keys import KeyReader
    from wfgateway.routing.metrics import RoutingMetrics
    from wfgateway.routing.registry import RunRegistry

log = logging.getLogger("wfgateway.routing")


class RoutingConfigError(ConfigError):
    """backends/routes that parse but cannot be used (unset secret, unknown dialect)."""


@dataclass
class BackendRuntime:
    """A configured backend and what serves it: the engine, or an upstream transport (+ client half)."""

    settings: BackendSettings
    fingerprint: str
    transport: UpstreamTransport | None = None
    client: Any = None  # Backend for handler calls (engine or the adapter's client half)

    @property
    def name(self) -> str:
        return self.settings.name


@dataclass
class RoutingState:
    table: RouteTable
    runtimes: dict[str, BackendRuntime]
    generation: int
    _bindings: dict[tuple[int, str, str], Any] = field(default_factory=dict)

    def transports(self) -> list[UpstreamTransport]:
        return [r.transport for r in self.runtimes.values() if r.transport is not None]


def fingerprint(settings: BackendSettings) -> str:
    """What must be equal for a backend to be kept across a reload (its secrets' values included)."""
    env = {k: os.environ.get(str(v), "") for k, v in settings.credentials.items() if str(k).endswith("_env")}
    return repr((sorted(settings.raw.items(), key=lambda kv: kv[0]), sorted(env.items()),
                 settings.response_validation))  # the server's default may change it too


def build_state(config: Config, engine: Any, metrics: RoutingMetrics, generation: int,
                previous: RoutingState | None = None) -> RoutingState:
    """A new generation from ``config``; RoutingConfigError names the key that is wrong."""
    try:
        table = RouteTable.from_config(config.routes)
    except ValueError as exc:
        raise RoutingConfigError(str(exc), key="routes", path=str(config.path or "")) from exc
    kept = previous.runtimes if previous is not None else {}
    runtimes: dict[str, BackendRuntime] = {}
    for name, entry in config.backends.items():
        settings = BackendSettings.from_config(name, entry,
                                               default_validation=config.server.get("response_validation"))
        fp = fingerprint(settings)
        old = kept.get(name)
        if old is not None and old.fingerprint == fp:
            runtimes[name] = old
            continue
        runtimes[name] = _runtime(config, settings, fp, engine, metrics)
    return RoutingState(table=table, runtimes=runtimes, generation=generation)


def _runtime(config: Config, settings: BackendSettings, fp: str, engine: Any,
             metrics: RoutingMetrics) -> BackendRuntime:
    if not settings.is_upstream:
        return BackendRuntime(settings, fp, client=engine)
    key = f"backends.{settings.name}"
    try:
        adapter = find_adapter(adapter_module(config, settings.dialect))
    except AdapterError as exc:
        raise RoutingConfigError(str(exc), key=f"{key}.dialect", path=str(config.path or "")) from exc
    try:
        auth = upstream_auth_for(adapter.upstream_auth if adapter else None, settings.credentials, settings.raw)
    except CredentialsError as exc:
        raise RoutingConfigError(str(exc), key=f"{key}.credentials", path=str(config.path or "")) from exc
    transport = UpstreamTransport(settings, auth, metrics.circuit_changed)
    metrics.circuit_changed(settings.name, "closed")
    if adapter is None or adapter.client is None:  # raw forwarding only; cross-vendor calls are refused by name
        return BackendRuntime(settings, fp, transport=transport,
                              client=MissingClient(settings.name, settings.dialect, "its adapter has no client half"))
    try:
        client = adapter.client.create(settings, transport)
    except (ValueError, KeyError) as exc:
        raise RoutingConfigError(str(exc), key=key) from exc
    return BackendRuntime(settings, fp, transport=transport, client=client)


def bind(state: RoutingState, route: Route | None, backend: str, dialect: str, *, registry: RunRegistry,
         metrics: RoutingMetrics, keys: Mapping[str, KeyReader]) -> Any:
    """What serves calls of ``dialect`` on ``route`` at ``backend``: a Forwarder for a same-vendor
    upstream, else a BoundBackend for the dialect's handler.  Built once and cached."""
    index = route.index if route is not None else -1
    cache_key = (index, backend, dialect)
    found = state._bindings.get(cache_key)
    if found is not None:
        return found
    runtime = state.runtimes[backend]
    route_name = route.name if route is not None else "local"
    stats = metrics.stats(route_name, backend)
    timeout = route.timeout_ms if route is not None else None
    if runtime.transport is not None:
        timeout = timeout or DEFAULT_ROUTE_TIMEOUT_MS
        if runtime.settings.dialect == dialect:
            found = Forwarder(runtime.transport, timeout, stats, registry, keys.get(dialect),
                              runtime.settings.response_validation)
        else:
            found = BoundBackend(runtime.client, backend, stats, registry, dialect, timeout)
    else:
        found = BoundBackend(runtime.client, backend, stats, registry, dialect, timeout)
    state._bindings[cache_key] = found
    return found
