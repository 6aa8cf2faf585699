"""Re-run and resume-from as Altostrat does them: a new run of the workflow *as it is now*.

Altostrat keeps no workflow versions: a run executes the workflow's current nodes and edges, so a
user who fixes a failing node and then re-runs or resumes gets the fix.  A re-run is a plain new
run with the original trigger payload.  A resumed run executes the current graph with the original
run's results standing in for the resume node and everything upstream of it ("inheriting the
context from the original run up to the specified node"): those nodes do not run again, their
outputs (and condition branches, and error paths taken) are replayed for what follows.

The replayed outputs travel in the new run's input under ``INHERITED`` and are read back through
whole-value templates, so an output is never parsed as a template itself.
"""

from __future__ import annotations

import re
from typing import Any

from wfgateway.adapters.altostrat import components as C
from wfgateway.adapters.altostrat import render, runs
from wfgateway.adapters.altostrat import workflows as W

from wfgateway.core import model as M
from wfgateway.core.errors import InvalidArgument, NotFound
from wfgateway.core.statuses import TaskStatus

INHERITED = "__inherited__"
_SAFE_KEY = re.compile(r"^[^.\[\]{}]+$")
_FAILED = frozenset({TaskStatus.FAILED, TaskStatus.FAILED_WITH_TERMINAL_ERROR, TaskStatus.TIMED_OUT})


def rerun_input(original: Any, record: dict[str, Any] | None, new_id: str) -> dict[str, Any]:
    """The same trigger payload with the new run's id; another dialect's input stays as it was."""
    if record is None or W.is_foreign(record):
        return dict(original.input or {})
    return runs.trigger_input(original.input.get("trigger_type", "manual"), render.trigger_payload(original), new_id)


def latest_attempts(execution: Any) -> dict[str, M.TaskAttempt]:
    """The last top-level attempt of each node of a run."""
    out: dict[str, M.TaskAttempt] = {}
    for a in sorted(execution.tasks, key=lambda a: a.seq):
        if a.parent_attempt_id is None:
            out[a.ref] = a
    return out


def _ancestors(tasks: list[M.TaskSpec], ref: str) -> set[str]:
    deps = {t.ref: [e.ref for e in t.depends_on] for t in tasks}
    seen: set[str] = set()
    stack = list(deps.get(ref, []))
    while stack:
        r = stack.pop()
        if r not in seen:
            seen.add(r)
            stack.extend(deps.get(r, []))
    return seen


def resumed_definition(tenant: str, record: dict[str, Any], original: Any,
                       node_id: str) -> tuple[M.WorkflowDefinition, list[Any]]:
    """The definition a run resumed from ``node_id`` executes, and the outputs it inherits (which
    go in its input under ``INHERITED``).  NotFound if the workflow has no such node now;
    InvalidArgument (``node_not_completed``) if the node did not complete in ``original``."""
    graph = W.check(record)
    if graph.errors:
        raise InvalidArgument(graph.errors[0], details={"code": "invalid_workflow"})
    if all(t.ref != node_id for t in graph.tasks):
        raise NotFound(f"Node '{node_id}' not found in workflow '{record['id']}'.")
    last = latest_attempts(original)
    done = last.get(node_id)
    if done is None or done.status != TaskStatus.COMPLETED:
        raise InvalidArgument(f"Node '{node_id}' did not complete successfully in workflow run '{original.id}'.",
                              details={"code": "node_not_completed"})
    keep = _ancestors(graph.tasks, node_id) | {node_id}
    inherited: list[Any] = []
    for spec in graph.tasks:
        attempt = last.get(spec.ref)
        if spec.ref not in keep or attempt is None:
            continue  # runs as defined now (a node added upstream since, or one skipped before)
        if attempt.status == TaskStatus.COMPLETED:
            _replay_success(spec, attempt, inherited)
        elif attempt.status in _FAILED and spec.continue_on_error:
            _replay_error_path(spec)
        else:
            continue
        spec.extra = {**spec.extra, "inherited_from": attempt.id}
        spec.retries, spec.timeout_ms = 0, None
    return W.to_definition(tenant, record, graph), inherited


def _replay_success(spec: M.TaskSpec, attempt: M.TaskAttempt, inherited: list[Any]) -> None:
    component = spec.extra.get("component_id") or spec.name
    if C.is_trigger(component):
        return  # the trigger's output is the run's input, which the new run carries
    if C.is_condition(component) and attempt.branch in ("true", "false"):
        spec.kind = M.CONDITION  # the same branch again, with the same output
        spec.params = {"left": attempt.branch == "true", "operator": "equals", "right": True}
        return
    output = attempt.output if isinstance(attempt.output, dict) else {"value": attempt.output}
    index = len(inherited)
    inherited.append(output)
    spec.kind, spec.params = M.NOOP, {}  # a noop's output is its input: the original output
    spec.input = {k: (f"${{workflow.input.{INHERITED}[{index}].{k}}}" if _SAFE_KEY.match(k) else v)
                  for k, v in output.items()}


def _replay_error_path(spec: M.TaskSpec) -> None:
    """A node that failed with ``continue_on_error``: fail it again without running it, so its error
    edges are taken as before.  A condition whose operator resolves to nothing fails at once."""
    spec.kind = M.CONDITION
    spec.params = {"left": None, "operator": f"${{workflow.input.{INHERITED}_failed}}", "right": None}
    spec.input = {}
