"""START_WORKFLOW on the engine's ``start`` kind: the task's ``startWorkflow`` input read as the OSS
server's StartWorkflow system task reads it (a StartWorkflowRequest), into what the engine starts.

As on the OSS server the started run stands alone (no parent, the caller does not wait), it takes the
starting run's correlationId and taskToDomain when its request gives none, and the task completes at
once with output ``{"workflowId": <id>}``; a request it cannot read, or a workflow that is not
registered, fails the task with the server's reason.  The latest version runs when the request names
none; a ``workflowDef`` given inline runs instead of a registered one (under its own name, not
registered).  ``idempotencyKey`` / ``idempotencyStrategy`` are read (a strategy must be one of the
enum's) but, as in the OSS task, which starts through WorkflowExecutor.startWorkflow, not applied: every
run of the task starts a new workflow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from wfgateway.core.errors import EvaluationFailed, InvalidArgument, ValidationFailed
from wfgateway.core.model import TASK_DOMAINS

EVALUATOR = "conductor.start_workflow"
OUTPUT_KEY = "workflowId"
_PARAMETER = "startWorkflow"
_STRATEGIES = ("FAIL", "RETURN_EXISTING", "FAIL_ON_RUNNING")  # the OSS IdempotencyStrategy enum
Translate = Callable[[Mapping[str, Any]], dict[str, Any]]  # an inline WorkflowDef -> the start request's fields


def start_params() -> dict[str, Any]:
    """A START_WORKFLOW task's params: the evaluator, and what it needs of the starting run."""
    return {"evaluator": EVALUATOR, "output_key": OUTPUT_KEY,
            "starter": {"correlationId": "${workflow.correlationId}",
                        "taskToDomain": "${workflow.metadata.taskToDomain}"}}


def evaluator(translate: Translate) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The START_WORKFLOW evaluator, ``translate`` making what the engine starts for an inline workflowDef
    (its ``definition``, and the ``definition_from`` that gives it the TaskDefs of the start)."""
    def evaluate(params: dict[str, Any], data: Any) -> dict[str, Any]:
        return start_request(params, data, translate)
    return evaluate


def start_request(params: dict[str, Any], data: Any, translate: Translate | None = None) -> dict[str, Any]:
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
    for key in ("input", "taskToDomain", "workflowDef"):
        if request.get(key) is not None and not isinstance(request[key], Mapping):
            raise EvaluationFailed(f"Error reading StartWorkflowRequest. '{key}' must be an object, "
                                   f"not a {_json_type(request[key])}")
    correlation = _text(request, "correlationId")
    _text(request, "idempotencyKey")
    strategy = _text(request, "idempotencyStrategy")
    if strategy is not None and strategy not in _STRATEGIES:
        raise EvaluationFailed(f"Error reading StartWorkflowRequest. 'idempotencyStrategy': \"{strategy}\" is not "
                               f"one of the values accepted for Enum class: [{', '.join(_STRATEGIES)}]")
    inline = request.get("workflowDef")
    violations = []
    if request.get("name") is None:
        violations.append("'name' -> Workflow name cannot be null or empty")
    if priority is not None and priority < 0:
        violations.append(f"'priority' -> priority: {priority} should be minimum 0")
    if priority is not None and priority > 99:
        violations.append(f"'priority' -> priority: {priority} should be maximum 99")
    if isinstance(inline, Mapping):
        violations.extend(_inline_violations(inline))
    if violations:
        raise EvaluationFailed(f"{_PARAMETER} validation failed. " + "".join(f"{v}. " for v in violations))
    if "input" in request and request["input"] is None:  # WorkflowExecutor's validateWorkflow
        raise EvaluationFailed("NULL input passed when starting workflow")
    name = str(request["name"])
    out: dict[str, Any] = {"name": name, "version": version}
    if isinstance(inline, Mapping):  # runs instead of a registered definition, under its own name
        if translate is None:
            raise EvaluationFailed(f"{_PARAMETER}.workflowDef cannot be run here")
        try:
            out.update(translate(inline))
        except (InvalidArgument, ValidationFailed) as exc:
            raise EvaluationFailed(exc.message) from None
        out["name"] = str(inline["name"])
    elif not name:
        raise EvaluationFailed(f"No such workflow defined. name=, version={_java(version)}")
    given = params.get("starter")
    starter: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    if correlation is None or not correlation.strip():
        correlation = starter.get("correlationId")  # StringUtils.defaultIfBlank, as the OSS task does
    domains = request.get("taskToDomain") or starter.get("taskToDomain") or None
    return {**out, "input": dict(request.get("input") or {}),
            "missing_reason": f"No such workflow defined. name={name}, version={_java(version)}",
            "correlation_id": correlation if isinstance(correlation, str) else None,
            "priority": priority or 0,
            "metadata": {"taskToDomain": dict(domains), TASK_DOMAINS: dict(domains)} if domains else None}


def _inline_violations(inline: Mapping[str, Any]) -> list[str]:
    """The bean constraints the OSS validator cascades into ``workflowDef`` (``@Valid``)."""
    found = []
    if not inline.get("name"):
        found.append("'workflowDef.name' -> WorkflowDef name cannot be null or empty")
    tasks = inline.get("tasks")
    if not isinstance(tasks, list) or not tasks:
        found.append("'workflowDef.tasks' -> WorkflowTask list cannot be empty")
        return found
    for i, task in enumerate(tasks):
        task = task if isinstance(task, Mapping) else {}
        if not task.get("name"):
            found.append(f"'workflowDef.tasks[{i}].name' -> WorkflowTask name cannot be empty or null")
        if not task.get("taskReferenceName"):
            found.append(f"'workflowDef.tasks[{i}].taskReferenceName' -> WorkflowTask taskReferenceName name "
                         "cannot be empty or null")
    return found


def _text(request: Mapping[str, Any], key: str) -> str | None:
    """A String field as Jackson reads it: a number or boolean becomes its text, an array or object cannot."""
    value = request.get(key)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    raise EvaluationFailed(f"Error reading StartWorkflowRequest. '{key}' must be a string, not a {_json_type(value)}")


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
