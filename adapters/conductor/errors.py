"""Conductor's ErrorResponse and the exact messages its server uses (vendor facts §1.5)."""

from __future__ import annotations

import re
import socket
from typing import Any

from starlette.responses import Response

from wfgateway.core.errors import (
    Conflict,
    ErrorContext,
    GatewayError,
    InvalidArgument,
    NotFound,
    ValidationFailed,
)
from wfgateway.exact_json import dumps

INSTANCE = socket.gethostname() or "wfgateway"
VALIDATION_MESSAGE = "Validation failed, check below errors for detail."
LONG_POLL_MESSAGE = "Long Poll Timeout value cannot be more than 5 seconds"


def render_error(error: GatewayError, context: ErrorContext) -> Response:
    """``{status, message, instance, retryable[, error][, validationErrors]}``.

    401/403 also carry ``error`` (EXPIRED_TOKEN / INVALID_TOKEN): the Conductor SDK reads it to
    decide whether to fetch a new token and retry the call.
    """
    status = error.status
    body: dict[str, Any] = {"status": status, "message": error.message, "instance": INSTANCE, "retryable": False}
    if isinstance(error, ValidationFailed):
        body = {"status": 400, "message": VALIDATION_MESSAGE, "retryable": False,
                "validationErrors": [_validation_error(v, context.path) for v in error.violations]}
        if context.path.startswith("/api/tasks/poll/batch/") and any(
                v.location == "query" and v.pointer == "timeout" for v in error.violations):
            body = {"status": 400, "message": LONG_POLL_MESSAGE, "instance": INSTANCE, "retryable": False}
    code = error.details.get("error")
    if code and status in (401, 403):
        body["error"] = code
    if status >= 500 and status != 500:
        body["retryable"] = True
    return Response(dumps(body), status_code=status, media_type="application/json")


def _validation_error(violation: Any, request_path: str = "") -> dict[str, Any]:
    path = violation.location + ("." + violation.pointer.replace("/", ".") if violation.pointer else "")
    message = model_message(request_path, violation) if violation.location == "body" else None
    missing = _REQUIRED.match(str(violation.message))
    if message and missing:  # the server names the field itself, as a bean-validation path does
        path = f"{path}.{missing.group(1)}"
    out: dict[str, Any] = {"path": path, "message": message or violation.message}
    value = violation.value
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
        value = str(value)  # JSON numbers past 64 bits: keep the value readable, never fail to render
    if isinstance(value, (str, int, float, bool)):
        out["invalidValue"] = value
    return out


def label(name: str, version: Any, workflow_id: str, status: str | None = None) -> str:
    """``WorkflowModel.toString()``: ``{name}.{version}/{id}.{STATUS}`` (without status: the short form)."""
    base = f"{name}.{version}/{workflow_id}"
    return f"{base}.{status}" if status else base


def no_such_workflow(workflow_id: str) -> NotFound:
    return NotFound(f"No such workflow found by id: {workflow_id}")


def no_such_task(task_id: str) -> NotFound:
    return NotFound(f"No such task found by id: {task_id}")


def task_not_found_for_id(task_id: str) -> NotFound:
    return NotFound(f"Task not found for taskId: {task_id}")


def task_not_found(task_id: str) -> InvalidArgument:
    return InvalidArgument(f"Task {task_id} not found")


def not_terminal(label_with_status: str, action: str) -> Conflict:
    return Conflict(f"Workflow: {label_with_status} is not in terminal state, unable to {action}.")


def still_running(status: str) -> NotFound:
    # Conductor answers a retry of a running workflow with 404 (a NotFoundException), two spaces included.
    return NotFound(f"Workflow is still running.  status={status}")


NO_RETRYABLE_TASKS = "There are no retryable tasks! Use restart if you want to attempt entire workflow execution again."


# The constraint messages of Conductor's model classes (common/.../metadata: TaskDef, WorkflowDef,
# WorkflowTask), keyed by (class, field, kind of violation).  A jakarta ``{value}`` in a message is the
# annotation's bound, not the value sent: "TaskDef retryCount: 0 must be >= 0" for any negative count.
_TD, _WD, _WT = "TaskDef", "WorkflowDef", "WorkflowTask"
_EMPTY_KINDS = ("missing", "empty", "null")
_MODEL_MESSAGES: dict[tuple[str, str, str], str] = {
    **{(_TD, "name", k): "TaskDef name cannot be null or empty" for k in _EMPTY_KINDS},
    (_TD, "retryCount", "min"): "TaskDef retryCount: 0 must be >= 0",
    (_TD, "responseTimeoutSeconds", "min"): "TaskDef responseTimeoutSeconds: {value} should be minimum 1 second",
    (_TD, "pollTimeoutSeconds", "min"): "TaskDef pollTimeoutSeconds: 0 must be >= 0",
    (_TD, "backoffScaleFactor", "min"): "Backoff scale factor. Applicable for LINEAR_BACKOFF",
    **{(_WD, "name", k): "WorkflowDef name cannot be null or empty" for k in _EMPTY_KINDS},
    **{(_WD, "tasks", k): "WorkflowTask list cannot be empty" for k in _EMPTY_KINDS},
    **{(_WD, "schemaVersion", k): "workflowDef schemaVersion: 2 is only supported" for k in ("min", "max", "enum")},
    **{(_WT, "name", k): "WorkflowTask name cannot be empty or null" for k in _EMPTY_KINDS},
    **{(_WT, "taskReferenceName", k): "WorkflowTask taskReferenceName name cannot be empty or null"
       for k in _EMPTY_KINDS},
    (_WT, "startDelay", "min"): "must be greater than or equal to 0",
}
# a pointer segment -> the model class of what it leads to (None: free-form data, no model constraints)
_LEADS_TO: dict[str, str | None] = {
    "tasks": _WT, "forkTasks": _WT, "decisionCases": _WT, "defaultCase": _WT, "loopOver": _WT,
    "workflowDef": _WD, "workflowDefinition": _WD, "taskDefinition": _TD, "subWorkflowParam": "SubWorkflowParams",
    "inputParameters": None, "outputParameters": None, "inputTemplate": None, "variables": None,
    "metadata": None, "input": None, "taskToDomain": None,
}
_REQUIRED = re.compile(r"""^["']([^"']+)["'] is a required property""")


def _violation_kind(violation: Any) -> str | None:
    text = str(violation.message)
    if "is a required property" in text:
        return "missing"
    if "shorter than" in text or "less than 1 item" in text or "should be non-empty" in text:
        return "empty"
    if "is not of type" in text and violation.value is None:
        return "null"
    if "less than the minimum" in text:
        return "min"
    if "greater than the maximum" in text:
        return "max"
    if "is not one of" in text:
        return "enum"
    return None


def model_message(request_path: str, violation: Any) -> str | None:
    """Conductor's own message for a body violation of a TaskDef/WorkflowDef/WorkflowTask constraint."""
    kind = _violation_kind(violation)
    if kind is None:
        return None
    segments = [s for s in str(violation.pointer).split("/") if s]
    if kind == "missing":
        found = _REQUIRED.match(str(violation.message))
        if not found:
            return None
        field = found.group(1)
    elif segments:
        field = segments.pop()
    else:
        return None
    owner: str | None = None
    if request_path.startswith("/api/metadata/taskdefs"):
        owner = _TD
    elif request_path.startswith("/api/metadata/workflow"):
        owner = _WD
    for segment in segments:
        if segment in _LEADS_TO:
            owner = _LEADS_TO[segment]
    if owner is None:
        return None
    template = _MODEL_MESSAGES.get((owner, field, kind))
    return template.format(value=violation.value) if template else None
