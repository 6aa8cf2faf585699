"""What every Altostrat handler shares: settings, the dialect's tables, the vault, helpers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from starlette.responses import Response
from wfgateway.adapters.altostrat.authorizations import Authorizations
from wfgateway.adapters.altostrat.schedules import Scheduler
from wfgateway.adapters.altostrat.security import BearerAuth
from wfgateway.adapters.altostrat.store import Tables
from wfgateway.adapters.altostrat.vault import Vault

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

    @property
    def base_url(self) -> str:
        return self.gateway.base_url


def json_response(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def no_content() -> Response:
    return Response(status_code=204)
