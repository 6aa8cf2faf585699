"""START_WORKFLOW on the engine's ``start`` kind: the task's ``startWorkflow`` input read as the OSS
server's StartWorkflow system task reads it (a StartWorkflowRequest), into what the engine starts.

As on the OSS server the started run stands alone (no parent, the caller does not wait), it takes the
starting run's correlationId and taskToDomain when its request gives none, and the task completes at
once with output ``{"workflowId": <id>}``; a request it cannot read, or a workflow that is not
registered, fails the task with the server's reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wfgateway.core.errors import EvaluationFailed
from wfgateway.core.model import TASK_DOMAINS

EVALUATOR = "conductor.start_workflow"
OUTPUT_KEY = "workflowId"
_PARAMETER = "startWorkflow"


def start_params() -> dict[str, Any]:
    """A START_WORKFLOW task's params: the evaluator, and what it needs of the starting run."""
    return {"evaluator": EVALUATOR, "output_key": OUTPUT_KEY,
            "starter": {"correlationId": "${workflow.correlationId}",
                        "taskToDomain": "${workflow.metadata.taskToDomain}"}}


def start_request(params: dict[str, Any], data: Any) -> dict[str, Any]:
    """The engine's start request from the task input's ``startWorkflow``; EvaluationFailed (the OSS
    server's reason) when it is missing or not a valid StartWorkflowRequest."""
    task_input = data if isinstance(data, Mapping) else {}
    request = task_input.get(_PARAMETER)
    if request is None:
        raise EvaluationFailed(f"Missing '{_PARAMETER}' in input data.")
    if not isinstance(request, Mapping):
        raise EvaluationFailed(f"Error reading StartWorkflowRequest. Cannot construct a StartWorkflowRequest "
                               f"from a {_json_type(request)} value")
    version, priority = _integer(request, "version"), _integer(request, "priority")
    for key in ("input", "taskToDomain"):
        if request.get(key) is not None and not isinstance(request[key], Mapping):
            raise EvaluationFailed(f"Error reading StartWorkflowRequest. '{key}' must be an object, "
                                   f"not a {_json_type(request[key])}")
    violations = []
    if request.get("name") is None:
        violations.append("'name' -> Workflow name cannot be null or empty")
    if priority is not None and priority < 0:
        violations.append(f"'priority' -> priority: {priority} should be minimum 0")
    if priority is not None and priority > 99:
        violations.append(f"'priority' -> priority: {priority} should be maximum 99")
    if violations:
        raise EvaluationFailed(f"{_PARAMETER} validation failed. " + "".join(f"{v}. " for v in violations))
    if request.get("workflowDef") is not None:
        raise EvaluationFailed(f"{_PARAMETER}.workflowDef (a definition given inline) is not supported by this "
                               "gateway: register the workflow and name it")
    name = str(request["name"])
    if not name:
        raise EvaluationFailed(f"No such workflow defined. name=, version={_java(version)}")
    given = params.get("starter")
    starter: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    correlation = request.get("correlationId")
    if not isinstance(correlation, str) or not correlation.strip():
        correlation = starter.get("correlationId")  # StringUtils.defaultIfBlank, as the OSS task does
    domains = request.get("taskToDomain") or starter.get("taskToDomain") or None
    return {"name": name, "version": version, "input": dict(request.get("input") or {}),
            "missing_reason": f"No such workflow defined. name={name}, version={_java(version)}",
            "correlation_id": correlation if isinstance(correlation, str) else None,
            "priority": priority or 0,
            "metadata": {"taskToDomain": dict(domains), TASK_DOMAINS: dict(domains)} if domains else None}


def _java(version: int | None) -> str:
    return "null" if version is None else str(version)


def _integer(request: Mapping[str, Any], key: str) -> int | None:
    value = request.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise EvaluationFailed(f"Error reading StartWorkflowRequest. '{key}' must be an integer, "
                               f"not a {_json_type(value)}")
    try:
        return int(value)  # Jackson reads "2" as 2
    except ValueError:
        raise EvaluationFailed(f"Error reading StartWorkflowRequest. '{key}': {value!r} is not an integer") from None


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return type(value).__name__
