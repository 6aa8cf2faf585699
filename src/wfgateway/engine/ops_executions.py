"""Starting an execution and the operations that change one as a whole: terminate, pause, resume, delete."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wfgateway.core.errors import Conflict, InvalidArgument
from wfgateway.core.model import Execution, WorkflowDefinition
from wfgateway.core.statuses import ExecutionStatus
from wfgateway.engine import ops_read
from wfgateway.engine.codec import definition_to_dict
from wfgateway.engine.context import EngineContext
from wfgateway.engine.ending import cancel_open, end_execution
from wfgateway.engine.store.base import DuplicateKey
from wfgateway.engine.unit import Unit
from wfgateway.engine.util import dumps
from wfgateway.engine.validation import validate_definition

IDEMPOTENCY_STRATEGIES = ("fail", "return_existing")


async def start(
    ctx: EngineContext, tenant: str, name: str | None, version: int | str | None, input: dict[str, Any] | None, *,
    correlation_id: str | None, metadata: dict[str, Any] | None, execution_id: str | None,
    idempotency_key: str | None, idempotency_strategy: str, priority: int, dialect: str,
    definition: WorkflowDefinition | None,
) -> Execution:
    if name is None and definition is None:
        raise InvalidArgument("start needs a tenant and a workflow name")
    if input is not None and not isinstance(input, dict):
        raise InvalidArgument("The workflow input must be a JSON object")
    if idempotency_strategy not in IDEMPOTENCY_STRATEGIES:
        raise InvalidArgument(f"Unknown idempotency strategy '{idempotency_strategy}'")
    if definition is not None:
        validate_definition(definition)
        body = dumps(definition_to_dict(definition))
    else:
        body = await ctx.snapshots.stored_body(tenant, name or "", version)
    if idempotency_key:
        existing = await _by_key(ctx, tenant, idempotency_key, idempotency_strategy)
        if existing is not None:
            return existing

    async def op(unit: Unit) -> Callable[[], Execution]:
        digest, d = unit.use_definition(body)
        st = unit.new_execution(
            tenant=tenant, definition=d, def_hash=digest, input=input or {}, execution_id=execution_id,
            correlation_id=correlation_id, metadata=metadata, dialect=dialect, priority=priority,
            idempotency_key=idempotency_key or None,
        )
        return st.execution

    try:
        return await ctx.run(op)
    except DuplicateKey:
        if idempotency_key:
            existing = await _by_key(ctx, tenant, idempotency_key, idempotency_strategy)
            if existing is not None:
                return existing
        raise Conflict(f"Execution {execution_id} already exists") from None


async def _by_key(ctx: EngineContext, tenant: str, key: str, strategy: str) -> Execution | None:
    row = await ctx.store.exec_by_idempotency(tenant, key)
    if row is None:
        return None
    if strategy == "fail":
        raise Conflict(f"An execution with idempotency key '{key}' already exists",
                       details={"execution_id": row[0], "reason": "duplicate_idempotency_key"})
    return await ops_read.get(ctx, row[0], tenant, False)


async def terminate(ctx: EngineContext, execution_id: str, reason: str | None, tenant: str | None) -> Execution:
    async def op(unit: Unit) -> Callable[[], Execution]:
        st = await unit.require(execution_id, tenant)
        s = st.e.status
        if s is ExecutionStatus.COMPLETED:
            raise Conflict(f"Execution {execution_id} is COMPLETED and cannot be terminated",
                           details={"status": s.value})
        if s is not ExecutionStatus.TERMINATED:
            cancel_open(st, unit)
            end_execution(st, unit, ExecutionStatus.TERMINATED, reason)
        return st.execution

    return await ctx.run(op)


async def delete(ctx: EngineContext, execution_id: str, tenant: str | None) -> None:
    """The execution, its attempts (with their logs) and its timers go in one transaction.  A running
    one is terminated in that same transaction first, so its running children are terminated and a
    waiting parent's sub-workflow task is settled, exactly as a terminate would; those executions stay
    (each is removed by its own id)."""

    async def op(unit: Unit) -> None:
        st = await unit.require(execution_id, tenant)
        if not st.e.status.terminal:
            cancel_open(st, unit)
            end_execution(st, unit, ExecutionStatus.TERMINATED, "Removed")
        unit.remove(st)

    await ctx.run(op)


async def pause(ctx: EngineContext, execution_id: str, tenant: str | None) -> Execution:
    async def op(unit: Unit) -> Callable[[], Execution]:
        st = await unit.require(execution_id, tenant)
        s = st.e.status
        if s.terminal:
            raise Conflict(f"Execution {execution_id} is {s.value} and cannot be paused", details={"status": s.value})
        st.e.status = ExecutionStatus.PAUSED
        return st.execution

    return await ctx.run(op)


async def resume(ctx: EngineContext, execution_id: str, tenant: str | None) -> Execution:
    async def op(unit: Unit) -> Callable[[], Execution]:
        st = await unit.require(execution_id, tenant)
        s = st.e.status
        if s is not ExecutionStatus.PAUSED:
            raise Conflict(f"Execution {execution_id} is {s.value}, not PAUSED", details={"status": s.value})
        st.e.status = ExecutionStatus.RUNNING
        st.needs_decide = True
        return st.execution

    return await ctx.run(op)
