"""What listeners receive after each commit: execution and task status changes."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from wfgateway.core.model import Execution, TaskAttempt
from wfgateway.engine.state import ExecState

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


def collect(states: Iterable[ExecState], now: int) -> list[EngineEvent]:
    """The status changes of the states one unit of work committed at ``now``."""
    out: list[EngineEvent] = []
    for st in states:
        e = st.e
        prev = st.rec.orig_status
        for r in st.all:
            before = r.orig_status
            if before != r.a.status.value:
                out.append(EngineEvent("task", e, r.a, r.a.status.value, before, now))
        if prev != e.status.value:
            out.append(EngineEvent("execution", e, None, e.status.value, prev, now))
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
