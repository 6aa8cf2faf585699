"""Progress of a contract run on a terminal: a bar per phase of a dialect, advancing per operation.

A run takes minutes; the bar (rich, on stderr, only when stderr is a terminal) says which dialect,
phase and operation it is at and how many failures it has found, while stdout keeps the report.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import Any

SHOWN = ("examples", "coverage", "fuzzing", "stateful")  # the phases that send requests


def with_progress(events: Iterable[Any], dialect: str, operations: int, *, enabled: bool | None = None) -> Iterator[Any]:
    """Pass ``events`` through, drawing a bar per phase (``operations`` scenarios each; stateful: 1)."""
    # imported here: rich comes with the optional `contract` extra, and `wfgateway serve` must start without it
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from schemathesis.engine import events as ev

    console = Console(file=sys.stderr)
    if enabled is None:
        enabled = console.is_terminal
    if not enabled:
        yield from events
        return
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TextColumn("{task.fields[failures]} failing  {task.fields[current]}"), console=console)
    tasks: dict[str, Any] = {}
    failing = 0
    with progress:
        for event in events:
            if isinstance(event, ev.PhaseStarted) and str(event.phase.name) in SHOWN:
                name = str(event.phase.name)
                total = 1 if name == "stateful" else operations
                tasks[name] = progress.add_task(f"{dialect} {name:<9}", total=total, failures=failing, current="")
            elif isinstance(event, ev.ScenarioStarted) and str(event.phase) in tasks:
                progress.update(tasks[str(event.phase)], current=event.label or "")
            elif isinstance(event, ev.ScenarioFinished) and str(event.phase) in tasks:
                failing += sum(1 for checks in event.recorder.checks.values() for c in checks if c.failure_info)
                progress.update(tasks[str(event.phase)], advance=1, failures=failing)
            elif isinstance(event, ev.PhaseFinished) and str(event.phase.name) in tasks:
                task = tasks[str(event.phase.name)]
                progress.update(task, completed=progress.tasks[task].total, current=str(event.status))
            yield event
