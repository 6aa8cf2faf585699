"""Definition checks done when a definition is stored (or a dynamic task expands): clear InvalidArgument."""

from __future__ import annotations

from collections.abc import Sequence

from wfgateway.core.errors import InvalidArgument
from wfgateway.core.model import (
    COMPUTE,
    CONDITION,
    LOOP,
    SUBWORKFLOW,
    SWITCH,
    TASK_KINDS,
    TERMINATE,
    TaskSpec,
    WorkflowDefinition,
)
from wfgateway.engine import templates
from wfgateway.engine.conditions import OPERATORS
from wfgateway.engine.graph import Graph

BACKOFFS = frozenset({"fixed", "linear", "exponential"})
TERMINATE_STATUSES = frozenset({"COMPLETED", "FAILED", "TERMINATED"})


def nested_refs(specs: Sequence[TaskSpec]) -> set[str]:
    """The refs of every loop body inside ``specs`` (at any depth)."""
    out: set[str] = set()
    for s in specs:
        for b in s.body:
            out.add(b.ref)
        out |= nested_refs(s.body)
    return out


def validate_specs(specs: Sequence[TaskSpec], outer_refs: frozenset[str] = frozenset()) -> Graph:
    """Templates may name tasks of this DAG, of enclosing ones and of loop bodies nested in it (a loop
    task's latest output is visible after the loop)."""
    for s in specs:
        if not isinstance(s.ref, str) or not s.ref:
            raise InvalidArgument("Every task needs a non-empty reference name")
        if s.kind not in TASK_KINDS:
            raise InvalidArgument(f"Task '{s.ref}' has unknown kind '{s.kind}'")
    graph = Graph(specs)
    inner = nested_refs(specs)
    clash = sorted(inner & (set(graph.by_ref) | outer_refs))
    if clash:
        raise InvalidArgument(f"Task reference '{clash[0]}' is used inside and outside a loop")
    known = frozenset(graph.by_ref) | outer_refs | inner
    for s in specs:
        where = f"Task '{s.ref}'"
        if not isinstance(s.retries, int) or s.retries < 0:
            raise InvalidArgument(f"{where}: retries must be a non-negative integer")
        if s.retry_delay_ms is None or s.retry_delay_ms < 0:
            raise InvalidArgument(f"{where}: retry_delay_ms must be >= 0")
        if s.backoff not in BACKOFFS:
            raise InvalidArgument(f"{where}: backoff must be one of fixed, linear, exponential")
        if s.timeout_ms is not None and s.timeout_ms <= 0:
            raise InvalidArgument(f"{where}: timeout_ms must be positive")
        templates.check(s.input, known, where)
        own = {k: v for k, v in s.params.items() if k != "definition"} if s.kind == SUBWORKFLOW else s.params
        templates.check(own, known, where)  # an inline child's templates are checked as its own definition
        _check_kind(s, where)
        if s.kind == LOOP:
            validate_specs(s.body, frozenset(graph.by_ref) | outer_refs)
    return graph


def _check_kind(s: TaskSpec, where: str) -> None:
    p = s.params
    if s.kind == CONDITION:
        op = p.get("operator", "equals")
        if isinstance(op, str) and "${" not in op and op not in OPERATORS:
            raise InvalidArgument(f"{where}: unknown condition operator '{op}'")
    elif s.kind == SWITCH:
        cases = p.get("cases", [])
        if not isinstance(cases, (list, dict, tuple)):
            raise InvalidArgument(f"{where}: switch cases must be a list or an object")
    elif s.kind == LOOP:
        if not s.body:
            raise InvalidArgument(f"{where}: a loop needs at least one task in its body")
    elif s.kind == COMPUTE:
        if not isinstance(p.get("evaluator"), str) or not p["evaluator"]:
            raise InvalidArgument(f"{where}: a compute task needs params.evaluator (a registered evaluator name)")
    elif s.kind == SUBWORKFLOW:
        if not p.get("name") and not p.get("definition"):
            raise InvalidArgument(f"{where}: a sub-workflow task needs params.name or params.definition")
    elif s.kind == TERMINATE:
        st = p.get("status", "COMPLETED")
        if isinstance(st, str) and "${" not in st and st.upper() not in TERMINATE_STATUSES:
            raise InvalidArgument(f"{where}: terminate status must be COMPLETED, FAILED or TERMINATED")


def validate_definition(d: WorkflowDefinition) -> Graph:
    if not isinstance(d.name, str) or not d.name:
        raise InvalidArgument("A workflow definition needs a name")
    if d.version is None or (isinstance(d.version, str) and not d.version):
        raise InvalidArgument("A workflow definition needs a version")
    if d.timeout_ms is not None and d.timeout_ms <= 0:
        raise InvalidArgument("timeout_ms must be positive")
    graph = validate_specs(d.tasks)
    # the output, like a task after a loop, sees each loop body task's latest iteration
    templates.check(d.output, frozenset(graph.by_ref) | nested_refs(d.tasks), "Workflow output")
    return graph
