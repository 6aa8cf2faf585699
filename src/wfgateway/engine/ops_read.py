"""Reading executions: one by id, a search page, and waiting until one reaches a state."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection

from wfgateway.core.errors import InvalidArgument, NotFound
from wfgateway.core.model import Execution, Page, WorkflowDefinition
from wfgateway.core.statuses import ExecutionStatus, TaskStatus
from wfgateway.engine import cursors
from wfgateway.engine.context import EngineContext
from wfgateway.engine.state import AttRec, ExecRec
from wfgateway.engine.store.base import ATT_COLS, EXEC_COLS, SearchFilter, TaskFilter

_DEF_HASH = EXEC_COLS.index("def_hash")
_SCHEDULED, _KEY = ATT_COLS.index("scheduled_ms"), ATT_COLS.index("key")
# a predicate on the execution, one status, or a collection of statuses
Awaited = Callable[[Execution], bool] | str | Collection[str]


async def get(ctx: EngineContext, execution_id: str, tenant: str | None, include_history: bool) -> Execution:
    st = await ctx.unit().require(execution_id, tenant, include_hidden=include_history)
    return st.execution(include_history)


async def get_if_changed(ctx: EngineContext, execution_id: str, known: tuple[int, int] | None,
                         tenant: str | None) -> Execution | None:
    """VersionedReads.get_if_changed: the stamp is (created_ms, row_version), read without decoding
    anything; every commit that touches the execution or one of its attempts bumps row_version."""
    if known is not None:
        row = await ctx.store.exec_stamp(execution_id)
        if row is None or (tenant is not None and row[0] != tenant):
            raise NotFound("No such execution", details={"execution_id": execution_id})
        if (row[1], row[2]) == known:
            return None
    return await get(ctx, execution_id, tenant, False)


async def search(
    ctx: EngineContext, tenant: str, *, name: str | None, version: int | str | None,
    statuses: list[ExecutionStatus] | None, correlation_id: str | None, created_from_ms: int | None,
    created_to_ms: int | None, parent_execution_id: str | None, cursor: str | None, limit: int, newest_first: bool,
    count: bool = True, dialect: str | None = None, workflows: list[tuple[str, str | None]] | None = None,
    skip: int = 0,
) -> Page:
    """A keyset page; ``count=False`` leaves ``total`` None (counting reads every match: the web console
    pages by key alone, so a page costs the same at 10^3 and 10^6 stored executions)."""
    if limit <= 0:
        raise InvalidArgument("limit must be positive")
    if workflows and (name is not None or version is not None):
        raise InvalidArgument("filter on workflows or on one name and version, not both")
    flt = SearchFilter(
        tenant=tenant, name=name, def_version=None if version is None else str(version),
        statuses=[str(s) for s in statuses] if statuses else None, correlation_id=correlation_id,
        created_from_ms=created_from_ms, created_to_ms=created_to_ms, parent_execution_id=parent_execution_id,
        dialect=dialect, workflows=[(n, None if v is None else str(v)) for n, v in workflows] if workflows else None,
    )
    if skip < 0:
        raise InvalidArgument("skip must not be negative")
    rows, total = await ctx.store.exec_search(flt, cursors.decode_position(cursor), limit + 1, newest_first,
                                             count, skip)
    more = len(rows) > limit
    rows = rows[:limit]
    items = []
    definitions: dict[str, WorkflowDefinition] = {}  # a page's runs share a few definitions
    for row in rows:
        digest = row[_DEF_HASH]
        definition = definitions.get(digest)
        if definition is None:
            definition = definitions[digest] = await ctx.snapshots.get(digest)
        items.append(ExecRec.listed(row, definition))
    nxt = cursors.encode(f"{items[-1].created_ms}|{items[-1].id}") if more and items else None
    return Page(items, nxt, total)


async def search_ids(
    ctx: EngineContext, tenant: str, *, name: str | None, version: int | str | None,
    statuses: list[ExecutionStatus] | None, created_from_ms: int | None, created_to_ms: int | None,
) -> list[str]:
    """IdSearch.search_ids: every match's id, oldest first, from the index alone."""
    return await ctx.store.exec_ids(SearchFilter(
        tenant=tenant, name=name, def_version=None if version is None else str(version),
        statuses=[str(s) for s in statuses] if statuses else None, created_from_ms=created_from_ms,
        created_to_ms=created_to_ms))


async def count(
    ctx: EngineContext, tenant: str, *, name: str | None, statuses: list[ExecutionStatus] | None,
    created_from_ms: int | None, created_to_ms: int | None,
) -> int:
    """ExactCounts.count: from the run counts the store keeps."""
    return await ctx.store.exec_count(SearchFilter(
        tenant=tenant, name=name, statuses=[str(s) for s in statuses] if statuses else None,
        created_from_ms=created_from_ms, created_to_ms=created_to_ms))


async def search_tasks(
    ctx: EngineContext, tenant: str, *, name: str | None, statuses: list[TaskStatus] | None,
    execution_ids: list[str] | None, task_ids: list[str] | None, scheduled_from_ms: int | None,
    scheduled_to_ms: int | None, cursor: str | None, limit: int, newest_first: bool, count: bool = True,
) -> Page:
    """A keyset page of the tenant's visible task attempts, newest scheduled first by default."""
    if limit <= 0:
        raise InvalidArgument("limit must be positive")
    flt = TaskFilter(tenant=tenant, name=name, statuses=[str(s) for s in statuses] if statuses else None,
                     execution_ids=list(execution_ids or []), task_ids=list(task_ids or []),
                     scheduled_from_ms=scheduled_from_ms, scheduled_to_ms=scheduled_to_ms)
    rows, total = await ctx.store.task_search(flt, cursors.decode_position(cursor), limit + 1, newest_first, count)
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = cursors.encode(f"{rows[-1][_SCHEDULED]}|{rows[-1][_KEY]}") if more and rows else None
    return Page([AttRec.from_row(row).a for row in rows], nxt, total)


async def wait_until(ctx: EngineContext, execution_id: str, awaited: Awaited, timeout_s: float,
                     include_history: bool) -> Execution:
    """Wait until the execution satisfies ``awaited``; TimeoutError naming the last status otherwise."""
    if callable(awaited):
        pred = awaited
    else:
        wanted = {str(awaited)} if isinstance(awaited, str) else {str(s) for s in awaited}

        def pred(e: Execution) -> bool:
            return str(e.status) in wanted

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        sig = ctx.watch(execution_id)
        fut = sig.waiter()
        try:
            e = await get(ctx, execution_id, None, include_history)
        except BaseException:
            sig.discard(fut)
            raise
        if pred(e):
            sig.discard(fut)
            return e
        remaining = deadline - loop.time()
        if remaining <= 0:
            sig.discard(fut)
            raise TimeoutError(f"execution {execution_id} still {e.status} after {timeout_s}s")
        await sig.wait(fut, min(remaining, 0.5))
