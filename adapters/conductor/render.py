"""Executions and task attempts -> Conductor's Workflow, Task, WorkflowStatus and WorkflowSummary JSON.

Field names and status words are Conductor's (the canonical statuses are Conductor's words, so they
map one to one); null fields are omitted as Jackson NON_NULL does.  ``taskId`` is the engine's
attempt id, ``retryCount`` the attempt number and ``retriedTaskId`` the attempt it retried.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from wfgateway.adapters.conductor import def_defaults
from wfgateway.adapters.conductor.definitions import (
    DEF_KEY,
    TYPE_KEY,
    WT_KEY,
    all_specs,
    iter_tasks,
    runtime_task_type,
    user_defined,
)
from wfgateway.adapters.conductor.secret_refs import to_conductor

from wfgateway.core.model import (
    COMPUTE,
    CONDITION,
    DOMAIN,
    DYNAMIC,
    HTTP,
    ITERATION,
    LOOP,
    NOOP,
    SET,
    SKIPPED_ON_REQUEST,
    START,
    SUBWORKFLOW,
    SWITCH,
    TERMINATE,
    WAIT,
    WORKER,
    Execution,
    TaskAttempt,
    TaskSpec,
    WorkflowDefinition,
)
from wfgateway.core.statuses import TaskStatus
from wfgateway.core.utc_text import utc_millis_text
from wfgateway.exact_json import dumps

_FAILED = (TaskStatus.FAILED, TaskStatus.FAILED_WITH_TERMINAL_ERROR)
_CHILD_ENDED = (*_FAILED, TaskStatus.TIMED_OUT, TaskStatus.CANCELED)
_DYNAMIC_CHILD_TYPES = {WORKER: "SIMPLE", HTTP: "HTTP", SUBWORKFLOW: "SUB_WORKFLOW", WAIT: "WAIT", SET: "SET_VARIABLE",
                        TERMINATE: "TERMINATE", NOOP: "NOOP", COMPUTE: "INLINE", LOOP: "DO_WHILE"}
# the runtime taskType of a task another dialect defined (a worker task's is its name, as a SIMPLE task's is)
_FOREIGN_TYPES = {**_DYNAMIC_CHILD_TYPES, DYNAMIC: "FORK", SWITCH: "SWITCH", CONDITION: "SWITCH",
                  START: "START_WORKFLOW"}


def local_name(attempt: TaskAttempt) -> str:
    """Nested tasks (a dynamic fork's, a loop's) are stored as ``<container ref>:<ref>``."""
    return str(attempt.extra.get("local_ref") or attempt.ref)


def reference_name(attempt: TaskAttempt) -> str:
    """Conductor's taskReferenceName: the definition's ref, ``<ref>__<iteration>`` inside a DO_WHILE."""
    iteration = attempt.extra.get("iteration")
    return f"{local_name(attempt)}__{iteration}" if iteration else local_name(attempt)


def iteration_of(attempt: TaskAttempt) -> int:
    if attempt.kind == LOOP:
        return int((attempt.output or {}).get("iteration") or 0)
    return int(attempt.extra.get("iteration") or 0)


def listed(tasks: Iterable[TaskAttempt]) -> list[TaskAttempt]:
    """The attempts Conductor lists: not the engine's loop iterations, not dead-branch (SKIPPED) tasks
    (a task skipped on request is listed, SKIPPED, as Conductor's skipTaskFromWorkflow shows it)."""
    return [t for t in tasks if t.kind != ITERATION
            and (t.status != TaskStatus.SKIPPED or t.extra.get(SKIPPED_ON_REQUEST))]


def workflow_def_json(definition: WorkflowDefinition) -> dict[str, Any]:
    """The WorkflowDef as it was registered (plus the audit times Conductor adds)."""
    doc = dict(definition.extra.get(DEF_KEY) or {})
    if not doc:  # a definition another dialect wrote: describe it as well as Conductor can
        doc = {"name": definition.name, "version": _int_version(definition.version), "schemaVersion": 2,
               "restartable": definition.restartable, "timeoutSeconds": (definition.timeout_ms or 0) // 1000,
               "tasks": [{"name": s.name or s.ref, "taskReferenceName": s.ref, "type": "SIMPLE",
                          "inputParameters": s.input} for s in definition.tasks]}
    doc = def_defaults.workflow_def(doc)
    if definition.created_ms:
        doc["createTime"] = definition.created_ms
    if definition.updated_ms:
        doc["updateTime"] = definition.updated_ms
    return doc


class SpecIndex:
    """workflowTask JSON and runtime taskType by reference name, from the execution's definition."""

    def __init__(self, definition: WorkflowDefinition | None) -> None:
        self.by_ref: dict[str, dict[str, Any]] = {}
        self.specs: dict[str, TaskSpec] = {}
        if definition is None:
            return
        for spec in all_specs(definition.tasks):
            self.specs[spec.ref] = spec
        raw = (definition.extra.get(DEF_KEY) or {}).get("tasks") or []
        for wt in iter_tasks(raw):
            self.by_ref[str(wt.get("taskReferenceName"))] = wt

    def _spec(self, attempt: TaskAttempt) -> TaskSpec | None:
        spec = self.specs.get(attempt.ref)
        if spec is None and "iteration" in attempt.extra:  # a loop task: its spec is in the loop's body
            spec = self.specs.get(local_name(attempt))
        return spec

    def workflow_task(self, attempt: TaskAttempt) -> dict[str, Any] | None:
        spec = self._spec(attempt)
        if spec is not None and WT_KEY in spec.extra:
            return spec.extra[WT_KEY]
        found = attempt.extra.get(WT_KEY) or self.by_ref.get(attempt.ref)
        if found is None and attempt.parent_attempt_id:  # a task a dynamic fork created
            found = {"name": attempt.name, "taskReferenceName": reference_name(attempt),
                     "type": _DYNAMIC_CHILD_TYPES.get(attempt.kind, attempt.kind.upper())}
        return found

    def task_type(self, attempt: TaskAttempt, wt: dict[str, Any] | None) -> str:
        spec = self._spec(attempt)
        if spec is not None and TYPE_KEY in spec.extra:
            kind = str(spec.extra[TYPE_KEY])  # a DYNAMIC task's is the name it was given when scheduled
            return attempt.name if kind == "DYNAMIC" and attempt.kind == WORKER else kind
        if attempt.extra.get(TYPE_KEY):
            return str(attempt.extra[TYPE_KEY])
        if attempt.extra.get("conductorTaskType"):  # a task an upstream Conductor answered
            return str(attempt.extra["conductorTaskType"])
        if wt is not None:
            return runtime_task_type(wt)
        if attempt.kind == WORKER:
            return attempt.name or "SIMPLE"
        return _FOREIGN_TYPES.get(attempt.kind, attempt.kind.upper())

    def response_timeout(self, attempt: TaskAttempt) -> int:
        """The TaskDef's responseTimeoutSeconds: that of the name a DYNAMIC task resolved to, kept on its
        attempt when it took that TaskDef's rules (the OSS DynamicTaskMapper copies it), else its run's."""
        spec = self._spec(attempt)
        given = attempt.extra.get("responseTimeoutSeconds")
        if given is None and spec is not None:
            given = spec.extra.get("responseTimeoutSeconds")
        return int(given or 3600)

    def rate_limit(self, attempt: TaskAttempt) -> tuple[int, int]:
        """(rateLimitPerFrequency, rateLimitFrequencyInSeconds) of a SIMPLE task: its run's TaskDef's, 1 s
        when unset (the OSS SimpleTaskMapper copies them from the TaskDef's getters); 0, 0 for others --
        a DYNAMIC task's too: the OSS DynamicTaskMapper copies no rate limit (its TaskDef's still hold at poll)."""
        spec = self._spec(attempt)
        if spec is None or spec.kind != WORKER or spec.extra.get(TYPE_KEY) == "DYNAMIC":
            return 0, 0
        limits = spec.limits
        return (0, 1) if limits is None else (limits.per_window, limits.window_ms // 1000)


def task_json(attempt: TaskAttempt, execution: Execution | None, index: SpecIndex | None = None) -> dict[str, Any]:
    index = index or SpecIndex(execution.definition if execution else None)
    wt = index.workflow_task(attempt)
    task_type = index.task_type(attempt, wt)
    status = attempt.status
    output = dict(attempt.output or {})
    if attempt.subworkflow_id and task_type == "SUB_WORKFLOW":
        output.setdefault("subWorkflowId", attempt.subworkflow_id)
    if task_type == "HTTP" and "response" not in output and "status" in output:
        output = {"response": {"body": output.get("body"), "statusCode": output.get("status"),
                               "headers": output.get("headers") or {}, "reasonPhrase": _reason(output.get("status"))}}
    if task_type in ("SWITCH", "DECISION") and "selected" in output:
        output.setdefault("evaluationResult", [output["selected"]])
    input_data = to_conductor(attempt.input or {})  # secrets stay references
    inline = ((wt or {}).get("subWorkflowParam") or {}).get("workflowDefinition") if task_type == "SUB_WORKFLOW" else None
    if inline:  # the OSS server shows the inline child it ran in the task's input
        input_data = {**input_data, "subWorkflowDefinition": inline}
    doc: dict[str, Any] = {
        "taskType": task_type,
        "status": str(status),
        "inputData": input_data,
        "referenceTaskName": reference_name(attempt),
        "retryCount": attempt.attempt,
        "seq": attempt.seq,
        "correlationId": execution.correlation_id if execution else None,
        "pollCount": attempt.poll_count,
        "taskDefName": _def_name(attempt, wt),
        "scheduledTime": attempt.scheduled_ms,
        "startTime": attempt.started_ms,
        "endTime": attempt.ended_ms,
        "updateTime": attempt.updated_ms,
        "startDelayInSeconds": 0,
        "retriedTaskId": attempt.retried_from,
        "retried": attempt.retried,
        "executed": status.terminal,
        "callbackFromWorker": True,
        "responseTimeoutSeconds": index.response_timeout(attempt),
        "workflowInstanceId": attempt.execution_id,
        "workflowType": execution.definition_name if execution else None,
        "taskId": attempt.id,
        "reasonForIncompletion": task_reason(attempt),
        "callbackAfterSeconds": max(0, (attempt.callback_after_ms - attempt.updated_ms) // 1000)
        if attempt.callback_after_ms else 0,
        "workerId": attempt.worker_id,
        "domain": attempt.extra.get(DOMAIN),
        "outputData": output,
        "workflowTask": def_defaults.workflow_task(wt) if wt is not None else None,
        "rateLimitPerFrequency": index.rate_limit(attempt)[0],
        "rateLimitFrequencyInSeconds": index.rate_limit(attempt)[1],
        "workflowPriority": execution.priority if execution else 0,
        "iteration": iteration_of(attempt),
        "subWorkflowId": attempt.subworkflow_id,
        "subworkflowChanged": False,
        "firstStartTime": 0,
        "parentTaskId": attempt.extra.get("loop_id") or attempt.parent_attempt_id,
        "queueWaitTime": max(0, attempt.started_ms - attempt.scheduled_ms) if attempt.started_ms else 0,
        "loopOverTask": iteration_of(attempt) > 0,
    }
    return {k: v for k, v in doc.items() if v is not None}


def _def_name(attempt: TaskAttempt, wt: dict[str, Any] | None) -> str:
    """taskDefName: the task's name; a user-defined type's task is queued under its type, not its name."""
    if wt is not None and wt.get("name") and user_defined(str(wt.get("type") or "SIMPLE")):
        return str(wt["name"])
    return attempt.name or (wt or {}).get("name") or attempt.ref


def failed_tasks(execution: Execution, index: SpecIndex | None = None) -> tuple[list[str], list[str]]:
    """failedReferenceTaskNames and failedTaskNames, as Conductor records them: when a workflow ends
    (failed or completed) the refs and def names of every FAILED(_WITH_TERMINAL_ERROR) task it lists
    are added; a retry does not clear them (the failed attempts it retried stay named while it runs)."""
    if not execution.tasks:  # a search page's runs are read without their tasks
        return [], []
    refs: list[str] = []
    names: list[str] = []
    terminal = execution.status.terminal
    for t in sorted(listed(execution.tasks), key=lambda t: t.seq):
        if t.status not in _FAILED:
            continue
        if terminal or (t.retried and execution.last_retried_ms and t.ended_ms <= execution.last_retried_ms):
            ref = reference_name(t)
            if ref not in refs:
                refs.append(ref)
            if index is None:
                index = SpecIndex(execution.definition)
            name = _def_name(t, index.workflow_task(t))
            if name and name not in names:
                names.append(name)
    return refs, names


def incompletion_reason(execution: Execution) -> str | None:
    """reasonForIncompletion: a run a task failed for good carries the OSS decider's sentence naming the
    task, the run's status and the task's reason; any other (terminate, timeout) its reason as given."""
    return _run_reason(str(execution.status), execution.status.terminal, execution.reason,
                       execution.extra.get("failed_task"))


def _run_reason(status: str, terminal: bool, reason: str | None, failed: Any) -> str | None:
    if not isinstance(failed, dict) or not failed.get("id") or not terminal or reason != failed.get("reason"):
        return reason
    why = _child_reason(failed.get("reason"), failed.get("child"))
    return f"Task {failed['id']} failed with status: {status} and reason: '{'null' if why is None else why}'"


def task_reason(attempt: TaskAttempt) -> str | None:
    """A task's reasonForIncompletion: a sub-workflow task its child run ended unsuccessfully names the
    child as the OSS server's SubWorkflow does (``Sub workflow <name>.<version>/<id> failure reason:
    <the child's reason>``); any other task its own reason."""
    if attempt.status not in _CHILD_ENDED:
        return attempt.reason
    return _child_reason(attempt.reason, attempt.extra.get("child"))


def _child_reason(reason: str | None, child: Any) -> str | None:
    if not isinstance(child, dict) or child.get("status") == "COMPLETED":
        return reason
    status = str(child.get("status"))
    why = _run_reason(status, True, child.get("reason"), child.get("failed_task"))
    return (f"Sub workflow {child.get('name')}.{_int_version(child.get('version'))}/{child.get('id')} "
            f"failure reason: {'null' if why is None else why}")


class DefinitionDocs:
    """The WorkflowDef JSON of each definition a listing's runs share, rendered once per listing: runs of
    one definition share its snapshot object (Execution.definition, which nothing changes), and filling
    in Conductor's defaults costs more than the rest of a run without its tasks."""

    def __init__(self) -> None:
        self._docs: dict[int, tuple[WorkflowDefinition, dict[str, Any]]] = {}  # keeps each definition alive

    def of(self, definition: WorkflowDefinition) -> dict[str, Any]:
        known = self._docs.get(id(definition))
        if known is None:
            known = self._docs[id(definition)] = (definition, workflow_def_json(definition))
        return known[1]


def workflow_json(execution: Execution, include_tasks: bool = True,
                  definitions: DefinitionDocs | None = None) -> dict[str, Any]:
    """The Workflow; ``definitions`` shares the workflowDefinition documents of a listing's runs."""
    definition = execution.definition
    index = SpecIndex(definition) if include_tasks else None  # failed_tasks builds one if it needs it
    refs, names = failed_tasks(execution, index)
    if definition is None:
        definition_doc = None
    else:
        definition_doc = definitions.of(definition) if definitions is not None else workflow_def_json(definition)
    doc: dict[str, Any] = {
        "createTime": execution.created_ms,
        "updateTime": execution.updated_ms or None,
        "status": str(execution.status),
        "endTime": execution.ended_ms or None,
        "workflowId": execution.id,
        "parentWorkflowId": execution.parent_execution_id,
        "parentWorkflowTaskId": execution.parent_task_id,
        # Tasks on dead branches (an unselected SWITCH case) are SKIPPED rows in the engine; Conductor
        # never schedules them, so they are not listed (nor the engine's loop iterations).
        "tasks": [task_json(t, execution, index)
                  for t in sorted(listed(execution.tasks), key=lambda t: (t.seq, t.scheduled_ms))]
        if index is not None else [],
        "input": execution.input or {},
        "output": execution.output or {},
        "correlationId": execution.correlation_id,
        "reasonForIncompletion": incompletion_reason(execution),
        "taskToDomain": execution.metadata.get("taskToDomain") or {},
        "event": execution.metadata.get("event"),  # the event whose handler started the run
        "failedReferenceTaskNames": refs,
        "failedTaskNames": names,
        "workflowDefinition": definition_doc,
        "priority": execution.priority,
        "variables": execution.variables or {},
        "lastRetriedTime": execution.last_retried_ms,
        "history": [],
        "idempotencyKey": execution.idempotency_key,
        "rateLimited": False,
        "startTime": execution.started_ms or execution.created_ms,
        "workflowName": execution.definition_name,
        "workflowVersion": _int_version(execution.definition_version),
    }
    return {k: v for k, v in doc.items() if v is not None}


def workflows_json(executions: Iterable[Execution], include_tasks: bool = False) -> list[dict[str, Any]]:
    """The Workflows of a listing (search-v2, correlated runs, bulk search), each definition rendered once."""
    definitions = DefinitionDocs()
    return [workflow_json(e, include_tasks, definitions) for e in executions]


def workflow_status_json(execution: Execution, include_output: bool, include_variables: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {"workflowId": execution.id, "correlationId": execution.correlation_id,
                           "status": str(execution.status)}
    if include_output:
        doc["output"] = execution.output or {}
    if include_variables:
        doc["variables"] = execution.variables or {}
    return {k: v for k, v in doc.items() if v is not None}


def summary_json(execution: Execution) -> dict[str, Any]:
    """WorkflowSummary with Conductor's quirks: ISO time strings, input/output as JSON strings,
    failedReferenceTaskNames comma-joined, parentWorkflowId "" when there is none."""
    refs, names = failed_tasks(execution)
    input_text = dumps(execution.input or {}).decode()
    output_text = dumps(execution.output or {}).decode()
    started = execution.started_ms or execution.created_ms
    doc: dict[str, Any] = {
        "workflowType": execution.definition_name,
        "version": _int_version(execution.definition_version),
        "workflowId": execution.id,
        "correlationId": execution.correlation_id,
        "startTime": iso(started),
        "updateTime": iso(execution.updated_ms) if execution.updated_ms else None,
        "endTime": iso(execution.ended_ms) if execution.ended_ms else None,
        "status": str(execution.status),
        "input": input_text,
        "output": output_text,
        "reasonForIncompletion": incompletion_reason(execution),
        "executionTime": max(0, execution.ended_ms - started) if execution.ended_ms else 0,
        "event": execution.metadata.get("event"),
        "failedReferenceTaskNames": ",".join(refs),
        "failedTaskNames": names,
        "priority": execution.priority,
        "inputSize": len(input_text),
        "outputSize": len(output_text),
        "taskToDomain": execution.metadata.get("taskToDomain") or {},
        "idempotencyKey": execution.idempotency_key,
        "parentWorkflowId": execution.parent_execution_id or "",
    }
    return {k: v for k, v in doc.items() if v is not None}


def _reason(status: Any) -> str:
    try:
        return HTTPStatus(int(status)).phrase
    except (TypeError, ValueError):
        return ""


def iso(ms: int) -> str:
    """``yyyy-MM-dd'T'HH:mm:ss.SSS'Z'`` in UTC."""
    text = utc_millis_text(ms)
    if text is not None:
        return text + "Z"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _int_version(version: Any) -> int:
    try:
        return int(version)
    except (TypeError, ValueError):
        return 1
