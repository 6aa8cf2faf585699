"""Small builders for engine tests."""

from __future__ import annotations

from typing import Any

from wfgateway.core.model import Edge, TaskSpec, WorkflowDefinition
from wfgateway.engine import Engine

TENANT = "acme"


def spec(ref: str, kind: str, *deps: str | tuple[str, str], **kw: Any) -> TaskSpec:
    edges = [Edge(d) if isinstance(d, str) else Edge(d[0], d[1]) for d in deps]
    return TaskSpec(ref=ref, kind=kind, depends_on=edges, **kw)


def definition(name: str, *tasks: TaskSpec, version: int | str = 1, **kw: Any) -> WorkflowDefinition:
    return WorkflowDefinition(tenant=TENANT, name=name, version=version, tasks=list(tasks), **kw)


async def run(engine: Engine, name: str, *tasks: TaskSpec, input: dict[str, Any] | None = None, **kw: Any):
    """Store a definition and start it; returns the started execution."""
    await engine.put_definition(definition(name, *tasks, **kw))
    return await engine.start(TENANT, name, None, input or {})


def by_ref(execution: Any) -> dict[str, Any]:
    """The latest visible attempt per ref."""
    out: dict[str, Any] = {}
    for t in execution.tasks:
        if t.visible:
            prev = out.get(t.ref)
            if prev is None or (t.attempt, t.seq) >= (prev.attempt, prev.seq):
                out[t.ref] = t
    return out


def statuses(execution: Any) -> dict[str, str]:
    return {ref: str(t.status) for ref, t in by_ref(execution).items()}


async def work(engine: Engine, name: str, output: dict[str, Any] | None = None, *, fail: str | None = None,
               timeout_ms: int = 2000) -> Any:
    """Poll one task of ``name`` and complete (or fail) it."""
    from wfgateway.core.statuses import TaskStatus

    got = await engine.poll(TENANT, name, worker_id="test-worker", timeout_ms=timeout_ms)
    assert got, f"no task of {name} became pollable"
    task = got[0]
    if fail is not None:
        return await engine.complete_task(task.id, TaskStatus.FAILED, reason=fail)
    return await engine.complete_task(task.id, TaskStatus.COMPLETED, output=output or {})
