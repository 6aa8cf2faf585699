"""Starting, finding and waiting for runs through the backend (never the engine class)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from wfgateway.adapters.altostrat import ids
from wfgateway.adapters.altostrat.workflows import DIALECT, VERSION, is_foreign, load

from wfgateway.core.backend import Backend
from wfgateway.core.errors import Conflict, NotFound, NotImplementedByBackend
from wfgateway.core.model import Execution, WorkflowDefinition

SYSTEM_FIELDS = ("trigger_type", "run_id")  # what the trigger adds to the payload in its output
SHADOWED = "payload_shadowed"  # Execution.metadata: payload fields the trigger's own fields replaced


def trigger_input(trigger_type: str, fields: dict[str, Any], run_id: str) -> dict[str, Any]:
    """The trigger node's output, which is the run's input: the payload fields, then
    ``trigger_type`` and ``run_id`` (so ``{{ n1.run_id }}`` works)."""
    return {**fields, "trigger_type": trigger_type, "run_id": run_id}


async def start(backend: Backend, tenant: str, record: dict[str, Any], trigger_type: str,
                fields: dict[str, Any], run_id: str | None = None, *, original_run_id: str | None = None,
                definition: WorkflowDefinition | None = None, extra_input: dict[str, Any] | None = None,
                ) -> Execution:
    """A new run of the workflow as it is now (``definition``: an inline one built from it, for a
    resumed run); ``original_run_id`` names the run a re-run or resumed run came from."""
    if not record.get("is_active", True):
        raise Conflict(f"Workflow '{record['id']}' is not active.", details={"code": "workflow_inactive"})
    run_id = run_id or ids.new_id(ids.RUN)
    if is_foreign(record):  # another dialect's workflow: its input is the payload, nothing is added
        return await backend.start(tenant, record["id"], record["version"], dict(fields), execution_id=run_id)
    metadata: dict[str, Any] = {"trigger_type": trigger_type}
    shadowed = {k: fields[k] for k in SYSTEM_FIELDS if k in fields}
    if shadowed:  # the trigger's own fields win in its output; the payload as sent is kept whole
        metadata[SHADOWED] = shadowed
    if original_run_id:
        metadata["original_run_id"] = original_run_id
    return await backend.start(
        tenant, record["id"], VERSION, {**trigger_input(trigger_type, fields, run_id), **(extra_input or {})},
        execution_id=run_id, dialect=DIALECT, metadata=metadata, definition=definition,
    )


async def get_run(backend: Backend, tenant: str, run_id: str) -> tuple[Execution, dict[str, Any] | None]:
    """The run and its workflow record; NotFound for unknown runs, other organisations' runs and
    runs of deleted workflows.  An execution another dialect started (no Altostrat workflow behind
    it) is readable too, with no record."""
    try:
        execution = await backend.get(run_id, tenant=tenant)
    except NotFound:
        execution = None
    if execution is None or execution.tenant != tenant:
        raise NotFound(f"Workflow run '{run_id}' not found.")
    if execution.dialect not in ("", DIALECT):
        return execution, None
    try:
        record, _ = await load(backend, tenant, execution.definition_name)
    except NotFound as exc:
        raise NotFound(f"Workflow run '{run_id}' not found.") from exc
    return execution, record


async def delete_all(backend: Backend, tenant: str, workflow_id: str) -> int:
    """Delete every run of the workflow (a running one is stopped first); how many were deleted.
    A backend that cannot delete runs (an upstream that deletes them with the workflow) is left to it."""
    found: list[str] = []
    cursor = None
    while True:
        page = await backend.search(tenant, name=workflow_id, cursor=cursor, limit=500, count=False)
        found += [e.id for e in page.items]
        cursor = page.next_cursor
        if not cursor or not page.items:
            break
    deleted = 0
    for run_id in found:
        try:
            await backend.delete_execution(run_id, tenant=tenant)
            deleted += 1
        except NotFound:
            pass  # gone meanwhile
        except NotImplementedByBackend:
            return deleted
    return deleted


async def get_when_visible(backend: Backend, tenant: str, run_id: str, timeout_s: float = 5.0) -> Execution:
    """A run another request is starting right now (idempotent replays): wait until it is committed."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return await backend.get(run_id, tenant=tenant)
        except NotFound:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


async def wait_terminal(backend: Backend, tenant: str, run_id: str, timeout_s: float) -> Execution | None:
    """The run once it is terminal, or None after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    delay = 0.01
    while True:
        execution = await backend.get(run_id, tenant=tenant)
        if execution.status.terminal:
            return execution
        if time.monotonic() > deadline:
            return None
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 0.2)
