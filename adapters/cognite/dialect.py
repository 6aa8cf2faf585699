"""The Cognite Data Workflows dialect: paths under /api/v1/projects/{project}, Bearer tokens per
project, Cognite's error body, cron triggers running in the background."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from wfgateway.adapters.cognite.async_functions import AsyncFunctionCaller
from wfgateway.adapters.cognite.errors import render_error
from wfgateway.adapters.cognite.handlers import all_handlers
from wfgateway.adapters.cognite.limits import check_expansion
from wfgateway.adapters.cognite.scheduler import TriggerScheduler
from wfgateway.adapters.cognite.security import TokenAuth
from wfgateway.adapters.cognite.service import CogniteService
from wfgateway.adapters.cognite.sessions import Sessions
from wfgateway.adapters.cognite.state import KeyValue, create_state
from wfgateway.adapters.cognite.translate import DIALECT, Translator, expand_dynamic

from wfgateway.core.errors import ErrorContext, GatewayError
from wfgateway.core.model import Execution, TaskSpec
from wfgateway.dialect import Principal
from wfgateway.gateway import GatewayContext


class CogniteDialect:
    name = DIALECT
    path_prefixes = ("/api/v1/projects/", "/api/v1/token/")

    def __init__(self, settings: Mapping[str, Any], gateway: GatewayContext, kv: KeyValue) -> None:
        self.settings = settings
        self.gateway = gateway
        self.auth = TokenAuth(settings.get("auth") or {})
        self.translator = Translator(settings)
        self.service = CogniteService(settings, kv, Sessions(kv), self.translator, self.auth)
        self.scheduler = TriggerScheduler(kv, gateway.engine, sessions=self.service.sessions,
                                          interval_s=float(settings.get("trigger_tick_seconds") or 1.0))
        self.async_functions = AsyncFunctionCaller(settings.get("functions") or {}, gateway.engine)
        self._handlers = all_handlers(self.service)
        self.loop: asyncio.AbstractEventLoop | None = None

    @property
    def open_mode(self) -> bool:
        return self.auth.open_mode

    def handlers(self) -> Mapping[str, Any]:
        return self._handlers

    async def authenticate(self, request: Request, operation_id: str) -> Principal:
        return self.auth.authenticate(request.url.path, request.headers)

    def render_error(self, error: GatewayError, context: ErrorContext) -> Response:
        return render_error(error, context)

    def expand(self, params: dict[str, Any], spec: TaskSpec, execution: Execution) -> list[TaskSpec]:
        """The engine's dynamic-task expander for Cognite definitions."""
        outer = execution.definition.tasks if execution.definition is not None else []
        specs = expand_dynamic(self.translator, params.get("tasks"), outer)
        check_expansion(execution, len(specs))
        return specs

    async def startup(self) -> None:
        self.loop = asyncio.get_running_loop()  # where the scheduler runs (tests drive its tick here)
        await self.service.kv.open()
        self.scheduler.start()

    async def shutdown(self) -> None:
        await self.scheduler.stop()
        await self.async_functions.close()
        await self.service.kv.close()


def create_dialect(settings: dict[str, Any], gateway: GatewayContext) -> CogniteDialect:
    dialect = CogniteDialect(settings, gateway, create_state(gateway.store))
    gateway.hooks.register_expander(DIALECT, dialect.expand)
    gateway.hooks.register_listener(dialect.async_functions.on_event)
    return dialect
