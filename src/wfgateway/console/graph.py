"""A run's DAG as the engine holds it, laid out in layers for the console's drawing.

Nodes are the definition's tasks plus what only exists at run time: the tasks a dynamic task fanned
out into, a loop's iterations and the tasks of each iteration (``parent/child`` ids).  Each node
carries its attempts (retries and reruns keep their history), the status of its current attempt, the
branch a switch took, the child run of a sub-workflow task and its label: the vendor's word for the
task's type (``TaskLabel`` of the run's dialect; the engine's kind when the vendor has none).  Layout: longest-path layering (a node
sits one column right of its latest predecessor), rows in definition order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from wfgateway.console.vocabulary import TaskLabel, TaskOf
from wfgateway.core.model import ITERATION, Execution, TaskAttempt, TaskSpec, WorkflowDefinition


@dataclass
class Node:
    id: str
    ref: str
    name: str
    kind: str
    parent: str | None = None  # the container node (dynamic task, loop, iteration)
    attempts: list[TaskAttempt] = field(default_factory=list)
    layer: int = 0
    row: int = 0
    spec: TaskSpec | None = None  # the definition's task (a loop's body task too); None: made at run time
    label: str = ""  # the vendor's word for its type (the engine's kind when it has none)

    def current(self) -> TaskAttempt | None:
        visible = [a for a in self.attempts if a.visible]
        pool = visible or self.attempts
        return max(pool, key=lambda a: (a.seq, a.attempt)) if pool else None


def _spec_nodes(tasks: list[TaskSpec], parent: str | None, nodes: dict[str, Node],
                edges: list[tuple[str, str, str | None]]) -> None:
    for spec in tasks:
        nid = spec.ref if parent is None else f"{parent}/{spec.ref}"
        nodes[nid] = Node(nid, spec.ref, spec.name or spec.ref, spec.kind, parent, spec=spec)
        for dep in spec.depends_on:
            edges.append((dep.ref if parent is None else f"{parent}/{dep.ref}", nid, dep.branch))


def _node_of(a: TaskAttempt, by_id: dict[str, TaskAttempt], memo: dict[str, str]) -> str:
    got = memo.get(a.id)
    if got is not None:
        return got
    parent = by_id.get(a.parent_attempt_id) if a.parent_attempt_id else None
    if parent is None:
        nid = a.ref
    else:
        local = a.ref if a.kind == ITERATION else str(a.extra.get("local_ref") or a.ref)
        nid = f"{_node_of(parent, by_id, memo)}/{local}"
    memo[a.id] = nid
    return nid


def _body_spec(nodes: dict[str, Node], parent: str | None, local: str) -> TaskSpec | None:
    """A loop's task: its spec is in the body of the loop that holds the iteration it ran in."""
    iteration = nodes.get(parent) if parent is not None else None
    if iteration is None or iteration.kind != ITERATION or iteration.parent is None:
        return None
    loop = nodes.get(iteration.parent)
    body = loop.spec.body if loop is not None and loop.spec is not None else []
    return next((s for s in body if s.ref == local), None)


def build_graph(definition: WorkflowDefinition | None, attempts: list[TaskAttempt],
                children: Mapping[str, Execution] | None = None, *, dialect: str = "",
                labels: Mapping[str, TaskLabel] | None = None,
                ) -> tuple[dict[str, Node], list[tuple[str, str, str | None]]]:
    """Nodes by id and edges (from, to, branch) of a definition and, for a run, its attempts.
    ``children`` (sub-workflow attempt id -> child run) draws those child runs inside their task;
    ``labels`` (dialect -> TaskLabel) names each node's type in its run's vendor's words."""
    nodes: dict[str, Node] = {}
    edges: list[tuple[str, str, str | None]] = []
    if definition is not None:
        _spec_nodes(definition.tasks, None, nodes, edges)
    by_id = {a.id: a for a in attempts}
    memo: dict[str, str] = {}
    for a in sorted(attempts, key=lambda a: (a.seq, a.attempt)):
        nid = _node_of(a, by_id, memo)
        node = nodes.get(nid)
        if node is None:
            parent = memo.get(a.parent_attempt_id or "")
            label = a.ref if a.kind == ITERATION else str(a.extra.get("local_ref") or a.ref)
            node = nodes[nid] = Node(nid, label, a.name or label, a.kind, parent,
                                     spec=_body_spec(nodes, parent, label))
            if parent is not None:
                edges.append((parent, nid, None))
        node.attempts.append(a)
    _label(nodes, by_id, (labels or {}).get(dialect))
    for node in list(nodes.values()):
        current = node.current()
        child = children.get(current.id) if children and current is not None else None
        if child is not None:
            _nest(node.id, child, nodes, edges, labels)
    edges = [e for e in edges if e[0] in nodes and e[1] in nodes]
    edges += _joins(nodes, edges)
    _layout(nodes, [(f, t) for f, t, _ in edges])
    return nodes, edges


def _label(nodes: dict[str, Node], by_id: dict[str, TaskAttempt], label: TaskLabel | None) -> None:
    for node in nodes.values():
        current = node.current()
        container = by_id.get(current.parent_attempt_id or "") if current is not None else None
        node.label = (label(TaskOf(node.spec, current, container)) if label is not None else None) or node.kind


def _nest(outer: str, child: Execution, nodes: dict[str, Node], edges: list[tuple[str, str, str | None]],
          labels: Mapping[str, TaskLabel] | None) -> None:
    """A sub-workflow task's child run, drawn inside the task: its nodes under ``outer/``, named in
    the child run's own vendor's words."""
    inner, inner_edges = build_graph(child.definition, child.tasks, dialect=child.dialect, labels=labels)
    targets = {t for _, t, _ in inner_edges}
    for nid, node in inner.items():
        parent = f"{outer}/{node.parent}" if node.parent is not None else outer
        nodes[f"{outer}/{nid}"] = Node(f"{outer}/{nid}", node.ref, node.name, node.kind, parent, node.attempts,
                                       spec=node.spec, label=node.label)
        if node.parent is None and nid not in targets:
            edges.append((outer, f"{outer}/{nid}", None))
    edges += [(f"{outer}/{f}", f"{outer}/{t}", b) for f, t, b in inner_edges]


def _joins(nodes: dict[str, Node], edges: list[tuple[str, str, str | None]]) -> list[tuple[str, str, None]]:
    """What a container fanned out into (its innermost run-time tasks) leads to what follows the
    container: a dynamic task's branches meet at its join, a loop's last tasks lead on."""
    children: dict[str, list[str]] = {}
    for nid, node in nodes.items():
        if node.parent is not None:
            children.setdefault(node.parent, []).append(nid)

    def leaves(nid: str) -> list[str]:
        kids = children.get(nid)
        return [leaf for k in kids for leaf in leaves(k)] if kids else [nid]

    out: list[tuple[str, str, None]] = []
    for source, target, _ in edges:
        if source in children and nodes[target].parent == nodes[source].parent:
            out += [(leaf, target, None) for leaf in leaves(source)]
    return out


def _layout(nodes: dict[str, Node], edges: list[tuple[str, str]]) -> None:
    preds: dict[str, list[str]] = {n: [] for n in nodes}
    for f, t in edges:
        preds[t].append(f)
    layer: dict[str, int] = {}

    def depth(nid: str, seen: frozenset[str] = frozenset()) -> int:
        if nid in layer:
            return layer[nid]
        if nid in seen:  # never in a DAG; a guard against a malformed one
            return 0
        value = max((depth(p, seen | {nid}) + 1 for p in preds[nid]), default=0)
        layer[nid] = value
        return value

    rows: dict[int, int] = {}
    for nid, node in nodes.items():
        node.layer = depth(nid)
        node.row = rows.get(node.layer, 0)
        rows[node.layer] = node.row + 1


def attempt_json(a: TaskAttempt) -> dict[str, Any]:
    return {
        "id": a.id, "ref": a.ref, "name": a.name, "kind": a.kind, "status": str(a.status), "attempt": a.attempt,
        "seq": a.seq, "visible": a.visible, "retried": a.retried, "retried_from": a.retried_from,
        "input": a.input, "output": a.output, "reason": a.reason, "worker_id": a.worker_id,
        "branch": a.branch, "subworkflow_id": a.subworkflow_id, "iteration": a.extra.get("iteration"),
        "scheduled_ms": a.scheduled_ms, "started_ms": a.started_ms, "ended_ms": a.ended_ms,
        "poll_count": a.poll_count, "logs": a.logs,
    }


def graph_json(definition: WorkflowDefinition | None, attempts: list[TaskAttempt],
               children: Mapping[str, Execution] | None = None, *, dialect: str = "",
               labels: Mapping[str, TaskLabel] | None = None) -> dict[str, Any]:
    nodes, edges = build_graph(definition, attempts, children, dialect=dialect, labels=labels)
    out = []
    for node in nodes.values():
        current = node.current()
        out.append({
            "id": node.id, "ref": node.ref, "name": node.name, "kind": node.kind, "label": node.label,
            "parent": node.parent,
            "layer": node.layer, "row": node.row,
            "status": str(current.status) if current is not None else "NOT_STARTED",
            "branch": current.branch if current is not None else None,
            "child": current.subworkflow_id if current is not None else None,
            "current": current.id if current is not None else None,
            "attempts": [attempt_json(a) for a in node.attempts],
        })
    return {"nodes": out, "edges": [{"from": f, "to": t, "branch": b} for f, t, b in edges]}


def execution_graph(e: Execution, children: Mapping[str, Execution] | None = None,
                    labels: Mapping[str, TaskLabel] | None = None) -> dict[str, Any]:
    return graph_json(e.definition, e.tasks, children, dialect=e.dialect, labels=labels)
