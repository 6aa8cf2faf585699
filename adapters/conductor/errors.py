"""Conductor's ErrorResponse and the exact messages its server uses (vendor facts §1.5)."""

from __future__ import annotations

import socket
from typing import Any

import orjson
from starlette.responses import Response

from wfgateway.core.errors import (
    Conflict,
    ErrorContext,
    GatewayError,
    InvalidArgument,
    NotFound,
    ValidationFailed,
)

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
                "validationErrors": [_validation_error(v) for v in error.violations]}
        if context.path.startswith("/api/tasks/poll/batch/") and any(
                v.location == "query" and v.pointer == "timeout" for v in error.violations):
            body = {"status": 400, "message": LONG_POLL_MESSAGE, "instance": INSTANCE, "retryable": False}
    code = error.details.get("error")
    if code and status in (401, 403):
        body["error"] = code
    if status >= 500 and status != 500:
        body["retryable"] = True
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _validation_error(violation: Any) -> dict[str, Any]:
    path = violation.location + ("." + violation.pointer.replace("/", ".") if violation.pointer else "")
    out: dict[str, Any] = {"path": path, "message": violation.message}
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
