"""What a vendor adapter provides to the gateway, and what the gateway hands each handler.

An adapter package (``adapters/<vendor>``) exposes ``create_dialect(settings, gateway) -> Dialect``.
The gateway builds one route per operation of the vendor's spec (``openapi/<vendor>.yaml``),
validates every request with validators compiled at start, authenticates it with the dialect's
scheme, and then calls the handler registered for the operation's ``operationId`` with a ``Call``.
The core never imports an adapter: config.yaml names the adapter module.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from starlette.requests import Request
from starlette.responses import Response

from wfgateway.core.backend import Backend
from wfgateway.core.errors import ErrorContext, GatewayError

if TYPE_CHECKING:
    from wfgateway.gateway import GatewayContext


@dataclass(frozen=True)
class Principal:
    """Who is calling: the tenant (Cognite project, Altostrat organisation, Conductor "default")."""

    tenant: str
    subject: str = "anonymous"
    claims: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Call:
    """One validated, authenticated request, ready for a handler.

    ``path``, ``query`` and ``headers`` hold the declared parameters, coerced to their schema
    types (a boolean query parameter is a bool, an integer an int, an array a list).  ``body`` is
    the parsed JSON body (None when the operation takes none).  ``backend`` is where the route
    for this call points: the embedded engine or an upstream vendor.
    """

    request: Request
    operation_id: str
    path: dict[str, Any]
    query: dict[str, Any]
    headers: dict[str, Any]
    body: Any
    raw_body: bytes
    principal: Principal
    backend: Backend
    gateway: GatewayContext
    target: Any = None  # the pipeline's Target of the operation (bulk handlers hand it to the router's split)


Handler = Callable[[Call], Awaitable[Response]]


class Dialect(Protocol):
    """A vendor's face: its name, paths, auth scheme, error format and operation handlers."""

    name: str
    spec_path: str  # path of openapi/<vendor>.yaml
    path_prefixes: tuple[str, ...]  # paths this dialect owns, for 404/405 rendering

    def handlers(self) -> Mapping[str, Handler]:
        """operationId -> handler, for every operation of the spec."""

    async def authenticate(self, request: Request, operation_id: str) -> Principal:
        """Check the dialect's credentials; raise Unauthorized / Forbidden in the dialect's terms.
        Operations whose spec has ``security: []`` are still passed here (to pick the tenant)."""

    def render_error(self, error: GatewayError, context: ErrorContext) -> Response:
        """The vendor's own error body and status for ``error``."""

    def routes(self) -> list[Any]:
        """Extra Starlette routes outside the spec (rare; usually empty)."""

    async def startup(self) -> None:
        """Start background work (cron triggers, say) once the engine runs."""

    async def shutdown(self) -> None: ...
