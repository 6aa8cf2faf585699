"""The Altostrat SDX Workflows dialect: ``/workflows/...`` with Bearer tokens and Laravel-style errors."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from wfgateway.adapters.altostrat import (
    errors,
    handlers_logs,
    handlers_misc,
    handlers_runs,
    handlers_workflows,
)
from wfgateway.adapters.altostrat.authorizations import Authorizations
from wfgateway.adapters.altostrat.schedules import SCHEMA as SCHEDULES_SCHEMA
from wfgateway.adapters.altostrat.schedules import Scheduler
from wfgateway.adapters.altostrat.security import BearerAuth
from wfgateway.adapters.altostrat.service import Service
from wfgateway.adapters.altostrat.store import create_tables
from wfgateway.adapters.altostrat.vault import Vault, load_key

from wfgateway.core.errors import ErrorContext, GatewayError
from wfgateway.dialect import Handler, Principal
from wfgateway.gateway import GatewayContext

log = logging.getLogger("wfgateway.altostrat")

class AltostratDialect:
    name = "altostrat"
    path_prefixes = ("/workflows",)

    def __init__(self, settings: dict[str, Any], gateway: GatewayContext) -> None:
        self.settings = settings
        self.gateway = gateway
        config = gateway.config
        key_dir = _beside_store(dict(config.store), config.base_dir)
        tables = create_tables(gateway.store, extra_schema=[SCHEDULES_SCHEMA])
        vault = Vault(tables, lambda: load_key(settings.get("vault_key_env"), key_dir))
        self.service = Service(
            gateway=gateway, settings=settings, auth=BearerAuth.from_settings(settings.get("auth")),
            tables=tables, vault=vault, authorizations=Authorizations(tables),
            scheduler=Scheduler(tables, gateway.engine),
        )
        self._handlers: dict[str, Handler] = {}
        for module in (handlers_workflows, handlers_runs, handlers_logs, handlers_misc):
            self._handlers.update(module.make(self.service))

    @property
    def open_mode(self) -> bool:
        return self.service.auth.open_mode

    def handlers(self) -> Mapping[str, Handler]:
        return self._handlers

    async def authenticate(self, request: Request, operation_id: str) -> Principal:
        return await self.service.auth.authenticate(request, operation_id)

    def render_error(self, error: GatewayError, context: ErrorContext) -> Response:
        return errors.render_error(error)

    async def startup(self) -> None:
        # Migrate the tables and load (or create) the vault key now, so a bad store or key fails the start.
        await self.service.tables.ready()
        self.service.vault.check_key()
        self.gateway.hooks.register_secret_resolver(self.resolve_secret)
        if self.settings.get("schedules", True):
            self.service.scheduler.start()

    async def resolve_secret(self, tenant: str, name: str) -> str | None:
        return await self.service.vault.resolve(tenant, name)

    async def shutdown(self) -> None:
        await self.service.scheduler.stop()


def _beside_store(store: dict[str, Any], base_dir: Path) -> Path:
    """Where the generated vault key lives: the SQLite store's folder (else the config's)."""
    if store.get("kind", "sqlite") != "sqlite":
        return base_dir
    path = Path(store.get("path") or "wfgateway.db")
    return (path if path.is_absolute() else base_dir / path).parent
