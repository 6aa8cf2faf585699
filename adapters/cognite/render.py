"""Canonical objects -> Cognite JSON: versions, executions, executed tasks.

Field names, status words and ms timestamps are Cognite's.  Nested tasks (dynamic children,
subworkflow tasks) appear flat in ``executedTasks`` after their container, with
``parentTaskExternalId``; every attempt of a retried task is listed in order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wfgateway.adapters.cognite.outputs import render_output
from wfgateway.adapters.cognite.translate import Translator, normalize_task

from wfgateway.core.model import Execution, TaskAttempt, TaskSpec, WorkflowDefinition
from wfgateway.core.statuses import ExecutionStatus, TaskStatus

EXECUTION_STATUS = {
    ExecutionStatus.RUNNING: "RUNNING",
    ExecutionStatus.PAUSED: "RUNNING",  # Cognite has no paused executions
    ExecutionStatus.COMPLETED: "COMPLETED",
    ExecutionStatus.FAILED: "FAILED",
    ExecutionStatus.TIMED_OUT: "TIMED_OUT",
    ExecutionStatus.TERMINATED: "TERMINATED",
}
TASK_STATUS = {s: s.value for s in TaskStatus}
TASK_STATUS[TaskStatus.SCHEDULED] = "IN_PROGRESS"  # Cognite has no scheduled state
KIND_TO_TYPE = {"http": "function", "wait": "function", "dynamic": "dynamic", "subworkflow": "subworkflow"}


def version(d: WorkflowDefinition) -> dict[str, Any]:
    return {
        "workflowExternalId": d.name,
        "version": str(d.version),
        "workflowDefinition": d.extra.get("cognite", {}).get("workflowDefinition", {"hash": "0" * 40, "tasks": []}),
        "createdTime": d.created_ms,
        "lastUpdatedTime": d.updated_ms or d.created_ms,
    }


def execution(e: Execution) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": e.id,
        "workflowExternalId": e.definition_name,
        "version": str(e.definition_version),
        "status": EXECUTION_STATUS[e.status],
        "engineExecutionId": e.id,
        "createdTime": e.created_ms,
    }
    if e.started_ms:
        out["startTime"] = e.started_ms
    if e.ended_ms and e.status.terminal:
        out["endTime"] = e.ended_ms
    if e.reason is not None and e.status != ExecutionStatus.RUNNING:
        out["reasonForIncompletion"] = e.reason
    out["metadata"] = dict(e.metadata or {})
    return out


def accepted(e: Execution) -> dict[str, Any]:
    """The answer of run and retry: Cognite's engine works asynchronously, so both always answer the
    execution as RUNNING, even when the gateway's engine already finished it in the same step (an
    empty workflow, a dynamic task whose expansion fails at once); retrieve shows the real outcome."""
    out = execution(e)
    out["status"] = "RUNNING"
    out.pop("endTime", None)
    out.pop("reasonForIncompletion", None)
    return out


class TaskInfo:
    """What rendering a task needs from its definition: Cognite type and how the engine ran it."""

    __slots__ = ("type", "backing", "parameters")

    def __init__(self, type_: str, backing: str, parameters: Mapping[str, Any] | None) -> None:
        self.type, self.backing, self.parameters = type_, backing, parameters or {}


def info_from_spec(spec: TaskSpec) -> TaskInfo:
    meta = spec.extra.get("cognite")
    if not meta:  # a task another dialect defined: show it as the function task it behaves like
        return TaskInfo(KIND_TO_TYPE.get(spec.kind, "function"), spec.kind, _foreign_parameters(spec))
    task = meta.get("task") or {}
    return TaskInfo(meta.get("type") or KIND_TO_TYPE.get(spec.kind, "function"), meta.get("backing") or spec.kind,
                    task.get("parameters"))


def _foreign_parameters(spec: TaskSpec) -> dict[str, Any]:
    """Parameters for a task of another dialect, so the SDK can parse it: a worker or wait task is an
    asynchronously completed function named after the task, a sub-workflow names its workflow and version."""
    kind = KIND_TO_TYPE.get(spec.kind, "function")
    if kind == "subworkflow":
        return {"subworkflow": {"workflowExternalId": str(spec.params.get("name") or spec.name or spec.ref),
                                "version": str(spec.params.get("version") or "")}}
    if kind != "function":
        return {}
    return {"function": {"externalId": spec.name or spec.ref, "data": spec.input},
            "isAsyncComplete": spec.kind in ("worker", "wait")}


def specs_of(e: Execution) -> dict[str, TaskInfo]:
    return {s.ref: info_from_spec(s) for s in (e.definition.tasks if e.definition else [])}


def task(a: TaskAttempt, info: TaskInfo, parent: str | None = None, external_id: str | None = None
         ) -> dict[str, Any]:
    """One executed task (also the answer of tasks update)."""
    out: dict[str, Any] = {
        "id": a.id,
        "externalId": external_id or a.ref,
        "status": TASK_STATUS[a.status],
        "taskType": info.type,
        "input": _input(a, info),
        "output": render_output(info.type, info.backing, a.output),
    }
    if parent is not None:
        out["parentTaskExternalId"] = parent
    if a.started_ms:
        out["startTime"] = a.started_ms
    elif a.scheduled_ms:
        out["startTime"] = a.scheduled_ms
    if a.ended_ms and a.status.terminal:
        out["endTime"] = a.ended_ms
    if a.reason is not None and (a.status.unsuccessful_terminal or a.status is TaskStatus.COMPLETED_WITH_ERRORS):
        out["reasonForIncompletion"] = a.reason
    return out


def _input(a: TaskAttempt, info: TaskInfo) -> dict[str, Any]:
    params = a.input.get("parameters") if isinstance(a.input, Mapping) else None
    if not isinstance(params, Mapping):
        params = info.parameters
    params = dict(params)
    if info.type == "function":  # executed tasks say asyncComplete where definitions say isAsyncComplete
        params["asyncComplete"] = bool(params.pop("isAsyncComplete", False))
    return _parseable(params, info, a)


def _parseable(params: dict[str, Any], info: TaskInfo, a: TaskAttempt) -> dict[str, Any]:
    """``params`` with what cognite-sdk reads for the task's type (``WorkflowTaskParameters.load_parameters``):
    the SDK parses every executed task of a run, and one it cannot parse -- a loop iteration or fork branch of
    another dialect's run, a dynamic task whose resolved list was not valid tasks -- made the whole run
    unreadable (KeyError).  The task's own parameters are kept where they already parse."""
    if info.type == "function":
        function = params.get("function")
        if not isinstance(function, Mapping) or not function.get("externalId"):
            params["function"] = {**(function if isinstance(function, Mapping) else {}),
                                  "externalId": a.name or a.ref}
    elif info.type == "subworkflow":
        sub = params.get("subworkflow")
        if not isinstance(sub, Mapping) or not (
                _tasks_parse(sub.get("tasks")) or ("workflowExternalId" in sub and "version" in sub)):
            named = info.parameters.get("subworkflow") if isinstance(info.parameters, Mapping) else None
            params["subworkflow"] = named if isinstance(named, Mapping) and "workflowExternalId" in named and \
                "version" in named else {"workflowExternalId": a.name or a.ref, "version": ""}
    elif info.type == "dynamic":
        dynamic = params.get("dynamic")
        tasks = dynamic.get("tasks") if isinstance(dynamic, Mapping) else None
        if not isinstance(tasks, str) and not _tasks_parse(tasks):
            declared = info.parameters.get("dynamic") if isinstance(info.parameters, Mapping) else None
            reference = declared.get("tasks") if isinstance(declared, Mapping) else None
            params["dynamic"] = {"tasks": reference if isinstance(reference, str) else []}
    return params


def _tasks_parse(tasks: Any) -> bool:
    """A list of tasks the SDK can load: each names its externalId and type, and its parameters hold the
    object its type is read from (``{"function": {...}}`` for a function task, and so on)."""
    if not isinstance(tasks, list):
        return False
    for t in tasks:
        if not isinstance(t, Mapping) or not isinstance(t.get("externalId"), str) or not isinstance(t.get("type"), str):
            return False
        params = t.get("parameters")
        if not isinstance(params, Mapping) or not isinstance(params.get(t["type"]), Mapping):
            return False
    return True


def dynamic_children_info(container: TaskAttempt, translator: Translator) -> dict[str, TaskInfo]:
    """Infos of the tasks a dynamic container expanded to (its resolved input lists them)."""
    params = container.input.get("parameters") if isinstance(container.input, Mapping) else None
    listed = ((params or {}).get("dynamic") or {}).get("tasks")
    out: dict[str, TaskInfo] = {}
    if isinstance(listed, list):
        for t in listed:
            try:
                n = normalize_task(t)
                out[n["externalId"]] = TaskInfo(n["type"], translator.backing(n), n["parameters"])
            except Exception:  # an expansion that failed has no children to describe
                continue
    return out


def executed_tasks(e: Execution, children: Mapping[str, Execution], translator: Translator,
                   parent: str | None = None) -> list[dict[str, Any]]:
    """Every attempt of ``e`` in order; the tasks of a dynamic container and of a subworkflow follow
    their container's attempt, flat, with ``parentTaskExternalId``."""
    infos = specs_of(e)
    by_id = {a.id: a for a in e.tasks}
    nested: dict[str, list[TaskAttempt]] = {}
    for a in e.tasks:
        if a.parent_attempt_id in by_id:
            nested.setdefault(a.parent_attempt_id or "", []).append(a)
    out: list[dict[str, Any]] = []
    for a in e.tasks:
        if a.parent_attempt_id in by_id:
            continue  # listed after its container
        info = infos.get(a.ref) or TaskInfo(KIND_TO_TYPE.get(a.kind, "function"), a.kind, None)
        out.append(task(a, info, parent))
        if a.id in nested:
            scope = dynamic_children_info(a, translator)
            for n in nested[a.id]:
                local = nested_external_id(n.ref, a.ref)
                n_info = scope.get(local) or TaskInfo(KIND_TO_TYPE.get(n.kind, "function"), n.kind, None)
                out.append(task(n, n_info, a.ref, local))
        child = children.get(a.subworkflow_id) if a.subworkflow_id else None
        if child is not None:
            out.extend(executed_tasks(child, children, translator, parent=a.ref))
    return out


def nested_external_id(ref: str, container_ref: str) -> str:
    """The Cognite externalId of a dynamic child (the engine prefixes it with its container's ref)."""
    prefix = container_ref + ":"
    return ref[len(prefix):] if ref.startswith(prefix) else ref


def execution_detailed(e: Execution, children: Mapping[str, Execution], translator: Translator) -> dict[str, Any]:
    out = execution(e)
    out["input"] = dict(e.input or {})
    definition = e.definition.extra.get("cognite", {}).get("workflowDefinition") if e.definition else None
    out["workflowDefinition"] = definition or {"hash": "0" * 40, "tasks": []}
    out["executedTasks"] = executed_tasks(e, children, translator)
    return out
