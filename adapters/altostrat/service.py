"""What every Altostrat handler shares: settings, the dialect's tables, the vault, helpers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from wfgateway.adapters.altostrat.authorizations import Authorizations
from wfgateway.adapters.altostrat.schedules import Scheduler
from wfgateway.adapters.altostrat.security import BearerAuth
from wfgateway.adapters.altostrat.store import Tables
from wfgateway.adapters.altostrat.vault import Vault

from wfgateway.exact_json import dumps
from wfgateway.gateway import GatewayContext


@dataclass
class Service:
    gateway: GatewayContext
    settings: dict[str, Any]
    auth: BearerAuth
    tables: Tables
    vault: Vault
    authorizations: Authorizations
    scheduler: Scheduler

    def origin(self, request: Request) -> str:
        """Where the caller reached the gateway, for the URLs in answers (pagination links, webhook and
        authorization URLs): ``server.public_url`` when set, else the request's own scheme and Host, as
        Laravel's ``url()`` builds them -- not the configured host and port, which a client behind a
        proxy, a container's port mapping or ``0.0.0.0`` cannot reach."""
        configured = self.gateway.config.server.get("public_url")
        return str(configured or request.base_url).rstrip("/")


def json_response(body: Any, status: int = 200) -> Response:
    return Response(dumps(body), status_code=status, media_type="application/json")


def no_content() -> Response:
    return Response(status_code=204)
