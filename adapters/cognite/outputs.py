"""Task outputs between the engine's shapes and Cognite's.

Cognite shows ``function`` output as ``{callId, functionId, response}``, ``cdf`` as
``{response, statusCode}``, ``transformation`` as ``{jobId}`` and dynamic/subworkflow as ``{}``.
An http-backed task's engine output carries the HTTP answer (body and status code); a wait-backed
task's engine output is what ``tasks/{id}/update`` stored, merged over Cognite's empty shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Where the engine's http kind keeps the answer (``{"status", "headers", "body"}``).
HTTP_BODY: tuple[str, ...] = ("body",)
HTTP_STATUS: tuple[str, ...] = ("status",)

_EMPTY: dict[str, dict[str, Any]] = {
    "function": {"callId": None, "functionId": None, "response": None},
    "cdf": {"response": None, "statusCode": None},
    "transformation": {"jobId": None},
    "simulation": {"runId": None, "logId": None, "statusMessage": None},
}


def engine_path(cognite_key: str) -> tuple[str, ...] | None:
    """The engine output path of a Cognite output key of an http-backed task (None: unchanged)."""
    if cognite_key == "response":
        return HTTP_BODY
    if cognite_key == "statusCode":
        return HTTP_STATUS
    if cognite_key == "jobId":
        return (*HTTP_BODY, "jobId")
    return None


def _at(value: Any, path: tuple[str, ...]) -> Any:
    for p in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(p)
    return value


def render_output(task_type: str, backing: str, output: Mapping[str, Any] | None) -> dict[str, Any]:
    """Cognite's output object for a task of ``task_type`` run as engine kind ``backing``."""
    output = output or {}
    if task_type in ("dynamic", "subworkflow"):
        return {}
    empty = dict(_EMPTY.get(task_type, {}))
    if backing != "http":
        return {**empty, **output}
    body = _at(output, HTTP_BODY)
    if task_type == "cdf":
        return {"response": body, "statusCode": _at(output, HTTP_STATUS)}
    if task_type == "transformation":
        return {"jobId": body.get("jobId") if isinstance(body, Mapping) else None}
    return {**empty, "response": body}
