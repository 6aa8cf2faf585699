"""What the gateway hands each handler: one validated, authenticated ``Call``.

The gateway builds one route per operation of the vendor's spec (``openapi/<vendor>.yaml``),
validates every request with validators compiled at start, authenticates it with the dialect's
scheme, and then calls the handler registered for the operation's ``operationId`` with a ``Call``.
What an adapter provides in return is declared in wfgateway.adapter.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from wfgateway.core.backend import Backend

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

