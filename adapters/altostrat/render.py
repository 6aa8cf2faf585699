"""Canonical executions and task attempts rendered as Altostrat runs and log entries."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from wfgateway.adapters.altostrat import components as C
from wfgateway.adapters.altostrat import ids
from wfgateway.adapters.altostrat.runs import SHADOWED
from wfgateway.adapters.altostrat.schedules import next_due
from wfgateway.adapters.altostrat.timefmt import iso

from wfgateway.core.model import Execution, TaskAttempt
from wfgateway.core.statuses import ExecutionStatus, TaskStatus

RUN_STATUS = {
    ExecutionStatus.RUNNING: "running",
    ExecutionStatus.PAUSED: "pending",
    ExecutionStatus.COMPLETED: "completed",
    ExecutionStatus.FAILED: "failed",
    ExecutionStatus.TIMED_OUT: "failed",
    ExecutionStatus.TERMINATED: "failed",
}
RUN_STATUSES_OF = {
    "running": [ExecutionStatus.RUNNING],
    "pending": [ExecutionStatus.PAUSED],
    "completed": [ExecutionStatus.COMPLETED],
    "failed": [ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT, ExecutionStatus.TERMINATED],
}
INHERITED = "__inherited__"  # replay.INHERITED: a resumed run's inherited outputs
HIDDEN_INPUT = ("run_id", "trigger_type", INHERITED)  # added by the gateway, not part of the trigger payload


def log_status(attempt: TaskAttempt) -> str | None:
    """success / error / warning for a finished attempt; None when it did not run (skipped, pending)."""
    s = attempt.status
    if s == TaskStatus.COMPLETED:
        return "success"
    if s == TaskStatus.COMPLETED_WITH_ERRORS:
        return "warning"
    if s == TaskStatus.CANCELED:
        return "error" if attempt.started_ms else None  # canceled before it ran: not a step
    if s.unsuccessful_terminal:
        return "error"
    return None


def component_of(attempt: TaskAttempt, execution: Execution) -> str | None:
    if execution.definition is not None:
        for spec in execution.definition.tasks:
            if spec.ref == attempt.ref:
                return spec.extra.get("component_id") or spec.name or None
    return attempt.name or None


def failure_message(attempt: TaskAttempt, component: str | None) -> str:
    """Altostrat's wording for a failed node, e.g. ``Webhook request failed: 503 Service Unavailable``."""
    out = attempt.output or {}
    if component in (C.WEBHOOK, C.ALTOSTRAT_API):
        what = "Webhook" if component == C.WEBHOOK else "Altostrat API"
        code = out.get("status", out.get("status_code", out.get("statusCode")))
        if isinstance(code, int) and not isinstance(code, bool):
            try:
                phrase = HTTPStatus(code).phrase
            except ValueError:
                phrase = ""
            return f"{what} request failed: {code} {phrase}".rstrip()
        return f"{what} request failed: {attempt.reason or 'no response'}"
    if attempt.status == TaskStatus.TIMED_OUT:
        return f"Node '{attempt.ref}' timed out."
    return attempt.reason or f"Node '{attempt.ref}' failed."


def trigger_payload(execution: Execution) -> dict[str, Any]:
    """The payload as the caller sent it: the run's input without what the gateway added, with the
    caller's own ``run_id``/``trigger_type`` back where the trigger's replaced them."""
    payload = {k: v for k, v in (execution.input or {}).items() if k not in HIDDEN_INPUT}
    shadowed = (execution.metadata or {}).get(SHADOWED)
    return {**payload, **shadowed} if isinstance(shadowed, dict) else payload


def inherited_refs(execution: Execution) -> frozenset[str]:
    """Nodes a resumed run took over from its original run (replay.resumed_definition)."""
    if execution.definition is None:
        return frozenset()
    return frozenset(s.ref for s in execution.definition.tasks if s.extra.get("inherited_from"))


def ran_here(attempt: TaskAttempt, execution: Execution, inherited: frozenset[str] | None = None) -> bool:
    """False for attempts a resumed run took over from its original (they ran there, not here)."""
    extra = attempt.extra or {}
    if extra.get("copied_from") or extra.get("cloned_from") or extra.get("copied"):
        return False
    return attempt.ref not in (inherited_refs(execution) if inherited is None else inherited)


def log_entry(attempt: TaskAttempt, execution: Execution, trigger_id: str | None) -> dict[str, Any] | None:
    status = log_status(attempt)
    if status is None:
        return None
    component = component_of(attempt, execution)
    if attempt.ref == trigger_id:
        output: dict[str, Any] = {k: v for k, v in (execution.input or {}).items() if k != INHERITED}
    else:
        output = dict(attempt.output or {}) if isinstance(attempt.output, dict) else {"value": attempt.output}
        if attempt.branch is not None and C.is_condition(component or ""):
            output.setdefault("result", attempt.branch == "true")
            output.setdefault("branch", attempt.branch)
        if status == "error":
            output["error"] = failure_message(attempt, component)
    return {
        "id": ids.log_id(attempt.id),
        "execution_id": execution.id,
        "node_id": attempt.ref,
        "component_id": component,
        "status": status,
        "output": output,
        "created_at": iso(attempt.ended_ms or attempt.updated_ms or execution.updated_ms or execution.created_ms),
    }


def logs_of(execution: Execution, trigger_id: str | None) -> list[dict[str, Any]]:
    attempts = sorted(execution.tasks, key=lambda a: (a.seq, a.ended_ms, a.attempt))
    out = []
    inherited = inherited_refs(execution)
    for a in attempts:
        if not ran_here(a, execution, inherited):
            continue
        entry = log_entry(a, execution, trigger_id)
        if entry is not None:
            out.append(entry)
    return out


def error_message(execution: Execution) -> str | None:
    """The failed node's message for a failed run, or the message of the terminate node that
    failed it; for a completed run whose error path was taken, that node's message; else None."""
    inherited = inherited_refs(execution)
    failed = [a for a in execution.tasks if a.status in _FAILED and ran_here(a, execution, inherited)]
    fatal = [a for a in failed if not _continues(a, execution)]
    run_failed = RUN_STATUS.get(execution.status) == "failed"
    if not fatal and run_failed:
        if execution.status == ExecutionStatus.TIMED_OUT:
            return "The workflow run exceeded the maximum duration of 1 hour."
        if execution.reason and _terminated_by_node(execution, inherited):
            return execution.reason
    if fatal or failed:
        last = max(fatal or failed, key=lambda a: (a.ended_ms, a.seq))
        return failure_message(last, component_of(last, execution))
    if run_failed:
        return execution.reason or "The workflow run failed."
    return None


def _terminated_by_node(execution: Execution, inherited: frozenset[str]) -> bool:
    return any(a.status == TaskStatus.COMPLETED and component_of(a, execution) == C.TERMINATE
               and ran_here(a, execution, inherited) for a in execution.tasks)


_FAILED = frozenset({TaskStatus.FAILED, TaskStatus.FAILED_WITH_TERMINAL_ERROR, TaskStatus.TIMED_OUT})


def _continues(attempt: TaskAttempt, execution: Execution) -> bool:
    if execution.definition is None:
        return False
    return any(s.ref == attempt.ref and s.continue_on_error for s in execution.definition.tasks)


def trigger_ref(execution: Execution) -> str | None:
    if execution.definition is None:
        return None
    for spec in execution.definition.tasks:
        if C.is_trigger(spec.extra.get("component_id") or spec.name):
            return spec.ref
    return None


def run(execution: Execution, *, with_logs: bool = True) -> dict[str, Any]:
    status = RUN_STATUS.get(execution.status, "running")
    started = execution.started_ms or execution.created_ms
    ended = execution.ended_ms if execution.status.terminal else 0
    body: dict[str, Any] = {
        "id": execution.id,
        "status": status,
        "trigger_payload": trigger_payload(execution),
        "error_message": error_message(execution) if execution.tasks or status == "failed" else None,
        "started_at": iso(started),
        "completed_at": iso(ended) if ended else None,
        "duration_in_seconds": round(max(ended - started, 0) / 1000, 3) if ended else None,
        "created_at": iso(execution.created_ms or started),
        "original_run_id": execution.cloned_from or (execution.metadata or {}).get("original_run_id"),
    }
    if with_logs:
        body["logs"] = logs_of(execution, trigger_ref(execution))
    return body


def workflow(record: dict[str, Any], base_url: str, authorization: dict[str, Any] | None = None,
             *, full: bool = True) -> dict[str, Any]:
    token = record.get("webhook_token")
    nxt = next_due(record, max(record["updated_ms"], _now()))
    body: dict[str, Any] = {
        "id": record["id"],
        "name": record["name"],
        "description": record.get("description"),
    }
    if full and "nodes" in record:  # another dialect's workflow has no nodes (workflows.foreign_view)
        body["nodes"] = record["nodes"]
        body["edges"] = record["edges"]
    body.update({
        "schedule_type": record.get("schedule_type") or "manual",
        "schedule_value": record.get("schedule_value"),
        "next_run_at": iso(nxt) if nxt else None,
        "is_active": bool(record.get("is_active", True)),
        "webhook_url": f"{base_url.rstrip('/')}/workflows/webhooks/{token}" if token else None,
        "created_at": iso(record["created_ms"]),
        "updated_at": iso(record["updated_ms"]),
    })
    if authorization is not None:
        body["authorization"] = authorization
    return body


def _now() -> int:
    import time

    return int(time.time() * 1000)
