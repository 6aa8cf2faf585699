"""What listeners receive after each commit: execution and task status changes."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wfgateway.core.model import Execution, TaskAttempt

if TYPE_CHECKING:
    from wfgateway.engine.unit import Unit

log = logging.getLogger("wfgateway.engine")


@dataclass(frozen=True)
class EngineEvent:
    """``kind`` is "execution" or "task"; ``execution`` has no tasks; treat both objects as read-only."""

    kind: str
    execution: Execution
    task: TaskAttempt | None
    status: str
    previous_status: str | None
    at_ms: int


def collect(unit: Unit) -> list[EngineEvent]:
    out: list[EngineEvent] = []
    for st in unit.states.values():
        e = st.e
        prev = st.rec.orig_status
        for r in st.all:
            before = r.orig_status
            if before != r.a.status.value:
                out.append(EngineEvent("task", e, r.a, r.a.status.value, before, unit.now))
        if prev != e.status.value:
            out.append(EngineEvent("execution", e, None, e.status.value, prev, unit.now))
    return out


def deliver(listeners: list[Callable[[EngineEvent], Any]], events: list[EngineEvent]) -> None:
    for ev in events:
        for fn in listeners:
            try:
                got = fn(ev)
                if inspect.isawaitable(got):
                    asyncio.ensure_future(got)
            except Exception:  # a listener must never break the engine
                log.exception("engine listener failed")
