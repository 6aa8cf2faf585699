"""Altostrat JSON read back as canonical objects, for the client half (adapters/altostrat/client.py).

A run is ``{id, status, trigger_payload?, error_message, started_at, completed_at, logs[]}``; its
task attempts are its log entries (one per node that ran), so nodes that have not run yet are not
listed.  A workflow's nodes and edges become the definition's tasks: through the dialect's own graph
translation when the graph is one wfgateway can run, else described node by node (the upstream runs
it, the gateway only shows it).
"""

from __future__ import annotations

from typing import Any

from wfgateway.adapters.altostrat import components as C
from wfgateway.adapters.altostrat import ids
from wfgateway.adapters.altostrat.timefmt import parse_ms
from wfgateway.adapters.altostrat.translate import BRANCH_HANDLES, ERROR_HANDLE, translate
from wfgateway.adapters.altostrat.workflows import DIALECT, RUN_TIMEOUT_MS, VERSION

from wfgateway.core import model as M
from wfgateway.core.model import Execution, TaskAttempt, WorkflowDefinition
from wfgateway.core.statuses import ExecutionStatus, TaskStatus

RUN_STATUS = {
    "pending": ExecutionStatus.RUNNING,  # queued: accepted, not yet running
    "running": ExecutionStatus.RUNNING,
    "awaiting_ui_interaction": ExecutionStatus.RUNNING,  # waiting on a person, as a WAIT task would
    "completed": ExecutionStatus.COMPLETED,
    "failed": ExecutionStatus.FAILED,
}
LOG_STATUS = {"success": TaskStatus.COMPLETED, "error": TaskStatus.FAILED, "warning": TaskStatus.COMPLETED_WITH_ERRORS}
ADDED_BY_TRIGGER = ("trigger_type", "run_id")  # what the trigger adds to the context it was given
_KINDS = {C.WEBHOOK: M.HTTP, "altostrat_api": M.HTTP, C.DELAY: M.WAIT, C.TERMINATE: M.TERMINATE}


def public_id(run_id: str) -> str:
    """A run id as callers see it: the UUID its ULID encodes (Cognite and Conductor ids are UUIDs),
    or the id itself when it is not ``fl_run_`` + ULID."""
    return ids.ulid_uuid(run_id, ids.RUN) or run_id


def upstream_id(execution_id: str) -> str:
    """The Altostrat run id a caller's id names (either form is accepted)."""
    return ids.uuid_ulid(execution_id, ids.RUN) or execution_id


def ms(value: Any) -> int:
    """An Altostrat timestamp as epoch ms (0 when absent or unreadable)."""
    if not isinstance(value, str) or not value:
        return 0
    try:
        return parse_ms(value)
    except ValueError:
        return 0


def context_of(payload: dict[str, Any]) -> dict[str, Any]:
    """The context a run was started with: its trigger payload without what the trigger added."""
    return {k: v for k, v in payload.items() if k not in ADDED_BY_TRIGGER}


def kind_of(component: str | None) -> str:
    if component is None or C.is_trigger(component):
        return M.NOOP
    if C.is_condition(component):
        return M.CONDITION
    return _KINDS.get(component, M.NOOP)


def to_definition(tenant: str, doc: dict[str, Any]) -> WorkflowDefinition:
    """A Workflow (with its nodes and edges) as the definition named by its ``fl_`` id, version 1."""
    nodes, edges = list(doc.get("nodes") or []), list(doc.get("edges") or [])
    graph = translate(nodes, edges)
    tasks = graph.tasks if not graph.errors else _described(nodes, edges)
    created = ms(doc.get("created_at"))
    record: dict[str, Any] = {
        "id": str(doc["id"]), "name": doc.get("name") or str(doc["id"]), "description": doc.get("description"),
        "nodes": nodes, "edges": edges, "is_active": bool(doc.get("is_active", True)),
        "authorization_id": (doc.get("authorization") or {}).get("id"),
        "schedule_type": doc.get("schedule_type") or "manual", "schedule_value": doc.get("schedule_value"),
        "webhook_token": None, "created_ms": created, "updated_ms": ms(doc.get("updated_at")) or created,
    }
    return WorkflowDefinition(
        tenant=tenant, name=record["id"], version=VERSION, tasks=tasks, description=record["description"],
        timeout_ms=RUN_TIMEOUT_MS, dialect=DIALECT, extra={DIALECT: record},
        created_ms=created, updated_ms=record["updated_ms"],
    )


def _described(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> list[M.TaskSpec]:
    """Tasks that describe a graph the gateway could not run itself (components it does not know)."""
    incoming: dict[str, list[M.Edge]] = {}
    for e in edges:
        handle = e.get("sourceHandle")
        branch = str(handle) if handle in BRANCH_HANDLES or handle == ERROR_HANDLE else None
        incoming.setdefault(str(e.get("target")), []).append(M.Edge(str(e.get("source")), branch))
    out = []
    for node in nodes:
        component = C.component_of(node)
        out.append(M.TaskSpec(ref=str(node.get("id")), kind=kind_of(component), name=component or "",
                              depends_on=incoming.get(str(node.get("id")), []),
                              extra={"component_id": component}))
    return out


def parse_run(doc: dict[str, Any], tenant: str, workflow_id: str,
              definition: WorkflowDefinition | None = None) -> Execution:
    run_id = public_id(str(doc["id"]))
    status = RUN_STATUS.get(str(doc.get("status")), ExecutionStatus.RUNNING)
    specs = {s.ref: s for s in (definition.tasks if definition else [])}
    tasks = _attempts(run_id, doc.get("logs") or [], specs)
    payload = doc.get("trigger_payload")
    if not isinstance(payload, dict):  # the current docs' run has no trigger_payload: the trigger's log has it
        trigger = next((t for t in tasks if C.is_trigger(t.name)), None)
        payload = dict(trigger.output) if trigger is not None else {}
    started = ms(doc.get("started_at"))
    ended = ms(doc.get("completed_at")) if status.terminal else 0
    created = ms(doc.get("created_at")) or started
    return Execution(
        id=run_id, tenant=tenant, definition_name=workflow_id, definition_version=VERSION, status=status,
        input=context_of(payload), reason=doc.get("error_message") if status == ExecutionStatus.FAILED else None,
        cloned_from=public_id(str(doc["original_run_id"])) if doc.get("original_run_id") else None,
        dialect=DIALECT, created_ms=created, started_ms=started, ended_ms=ended, updated_ms=max([ended, started, created, *(t.ended_ms for t in tasks)]),
        definition=definition, tasks=tasks,
    )


def _attempts(run_id: str, logs: list[dict[str, Any]], specs: dict[str, M.TaskSpec]) -> list[TaskAttempt]:
    out: list[TaskAttempt] = []
    latest: dict[str, TaskAttempt] = {}
    for seq, entry in enumerate(logs, start=1):
        ref = str(entry.get("node_id") or "")
        spec = specs.get(ref)
        component = entry.get("component_id") or (spec.extra.get("component_id") if spec else None)
        status = LOG_STATUS.get(str(entry.get("status")), TaskStatus.COMPLETED)
        raw_output = entry.get("output")
        output: dict[str, Any] = raw_output if isinstance(raw_output, dict) else {"value": raw_output}
        previous = latest.get(ref)
        at = ms(entry.get("created_at"))
        attempt = TaskAttempt(
            id=str(entry.get("id") or f"{run_id}:{seq}"), execution_id=run_id, ref=ref, name=component or ref,
            kind=spec.kind if spec else kind_of(component), status=status, seq=seq,
            attempt=previous.attempt + 1 if previous else 0, output=output,
            reason=str(output.get("error")) if status == TaskStatus.FAILED and output.get("error") else None,
            retried_from=previous.id if previous else None, started_ms=at, ended_ms=at, updated_ms=at,
            branch=str(output["branch"]) if C.is_condition(component or "") and "branch" in output else None,
            extra={"component_id": component},
        )
        if previous is not None:
            previous.retried = True
        latest[ref] = attempt
        out.append(attempt)
    return out
