"""The Conductor dialect: spec, handlers by operationId, X-Authorization auth, ErrorResponse errors."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from wfgateway.adapters.conductor import (
    bulk_api,
    execute_api,
    metadata_api,
    metadata_extras,
    mock_runs,
    search_api,
    state_update,
    task_signals,
    tasks_api,
    workflow_api,
)
from wfgateway.adapters.conductor.errors import render_error
from wfgateway.adapters.conductor.event_actions import Actions, Script
from wfgateway.adapters.conductor.event_handlers import NAMESPACE as EVENTS
from wfgateway.adapters.conductor.event_handlers import EventHandlersApi, HandlerStore
from wfgateway.adapters.conductor.event_queue import DEFAULT_LEASE_MS, EventQueue
from wfgateway.adapters.conductor.poll_data import PollDataStore
from wfgateway.adapters.conductor.resource_tags import ResourceTagsApi
from wfgateway.adapters.conductor.responses import json_response
from wfgateway.adapters.conductor.scheduler_api import SchedulerApi
from wfgateway.adapters.conductor.schedules import Scheduler, ScheduleStore
from wfgateway.adapters.conductor.secrets_api import SecretsApi, SecretStore
from wfgateway.adapters.conductor.security import KeyAuth
from wfgateway.adapters.conductor.tags_api import TagsApi, TagStore

from wfgateway.core.errors import ErrorContext, GatewayError
from wfgateway.dialect import Call, Handler, Principal
from wfgateway.engine.store.kv import KeyValue
from wfgateway.gateway import GatewayContext


class ConductorDialect:
    name = "conductor"
    path_prefixes = ("/api/",)  # the Conductor server owns /api/ (Cognite's /api/v1/... prefixes are longer)

    def __init__(self, settings: Mapping[str, Any], gateway: GatewayContext, script: Script) -> None:
        self.settings = dict(settings)
        self.gateway = gateway
        self.auth = KeyAuth(dict(self.settings.get("auth") or {}), lambda: gateway.secrets.get("conductor_token_secret"))
        self.secrets = SecretStore(gateway.store)
        self.poll_data = PollDataStore(gateway.store)
        self.tags = TagStore(gateway.store)
        gateway.hooks.register_secret_resolver(self.secrets.get)  # HTTP tasks resolve ${secrets.x} when sending
        self.loop: asyncio.AbstractEventLoop | None = None
        self.schedules = ScheduleStore(gateway.store)
        # schedules fire on the embedded engine; ``schedule_tick_ms`` is how often due slots are looked for
        self.scheduler = Scheduler(self.schedules, gateway.engine,
                                   interval_s=float(self.settings.get("schedule_tick_ms") or 1000) / 1000)
        # what EVENT tasks publish to the ``conductor`` queue, handled by the tenant's event handlers
        self.events_kv = KeyValue(gateway.store, EVENTS)
        self.event_handlers = HandlerStore(self.events_kv)
        self.events = EventQueue(self.events_kv, self.event_handlers, Actions(gateway.engine), script,
                                 poll_s=float(self.settings.get("event_poll_ms") or 1000) / 1000,
                                 lease_ms=int(self.settings.get("event_lease_ms") or DEFAULT_LEASE_MS))
        gateway.hooks.register_listener(self.events.on_event)

    @property
    def open_mode(self) -> bool:
        """True when no application keys are configured (anyone on the bound address may call)."""
        return self.auth.open_mode

    def handlers(self) -> Mapping[str, Handler]:
        tags = TagsApi(self.tags)
        secrets, scheduler = SecretsApi(self.secrets).handlers(), SchedulerApi(self.schedules).handlers()
        resource_tags = ResourceTagsApi(self.tags, self.secrets, self.schedules)
        return {
            **metadata_api.HANDLERS,
            "unregisterWorkflowDef": tags.forgetting("workflow", metadata_api.unregister_workflow_def),
            "unregisterTaskDef": tags.forgetting("task", metadata_api.unregister_task_def),
            **metadata_extras.HANDLERS,
            **workflow_api.HANDLERS,
            **tasks_api.handlers(self.secrets, self.poll_data),
            **bulk_api.HANDLERS,
            **search_api.HANDLERS,
            **task_signals.HANDLERS,
            **state_update.HANDLERS,
            **secrets,
            **tags.handlers(),
            **scheduler,
            **EventHandlersApi(self.event_handlers).handlers(),
            **resource_tags.handlers(secrets["deleteSecret"], scheduler["deleteSchedule"]),
            "executeWorkflow": execute_api.execute_workflow,
            "executeWorkflowAsApi": execute_api.execute_workflow_as_api,
            "testWorkflow": mock_runs.test_workflow,
            "generateToken": self.generate_token,
        }

    async def generate_token(self, call: Call) -> Response:
        body = call.body or {}
        return json_response({"token": self.auth.issue(body.get("keyId"), body.get("keySecret"))})

    async def authenticate(self, request: Request, operation_id: str) -> Principal:
        return await self.auth.authenticate(request, operation_id)

    def render_error(self, error: GatewayError, context: ErrorContext) -> Response:
        return render_error(error, context)

    async def startup(self) -> None:
        self.loop = asyncio.get_running_loop()  # where the scheduler runs (tests drive its tick here)
        await self.secrets.open()
        await self.poll_data.open()
        await self.tags.open()
        await self.schedules.open()
        await self.events_kv.open()
        self.scheduler.start()
        if self.settings.get("event_processing", True) is not False:  # the OSS default-event-processor switch
            self.events.start()

    async def shutdown(self) -> None:
        await self.scheduler.stop()
        await self.events.stop()
        await self.poll_data.close()
