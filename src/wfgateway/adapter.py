"""The adapter contract: what a vendor adapter provides, and the one place adapters are loaded.

An adapter is a package named in config.yaml (``dialects.<name>.adapter``) whose top level declares

    ADAPTER = Adapter(create_dialect=..., route_keys=..., backend_operations=...,
                      cross_vendor=..., client=ClientHalf(...), upstream_auth=..., console=...)

Only ``create_dialect`` is required.  The parts, and who uses them:

* ``create_dialect(settings, gateway) -> Dialect``: the vendor's face (paths, auth, errors, one
  handler per operationId of ``openapi/<vendor>.yaml``); ``gateway`` is the GatewayContext
  (wfgateway.gateway), and the dialect registers its engine hooks (``gateway.hooks``) while it is built.
* ``route_keys``: where requests carry the workflow name, execution and correlation ids
  (wfgateway.routing.keys explains the mapping).
* ``backend_operations``: the canonical Backend operations each operation's handler uses, and
  ``cross_vendor``: what a handler itself changes towards another vendor (docs/compatibility.md).
* ``client``: the client half -- a Backend over HTTP to this vendor, for other dialects' calls
  routed to an upstream of this vendor -- with the ``capabilities`` it declares per operation.
* ``upstream_auth(credentials, settings)``: the gateway's own credentials towards this vendor, when
  its scheme is its own (None leaves the section to the generic schemes).
* ``console(dialect) -> ConsoleVocabulary``: the vendor's words in the web console
  (wfgateway.console.vocabulary); without it the console shows engine words.

The gateway never imports an adapter by name anywhere else: ``load_adapter`` is the only import.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from starlette.requests import Request
from starlette.responses import Response

from wfgateway.backends.settings import BackendSettings
from wfgateway.config import Config
from wfgateway.core.backend import Backend
from wfgateway.core.errors import ErrorContext, GatewayError
from wfgateway.dialect import Handler, Principal
from wfgateway.gateway import GatewayContext

if TYPE_CHECKING:
    from wfgateway.backends.transport import UpstreamTransport
    from wfgateway.backends.upstream_credentials import UpstreamAuth
    from wfgateway.console.vocabulary import VocabularyFactory

# -- what an adapter hands the gateway ----------------------------------------------------------------
class Dialect(Protocol):
    """A vendor's face: its name, paths, auth scheme, error format and operation handlers."""

    @property
    def name(self) -> str: ...

    @property
    def path_prefixes(self) -> tuple[str, ...]:
        """Paths this dialect owns, for 404/405 rendering."""

    @property
    def open_mode(self) -> bool:
        """True when no credentials are configured: anyone who reaches the address may call
        (the gateway then serves only on loopback)."""

    def handlers(self) -> Mapping[str, Handler]:
        """operationId -> handler, for every operation of the spec."""

    async def authenticate(self, request: Request, operation_id: str) -> Principal:
        """Check the dialect's credentials; raise Unauthorized / Forbidden in the dialect's terms.
        Operations whose spec has ``security: []`` are still passed here (to pick the tenant)."""

    def render_error(self, error: GatewayError, context: ErrorContext) -> Response:
        """The vendor's own error body and status for ``error``."""

    async def startup(self) -> None:
        """Start background work (cron triggers, say) once the engine runs."""

    async def shutdown(self) -> None: ...


class DialectFactory(Protocol):
    def __call__(self, settings: dict[str, Any], gateway: GatewayContext) -> Dialect: ...


class ClientFactory(Protocol):
    """The client half of one upstream backend of this vendor (a Backend over ``transport``);
    ValueError / KeyError for settings it cannot use."""

    def __call__(self, settings: BackendSettings, transport: UpstreamTransport) -> Backend: ...


class UpstreamAuthFactory(Protocol):
    """The vendor's own upstream credential scheme for ``credentials``, or None for the generic ones."""

    def __call__(self, credentials: dict[str, Any], settings: dict[str, Any]) -> UpstreamAuth | None: ...


Level = str  # "exact" | "translated" | "refused" (wfgateway.routing.compat checks it)
RouteKeyMapping = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class ClientHalf:
    """``create`` builds the client half; ``capabilities`` says, per canonical operation (and the
    pseudo-operations ``task_definitions`` and ``clone_from_task``), how well it translates."""

    create: ClientFactory
    capabilities: Mapping[str, tuple[Level, str]]


@dataclass(frozen=True)
class Adapter:
    """Everything one vendor adapter provides (the module docstring says who uses which part)."""

    create_dialect: DialectFactory
    route_keys: RouteKeyMapping = field(default_factory=dict)
    backend_operations: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    cross_vendor: Mapping[str, tuple[Level, str]] = field(default_factory=dict)
    client: ClientHalf | None = None
    upstream_auth: UpstreamAuthFactory | None = None
    console: VocabularyFactory | None = None


class AdapterError(Exception):
    """An adapter named in the config cannot be imported or does not declare ``ADAPTER``."""


@functools.cache
def load_adapter(module: str) -> Adapter:
    """The ``ADAPTER`` of the package ``module``; AdapterError says what is wrong."""
    found = find_adapter(module)
    if found is None:
        raise AdapterError(f"cannot import {module!r}: no such module")
    return found


@functools.cache
def find_adapter(module: str) -> Adapter | None:
    """Like load_adapter, but None when the package ``module`` does not exist at all (an upstream
    of a vendor the gateway has no adapter for is still forwarded to, raw)."""
    try:
        package = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (module == exc.name or module.startswith(exc.name + ".")):
            return None
        raise AdapterError(f"cannot import {module!r}: {exc}") from exc
    except ImportError as exc:
        raise AdapterError(f"cannot import {module!r}: {exc}") from exc
    adapter = vars(package).get("ADAPTER")
    if not isinstance(adapter, Adapter):
        raise AdapterError(f"{module!r} declares no ADAPTER = wfgateway.adapter.Adapter(...)")
    return adapter


def adapter_module(config: Config, dialect: str) -> str:
    """The adapter package of ``dialect``: as config.yaml names it, else wfgateway's own."""
    return str((config.dialects.get(dialect) or {}).get("adapter") or f"wfgateway.adapters.{dialect}")
