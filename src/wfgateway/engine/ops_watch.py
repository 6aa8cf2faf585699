"""Marking a running execution, and its running sub-workflows, as watched (engine/watched.py): what a
caller does before it waits on an execution that was not started watched, so that a change any
replica commits anywhere below it wakes the wait."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wfgateway.engine.context import EngineContext
from wfgateway.engine.state import ExecState
from wfgateway.engine.unit import MAX_NESTING, Unit
from wfgateway.engine.watched import WATCHED, ancestors


async def watch_execution(ctx: EngineContext, execution_id: str) -> None:
    """Mark a running execution and its running sub-workflows, at any depth, as watched, writing only
    where the mark is missing or incomplete.  A commit that starts a child meanwhile either conflicts
    with this one on the parent's row (the retry sees the child) or started it from a parent already
    marked, so the child inherited the mark (unit.Unit._start_child)."""

    async def op(unit: Unit) -> Callable[[], None]:
        st = await unit.load(execution_id)
        if st is not None and not st.e.status.terminal:
            await _mark(unit, st, [], 0)
        return lambda: None

    await ctx.run(op)


async def _mark(unit: Unit, st: ExecState, chain: list[str], depth: int) -> None:
    e = st.e
    have = e.metadata.get(WATCHED)
    wanted: Any = [*chain, *(x for x in ancestors(e.metadata) if x not in chain)] if chain else (have or True)
    if wanted != have:
        e.metadata = {**e.metadata, WATCHED: wanted}
    if depth >= MAX_NESTING:
        return
    for rec in st.all:
        child_id = rec.a.subworkflow_id
        if child_id and rec.a.visible and not rec.a.status.terminal:
            child = await unit.load(child_id)
            if child is not None and not child.e.status.terminal:
                await _mark(unit, child, [e.id, *chain], depth + 1)
