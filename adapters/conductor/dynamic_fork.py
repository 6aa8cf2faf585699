"""FORK_JOIN_DYNAMIC expansion: the task list (or the inputs list) resolved at run time -> TaskSpecs.

Two Conductor styles: ``dynamicForkTasksParam`` names a list of workflowTask objects and
``dynamicForkTasksInputParamName`` a map reference name -> input; or ``forkTaskName`` (or
``forkTaskWorkflow``) with ``forkTaskInputs``, one task per input.  The engine calls the
expander registered under ``EXPANDER_NAME`` when the dynamic task is scheduled.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wfgateway.adapters.conductor.definitions import (
    CONTAINER_TYPES,
    EXPANDER,
    SUPPORTED_TYPES,
    _Builder,
    user_defined,
)

from wfgateway.core.errors import InvalidArgument
from wfgateway.core.model import TaskSpec

EXPANDER_NAME = EXPANDER
_FORKABLE = SUPPORTED_TYPES - CONTAINER_TYPES


def expand_dynamic_fork(params: Mapping[str, Any], spec: TaskSpec, execution: Any = None) -> list[TaskSpec]:
    """The branch tasks for one dynamic fork (``params`` resolved), each a one-task chain with no
    dependencies, so all run in parallel and the dynamic task joins them; InvalidArgument names a bad list."""
    tasks = params.get("tasks")
    if params.get("mode") == "inputs":
        workflow_tasks = _from_inputs(spec, params, tasks)
        inputs: Mapping[str, Any] = {wt["taskReferenceName"]: wt.pop("_input") for wt in workflow_tasks}
    else:
        if not isinstance(tasks, list):
            raise InvalidArgument(
                f"Dynamic fork {spec.ref}: dynamicForkTasksParam must resolve to a list of tasks, got {type(tasks).__name__}"
            )
        workflow_tasks = [_checked(spec, t) for t in tasks]
        raw_inputs = params.get("inputs")
        inputs = raw_inputs if isinstance(raw_inputs, Mapping) else {}
    builder = _Builder(spec.ref, {})
    out: list[TaskSpec] = []
    seen: set[str] = set()
    for wt in workflow_tasks:
        ref = wt["taskReferenceName"]
        if ref in seen:
            raise InvalidArgument(f"Dynamic fork {spec.ref}: duplicate taskReferenceName {ref}")
        seen.add(ref)
        given = inputs.get(ref)
        wt = {**wt, "inputParameters": dict(given) if isinstance(given, Mapping) else dict(wt.get("inputParameters") or {})}
        child = builder._leaf(wt, str(wt.get("type") or "SIMPLE"), [])
        out.append(child)
    return out


def _checked(spec: TaskSpec, task: Any) -> dict[str, Any]:
    if not isinstance(task, Mapping) or not task.get("name") or not task.get("taskReferenceName"):
        raise InvalidArgument(f"Dynamic fork {spec.ref}: every task needs name and taskReferenceName")
    kind = str(task.get("type") or "SIMPLE")
    if kind not in _FORKABLE and not user_defined(kind):
        raise InvalidArgument(f"Dynamic fork {spec.ref}: task type {kind} cannot be forked dynamically here")
    return {**task, "type": kind}


def _from_inputs(spec: TaskSpec, params: Mapping[str, Any], inputs: Any) -> list[dict[str, Any]]:
    if not isinstance(inputs, list):
        raise InvalidArgument(f"Dynamic fork {spec.ref}: forkTaskInputs must resolve to a list")
    name = params.get("fork_task_name")
    kind = str(params.get("fork_task_type") or "SIMPLE")
    out = []
    for i, value in enumerate(inputs):
        wt: dict[str, Any] = {"name": name, "taskReferenceName": f"_{name}_{i}", "type": kind,
                              "_input": value if isinstance(value, Mapping) else {"input": value}}
        if kind == "SUB_WORKFLOW":
            wt["subWorkflowParam"] = {"name": name, "version": params.get("fork_task_version")}
        out.append(wt)
    return out
