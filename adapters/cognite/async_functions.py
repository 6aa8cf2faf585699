"""Calling the endpoint of an asynchronously completed function task (``isAsyncComplete: true``).

Cognite starts the function and leaves the task IN_PROGRESS until someone calls tasks update; the
function learns which task to complete from ``cogniteOrchestrationTaskId`` in its data.  The engine
runs such a task as a ``wait`` task; this listener sees it become IN_PROGRESS and POSTs the
function's data (with the task id added) to the configured endpoint.  If the endpoint cannot be
reached or answers an error, the task fails with that reason (and retries per its ``retries``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import httpx

from wfgateway.core.backend import Backend
from wfgateway.core.model import WAIT
from wfgateway.core.statuses import TaskStatus
from wfgateway.engine.events import EngineEvent

log = logging.getLogger("wfgateway.cognite.functions")
TASK_ID_KEY = "cogniteOrchestrationTaskId"


class AsyncFunctionCaller:
    def __init__(self, functions: Mapping[str, Any], backend: Backend, timeout_s: float = 30.0) -> None:
        self.functions = functions
        self.backend = backend
        self.timeout_s = timeout_s
        self._client: httpx.AsyncClient | None = None

    def endpoint(self, params: Mapping[str, Any]) -> str | None:
        if not params.get("isAsyncComplete"):
            return None
        entry = self.functions.get(str((params.get("function") or {}).get("externalId")))
        url = entry.get("url") if isinstance(entry, Mapping) else entry
        return url if isinstance(url, str) and url else None

    async def on_event(self, event: EngineEvent) -> None:
        """Engine listener: call the function of a wait-backed async function task that just started."""
        a = event.task
        if event.kind != "task" or a is None or a.kind != WAIT or event.status != TaskStatus.IN_PROGRESS.value:
            return
        if event.execution.dialect not in ("cognite", ""):
            return
        params = a.input.get("parameters") if isinstance(a.input, Mapping) else None
        if not isinstance(params, Mapping) or "function" not in params:
            return
        url = self.endpoint(params)
        if url is None:
            return
        data = (params.get("function") or {}).get("data")
        body = {**(data if isinstance(data, Mapping) else {} if data is None else {"data": data}), TASK_ID_KEY: a.id}
        reason = None
        try:
            if self._client is None:
                self._client = httpx.AsyncClient(timeout=self.timeout_s)
            resp = await self._client.post(url, json=body)
            if resp.status_code >= 300:
                reason = f"Function call failed: HTTP {resp.status_code} from {url}"
        except httpx.HTTPError as exc:
            reason = f"Function call failed: {type(exc).__name__} calling {url}"
        if reason is not None:
            try:
                await self.backend.complete_task(a.id, TaskStatus.FAILED, tenant=event.execution.tenant, reason=reason)
            except Exception:  # the task may have been completed or cancelled meanwhile
                log.warning("could not fail task %s after: %s", a.id, reason)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
