"""Conductor WorkflowDef JSON -> the engine's WorkflowDefinition (a DAG of TaskSpecs).

Conductor's ordered task list becomes a chain: each task depends on the one before.  A FORK_JOIN's
branches are parallel chains that start at the fork and end at the JOIN that follows; a SWITCH's
cases are chains on the switch's branches and the task after the switch depends on the switch and
every case's last task (unselected cases are skipped, so their edges are dead).  The registered
JSON is kept in ``definition.extra`` (GET metadata answers it verbatim) and each workflowTask JSON
in ``TaskSpec.extra`` (Task JSON carries it as ``workflowTask``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from wfgateway.adapters.conductor import (
    event_task,
    exclusive_join,
    scripting,
    secret_refs,
    start_workflow,
)
from wfgateway.adapters.conductor.durations import seconds_to_ms
from wfgateway.adapters.conductor.task_def_rules import apply_task_def, dynamic_rules, effective_task_def
from wfgateway.adapters.conductor.task_params import (
    dynamic_params,
    event_params,
    http_params,
    inline_params,
    jq_params,
    rewrite_http_templates,
    switch_params,
    wait_params,
)

from wfgateway.core.errors import InvalidArgument, ValidationFailed, Violation
from wfgateway.core.model import (
    COMPUTE,
    DYNAMIC,
    HTTP,
    LOOP,
    NOOP,
    SET,
    START,
    SUBWORKFLOW,
    SWITCH,
    TERMINATE,
    WAIT,
    WORKER,
    Edge,
    TaskSpec,
    WorkflowDefinition,
)
from wfgateway.engine.codec import definition_to_dict

DIALECT = "conductor"
EXPANDER = "conductor"
DEF_KEY = "conductorDef"  # definition.extra key: the WorkflowDef JSON as registered
WT_KEY = "workflowTask"  # TaskSpec.extra key: the workflowTask JSON
TYPE_KEY = "taskType"  # TaskSpec.extra key: Conductor's runtime taskType

# Conductor workflowTask.type -> engine kind (containers and JOIN handled apart).
_SIMPLE_KINDS = {
    "SIMPLE": WORKER,
    "HTTP": HTTP,
    "SUB_WORKFLOW": SUBWORKFLOW,
    "WAIT": WAIT,
    "HUMAN": WAIT,  # IN_PROGRESS until a task update completes or fails it, as the OSS server's Human task
    "YIELD": WAIT,  # Orkes: IN_PROGRESS until a signal (or a task update) ends it; it has no timer
    "SET_VARIABLE": SET,
    "TERMINATE": TERMINATE,
    "NOOP": NOOP,
    "INLINE": COMPUTE,
    "JSON_JQ_TRANSFORM": COMPUTE,
    "LAMBDA": COMPUTE,  # scriptExpression, evaluated when the task runs (the OSS server checks nothing earlier)
    "START_WORKFLOW": START,  # startWorkflow, read when the task runs (the OSS server checks nothing earlier)
    "EVENT": COMPUTE,  # published when it runs: see event_task.py
    "EXCLUSIVE_JOIN": COMPUTE,  # the output of the one joinOn task that ran: see exclusive_join.py
    "DYNAMIC": WORKER,  # a worker task whose name (its queue) is its dynamicTaskNameParam input, read when scheduled
}
SUPPORTED_TYPES = frozenset({*_SIMPLE_KINDS, "FORK_JOIN", "FORK_JOIN_DYNAMIC", "JOIN", "SWITCH", "DECISION",
                             "DO_WHILE"})
CONTAINER_TYPES = frozenset({"FORK_JOIN", "FORK_JOIN_DYNAMIC", "JOIN", "SWITCH", "DECISION", "DO_WHILE"})
# The OSS server's own task types (its TaskType enum) this gateway does not run: refused at registration.
# Any other type the OSS server maps as USER_DEFINED (UserDefinedTaskMapper): a worker task queued under
# its type, so this gateway runs it the same way.
UNSUPPORTED_OSS_TYPES = frozenset({
    "KAFKA_PUBLISH",
    "LLM_TEXT_COMPLETE", "LLM_CHAT_COMPLETE", "LLM_INDEX_TEXT", "LLM_SEARCH_INDEX", "LLM_GENERATE_EMBEDDINGS",
    "LLM_STORE_EMBEDDINGS", "LLM_GET_EMBEDDINGS", "LIST_MCP_TOOLS", "CALL_MCP_TOOL", "PULL_WORKFLOW_MESSAGES",
    "AGENT", "GET_AGENT_CARD", "CANCEL_AGENT",
})


def user_defined(kind: str) -> bool:
    """A type the OSS server runs as a user-defined worker task (``USER_DEFINED`` or any type it has no
    task of its own for, e.g. ``USER_DEFINED``): polled by that type, its TaskDef (if any) by the task's name."""
    return kind not in SUPPORTED_TYPES and kind not in UNSUPPORTED_OSS_TYPES
def to_definition(
    doc: Mapping[str, Any], tenant: str, task_defs: Mapping[str, Mapping[str, Any]] | None = None
) -> WorkflowDefinition:
    """Translate a (schema-valid) WorkflowDef; InvalidArgument / ValidationFailed name what is wrong."""
    name = str(doc["name"])
    check_unique_refs(doc)
    builder = _Builder(name, task_defs or {})
    specs, _ = builder.chain(list(doc.get("tasks") or []), [])
    every = all_specs(specs)
    http_refs = {s.ref for s in every if s.kind == HTTP}
    output = dict(doc.get("outputParameters") or {})
    for spec in every:  # ${workflow.secrets.X} stays a reference until the task is handed off
        spec.input = own_task_id(secret_refs.to_engine(spec.input))
        spec.params = own_task_id(secret_refs.to_engine(spec.params))
    if http_refs:
        for spec in every:
            spec.input = rewrite_http_templates(spec.input, http_refs)
            spec.params = rewrite_http_templates(spec.params, http_refs)
        output = rewrite_http_templates(output, http_refs)
    timeout_ms = seconds_to_ms(doc.get("timeoutSeconds") or 0)
    now = int(time.time() * 1000)
    stored = dict(doc)
    # version 0 (or none) is stored as 1, WorkflowDef's default, so what lists as a version deletes as one
    stored["version"] = stored_version(doc.get("version"))
    stored.setdefault("schemaVersion", 2)
    stored.setdefault("restartable", True)
    stored.setdefault("timeoutSeconds", 0)
    return WorkflowDefinition(
        tenant=tenant,
        name=name,
        version=stored_version(doc.get("version")),
        tasks=specs,
        description=doc.get("description"),
        timeout_ms=timeout_ms if timeout_ms > 0 and doc.get("timeoutPolicy") == "TIME_OUT_WF" else None,
        output=output,
        dialect=DIALECT,
        restartable=bool(doc.get("restartable", True)),
        extra={DEF_KEY: stored},
        on_failure=failure_workflow(doc),
        created_ms=now,  # set by the server, as Conductor does; a client's createTime is not trusted
        updated_ms=now,
    )


def inline_body(doc: Mapping[str, Any], task_defs: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The engine's body of a WorkflowDef given inline (a SUB_WORKFLOW's workflowDefinition, a
    START_WORKFLOW's workflowDef): run in the tenant of the run that gives it, never registered, the same
    snapshot for the same definition."""
    body = definition_to_dict(to_definition(doc, "", task_defs))
    body.pop("tenant", None)
    body.pop("created_ms", None)
    body.pop("updated_ms", None)
    return body


def own_task_id(value: Any) -> Any:
    """Conductor's ``${CPEWF_TASK_ID}`` (a task input naming the task's own id, as conductor-python's
    examples use it) -> the engine's ``${self.id}``."""
    if isinstance(value, str):
        return value.replace("${CPEWF_TASK_ID}", "${self.id}") if "CPEWF_TASK_ID" in value else value
    if isinstance(value, dict):
        return {k: own_task_id(v) for k, v in value.items()}
    if isinstance(value, list):
        return [own_task_id(v) for v in value]
    return value


FAILURE_OUTPUT_KEY = "conductor.failure_workflow"


def failure_workflow(doc: Mapping[str, Any]) -> dict[str, Any] | None:
    """``failureWorkflow`` (a name, or a ``${workflow.input.x}`` template): started when a workflow
    fails, its id recorded in the failed workflow's output under ``conductor.failure_workflow``."""
    name = doc.get("failureWorkflow")
    if not isinstance(name, str) or not name.strip():
        return None
    version = doc.get("failureWorkflowVersion")
    return {"name": name.strip(), "version": version if isinstance(version, int) and version > 0 else None,
            "output_key": FAILURE_OUTPUT_KEY}


def all_specs(specs: list[TaskSpec]) -> list[TaskSpec]:
    """Specs and the specs of loop bodies inside them, depth first."""
    out: list[TaskSpec] = []
    for spec in specs:
        out.append(spec)
        out.extend(all_specs(spec.body))
    return out


def referenced_task_names(doc: Mapping[str, Any]) -> set[str]:
    """Names of every task in a WorkflowDef (nested too): the TaskDefs that may apply."""
    names = set()
    for t in iter_tasks(doc.get("tasks") or []):
        names.add(str(t.get("name")))
        inline = (t.get("subWorkflowParam") or {}).get("workflowDefinition")
        if isinstance(inline, Mapping):  # an inline child's tasks use the same TaskDefs
            names |= referenced_task_names(inline)
    return names


def iter_tasks(tasks: list[Any]) -> list[dict[str, Any]]:
    """Every workflowTask of a list, depth first, including those nested in forks and switches."""
    out: list[dict[str, Any]] = []
    for task in tasks:
        if not isinstance(task, dict):
            continue
        out.append(task)
        for branch in task.get("forkTasks") or []:
            out.extend(iter_tasks(branch or []))
        for case in (task.get("decisionCases") or {}).values():
            out.extend(iter_tasks(case or []))
        out.extend(iter_tasks(task.get("defaultCase") or []))
        out.extend(iter_tasks(task.get("loopOver") or []))
    return out


def check_unique_refs(doc: Mapping[str, Any]) -> None:
    seen: set[Any] = set()  # reference names as sent (the spec checks their type)
    violations = []
    for task in iter_tasks(doc.get("tasks") or []):
        ref = task.get("taskReferenceName")
        if ref in seen:
            violations.append(Violation(
                "body", "tasks",
                f"taskReferenceName: {ref} should be unique across tasks for a given workflowDefinition: {doc.get('name')}",
                ref,
            ))
        seen.add(ref)
    if violations:
        raise ValidationFailed("duplicate taskReferenceName", violations=violations)


def runtime_task_type(wt: Mapping[str, Any]) -> str:
    """Conductor's runtime ``taskType``: the def name for SIMPLE, FORK for forks, else the type."""
    kind = str(wt.get("type") or "SIMPLE")
    if kind == "SIMPLE":
        return str(wt.get("name"))
    if kind in ("FORK_JOIN", "FORK_JOIN_DYNAMIC"):
        return "FORK"
    if kind == "DECISION":
        return "DECISION"
    return kind


class _Builder:
    def __init__(self, workflow_name: str, task_defs: Mapping[str, Mapping[str, Any]]) -> None:
        self.workflow_name = workflow_name
        self.task_defs = task_defs
        self.in_loop = False

    def chain(self, tasks: list[dict[str, Any]], deps: list[Edge]) -> tuple[list[TaskSpec], list[Edge]]:
        """Specs for an ordered list starting after ``deps``; returns them and the chain's end edges."""
        specs: list[TaskSpec] = []
        for wt in tasks:
            kind = str(wt.get("type") or "SIMPLE")
            if kind not in SUPPORTED_TYPES and not user_defined(kind):
                raise InvalidArgument(
                    f"Task type {kind} of task {wt.get('taskReferenceName')} is not supported by this gateway "
                    f"(supported: {', '.join(sorted(SUPPORTED_TYPES))})"
                )
            if kind == "FORK_JOIN":
                deps = self._fork(wt, deps, specs)
            elif kind in ("SWITCH", "DECISION"):
                deps = self._switch(wt, deps, specs)
            elif kind == "JOIN":
                specs.append(self._spec(wt, NOOP, deps, input=_join_input(wt)))
                deps = [Edge(wt["taskReferenceName"])]
            elif kind == "FORK_JOIN_DYNAMIC":
                specs.append(self._dynamic(wt, deps))
                deps = [Edge(wt["taskReferenceName"])]
            elif kind == "DO_WHILE":
                specs.append(self._loop(wt, deps))
                deps = [Edge(wt["taskReferenceName"])]
            else:
                specs.append(self._leaf(wt, kind, deps))
                deps = [Edge(wt["taskReferenceName"])]
        return specs, deps

    # -- containers ---------------------------------------------------------------------------
    def _fork(self, wt: dict[str, Any], deps: list[Edge], specs: list[TaskSpec]) -> list[Edge]:
        ref = wt["taskReferenceName"]
        specs.append(self._spec(wt, NOOP, deps))
        ends: list[Edge] = []
        for branch in wt.get("forkTasks") or []:
            branch_specs, branch_ends = self.chain(list(branch or []), [Edge(ref)])
            specs.extend(branch_specs)
            ends.extend(branch_ends)
        return _dedup(ends) or [Edge(ref)]

    def _switch(self, wt: dict[str, Any], deps: list[Edge], specs: list[TaskSpec]) -> list[Edge]:
        ref = wt["taskReferenceName"]
        cases = dict(wt.get("decisionCases") or {})
        specs.append(self._spec(wt, SWITCH, deps, params={**switch_params(wt), "cases": list(cases)}))
        ends: list[Edge] = [Edge(ref)]
        for case, tasks in [*cases.items(), ("default", wt.get("defaultCase") or [])]:
            branch_specs, branch_ends = self.chain(list(tasks or []), [Edge(ref, branch=str(case))])
            specs.extend(branch_specs)
            if branch_specs:
                ends.extend(branch_ends)
        return _dedup(ends)

    def _loop(self, wt: dict[str, Any], deps: list[Edge]) -> TaskSpec:
        """DO_WHILE: its loopOver tasks are the loop's body (a chain of their own); loopCondition is
        asked after every iteration, with ``$`` = the loop's input, each loop task's output by reference
        name, and the loop's own output under its reference name."""
        ref = str(wt["taskReferenceName"])
        loop_over = list(wt.get("loopOver") or [])
        if not loop_over:
            raise InvalidArgument(f"DO_WHILE task {ref}: loopOver needs at least one task")
        condition = wt.get("loopCondition")
        if not isinstance(condition, str) or not condition.strip():
            raise InvalidArgument(f"DO_WHILE task {ref}: loopCondition is required")
        if self.in_loop:
            raise InvalidArgument(f"DO_WHILE task {ref}: a DO_WHILE inside another DO_WHILE is not supported")
        self.in_loop = True
        try:
            body, _ = self.chain(loop_over, [])
        finally:
            self.in_loop = False
        spec = self._spec(wt, LOOP, deps, params={"evaluator": scripting.LOOP, "condition": condition, "ref": ref})
        spec.body = body
        return spec

    def _dynamic(self, wt: dict[str, Any], deps: list[Edge]) -> TaskSpec:
        params_in = dict(wt.get("inputParameters") or {})
        tasks_param = wt.get("dynamicForkTasksParam") or wt.get("dynamicForkJoinTasksParam")
        inputs_param = wt.get("dynamicForkTasksInputParamName")
        params: dict[str, Any]
        if tasks_param:
            params = {"tasks": params_in.get(tasks_param), "inputs": params_in.get(inputs_param) if inputs_param else {},
                      "mode": "tasks"}
        elif "forkTaskName" in params_in or "forkTaskWorkflow" in params_in:
            params = {"tasks": params_in.get("forkTaskInputs") or [], "mode": "inputs",
                      "fork_task_name": params_in.get("forkTaskName") or params_in.get("forkTaskWorkflow"),
                      "fork_task_type": params_in.get("forkTaskType") or (
                          "SUB_WORKFLOW" if "forkTaskWorkflow" in params_in else "SIMPLE"),
                      "fork_task_version": params_in.get("forkTaskWorkflowVersion")}
        else:
            raise InvalidArgument(
                f"FORK_JOIN_DYNAMIC task {wt.get('taskReferenceName')} needs dynamicForkTasksParam "
                "(with dynamicForkTasksInputParamName) or forkTaskName / forkTaskInputs"
            )
        params["expander"] = EXPANDER
        return self._spec(wt, DYNAMIC, deps, params=params)

    # -- leaves -------------------------------------------------------------------------------
    def _leaf(self, wt: dict[str, Any], kind: str, deps: list[Edge]) -> TaskSpec:
        inp = dict(wt.get("inputParameters") or {})
        if user_defined(kind):
            spec = self._spec(wt, WORKER, deps, input=inp, policy=True)
            spec.name = kind  # its queue is its type (the OSS server's QueueUtils name for the task)
            return spec
        engine_kind = _SIMPLE_KINDS[kind]
        params: dict[str, Any] = {}
        if kind == "HTTP":
            params = http_params(wt, inp)
        elif kind == "SUB_WORKFLOW":
            sub = wt.get("subWorkflowParam") or {}
            if not sub.get("name"):
                raise InvalidArgument(f"SUB_WORKFLOW task {wt['taskReferenceName']} needs subWorkflowParam.name")
            params = {"name": sub["name"], "version": sub.get("version"), "input": inp}
            inline = sub.get("workflowDefinition")
            if isinstance(inline, Mapping) and inline:
                params["definition"] = self._inline_child(wt, inline)
        elif kind == "WAIT":
            params = wait_params(wt, inp)
        elif kind == "SET_VARIABLE":
            params = {"variables": inp}
        elif kind == "TERMINATE":
            params = {"status": inp.get("terminationStatus") or "COMPLETED", "reason": inp.get("terminationReason"),
                      "output": inp.get("workflowOutput") or {}}
        elif kind == "INLINE":
            params = inline_params(wt, inp)
        elif kind == "JSON_JQ_TRANSFORM":
            params = jq_params(wt, inp)
        elif kind == "LAMBDA":
            params = {"evaluator": scripting.LAMBDA}
        elif kind == "START_WORKFLOW":
            params = start_workflow.start_params()
        elif kind == "EVENT":
            inp, params = event_task.event_input(wt), event_params(wt)
        elif kind == "EXCLUSIVE_JOIN":
            inp, params = exclusive_join.join_input(wt), exclusive_join.join_params(wt)
        elif kind == "DYNAMIC":
            params = dynamic_params(wt, inp)
            if effective_task_def(wt, self.task_defs) is None:
                params.update(dynamic_rules(wt))
        return self._spec(wt, engine_kind, deps, input=inp, params=params, policy=True)

    def _inline_child(self, wt: Mapping[str, Any], inline: Mapping[str, Any]) -> dict[str, Any]:
        """The engine's form of ``subWorkflowParam.workflowDefinition``: the child runs it (snapshotted
        with the parent's definition, so reruns, retries and restarts run the same child); it is not
        registered as a definition of its own, as in the OSS server."""
        sub = wt.get("subWorkflowParam") or {}
        doc = {**inline, "name": inline.get("name") or sub.get("name")}
        if not doc.get("version") and sub.get("version"):
            doc["version"] = sub["version"]
        try:
            return inline_body(doc, self.task_defs)
        except (InvalidArgument, ValidationFailed) as exc:
            raise InvalidArgument(f"SUB_WORKFLOW task {wt.get('taskReferenceName')}: workflowDefinition: "
                                  f"{exc.message}") from None

    def _spec(self, wt: dict[str, Any], kind: str, deps: list[Edge], *, input: dict[str, Any] | None = None,
              params: dict[str, Any] | None = None, policy: bool = False) -> TaskSpec:
        spec = TaskSpec(
            ref=str(wt["taskReferenceName"]),
            kind=kind,
            name=str(wt.get("name")),
            depends_on=list(deps),
            input=dict(wt.get("inputParameters") or {}) if input is None else input,
            params=params or {},
            optional=bool(wt.get("optional", False)),
            extra={WT_KEY: wt, TYPE_KEY: runtime_task_type(wt)},
        )
        if policy:
            apply_task_def(spec, wt, effective_task_def(wt, self.task_defs))
        return spec


def _join_input(wt: Mapping[str, Any]) -> dict[str, Any]:
    """A JOIN's output is each joined task's output under its reference name."""
    return {str(ref): "${" + str(ref) + ".output}" for ref in wt.get("joinOn") or []}


def _dedup(edges: list[Edge]) -> list[Edge]:
    out: list[Edge] = []
    for edge in edges:
        if edge not in out:
            out.append(edge)
    return out


def stored_version(version: Any) -> int:
    """The version a WorkflowDef is stored and read under: 0 (or none) is WorkflowDef's default 1.

    Register stores version 0 as 1, so a read or delete asking for version 0 must ask for 1 too."""
    return int(version or 1)
