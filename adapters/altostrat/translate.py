"""An Altostrat graph (nodes + edges) to the engine's task DAG, with the vendor's graph checks.

Node ids become task refs.  An edge becomes a dependency of its target; its ``sourceHandle`` is a
branch when the source is a condition (``true`` / ``false``) or when it is ``error`` (the error
path of a ``continue_on_error`` node).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wfgateway.adapters.altostrat import components as C
from wfgateway.adapters.altostrat import templates as T

from wfgateway.core import model as M

BRANCH_HANDLES = frozenset({"true", "false"})
ERROR_HANDLE = "error"


@dataclass
class Graph:
    """A checked graph: its tasks when ``errors`` is empty."""

    tasks: list[M.TaskSpec] = field(default_factory=list)
    trigger_id: str | None = None
    trigger_component: str | None = None
    errors: list[str] = field(default_factory=list)


def translate(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> Graph:
    """Check the graph as Altostrat does and build its tasks."""
    graph = Graph()
    by_id: dict[str, dict[str, Any]] = {}
    comps: dict[str, str] = {}
    for node in nodes:
        nid: Any = node.get("id")  # as sent (the spec asks for a string)
        if nid in by_id:
            graph.errors.append(f"Node id '{nid}' is used more than once.")
            continue
        by_id[nid] = node
        component = C.component_of(node)
        if component is None:
            graph.errors.append(f"Node '{nid}' names no component (data.componentId).")
            continue
        comps[nid] = component
        graph.errors.extend(C.check_node(node, component))
    triggers = [nid for nid, c in comps.items() if C.is_trigger(c)]
    if len(triggers) != 1:
        graph.errors.append(f"A workflow must have exactly one trigger node, found {len(triggers)}.")
    else:
        graph.trigger_id = triggers[0]
        graph.trigger_component = comps[triggers[0]]

    incoming: dict[str, list[M.Edge]] = {nid: [] for nid in by_id}
    children: dict[str, list[str]] = {nid: [] for nid in by_id}
    seen_edges: set[tuple[str, str, str | None]] = set()
    for edge in edges:
        src, dst, handle = edge.get("source"), edge.get("target"), edge.get("sourceHandle")
        label = edge.get("id") or f"{src}->{dst}"
        if src not in by_id or dst not in by_id:
            missing = src if src not in by_id else dst
            graph.errors.append(f"Edge '{label}' refers to the unknown node '{missing}'.")
            continue
        if src == dst:
            graph.errors.append(f"Edge '{label}' connects node '{src}' to itself.")
            continue
        if dst == graph.trigger_id:
            graph.errors.append(f"Edge '{label}' leads into the trigger node '{dst}'.")
            continue
        branch = _branch(src, comps.get(src, ""), handle, by_id[src], label, graph.errors)
        key = (src, dst, branch)
        if key in seen_edges:
            continue
        seen_edges.add(key)
        incoming[dst].append(M.Edge(src, branch))
        children[src].append(dst)

    order = _topological(by_id, children)
    if order is None:
        graph.errors.append("The workflow graph contains a cycle.")
        return graph
    if graph.trigger_id is not None:
        reachable = _reachable(graph.trigger_id, children)
        for nid in by_id:
            if nid not in reachable:
                graph.errors.append(f"Node '{nid}' is not connected to the trigger.")
    ancestors = _ancestors(order, incoming)
    for nid, node in by_id.items():
        for root in T.references(node.get("data") or {}):
            if root == "vault":
                continue
            if root not in by_id:
                graph.errors.append(f"Node '{nid}' uses a template of the unknown node '{root}'.")
            elif root not in ancestors.get(nid, set()):
                graph.errors.append(f"Node '{nid}' uses a template of node '{root}', which does not run before it.")
    if graph.errors:
        return graph
    for nid in order:
        graph.tasks.append(task_for_node(by_id[nid], comps[nid], incoming[nid], graph.trigger_id))
    return graph


def _branch(src: str, component: str, handle: Any, node: dict[str, Any], label: str, errors: list[str]) -> str | None:
    if C.is_condition(component):
        if handle in BRANCH_HANDLES:
            return str(handle)
        if handle == ERROR_HANDLE and _continues_on_error(node):
            return ERROR_HANDLE
        errors.append(f"Edge '{label}' leaves condition '{src}' without a 'true' or 'false' sourceHandle.")
        return None
    if handle == ERROR_HANDLE:
        if not _continues_on_error(node):
            errors.append(f"Edge '{label}' uses the error path of node '{src}', which does not set continue_on_error.")
        return ERROR_HANDLE
    return None


def _continues_on_error(node: dict[str, Any]) -> bool:
    data = node.get("data") or {}
    return bool(data.get("continue_on_error", node.get("continue_on_error", False)))


def _topological(by_id: dict[str, Any], children: dict[str, list[str]]) -> list[str] | None:
    indegree = {nid: 0 for nid in by_id}
    for kids in children.values():
        for k in kids:
            indegree[k] += 1
    ready = [nid for nid in by_id if indegree[nid] == 0]
    order: list[str] = []
    while ready:
        nid = ready.pop(0)
        order.append(nid)
        for k in children[nid]:
            indegree[k] -= 1
            if indegree[k] == 0:
                ready.append(k)
    return order if len(order) == len(by_id) else None


def _reachable(start: str, children: dict[str, list[str]]) -> set[str]:
    seen, stack = {start}, [start]
    while stack:
        for k in children[stack.pop()]:
            if k not in seen:
                seen.add(k)
                stack.append(k)
    return seen


def _ancestors(order: list[str], incoming: dict[str, list[M.Edge]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for nid in order:
        acc: set[str] = set()
        for e in incoming[nid]:
            acc.add(e.ref)
            acc |= out[e.ref]
        out[nid] = acc
    return out


def task_for_node(node: dict[str, Any], component: str, deps: list[M.Edge], trigger_id: str | None) -> M.TaskSpec:
    nid = node["id"]
    data = node.get("data") or {}
    spec = M.TaskSpec(
        ref=nid, kind=M.NOOP, name=component, depends_on=list(deps),
        continue_on_error=_continues_on_error(node), timeout_ms=C.NODE_TIMEOUT_MS,
        extra={"component_id": component},
    )
    if C.is_trigger(component):
        spec.timeout_ms = None
        return spec
    if component == C.WEBHOOK:
        spec.kind = M.HTTP
        spec.params = T.to_engine(_http_params(data), trigger_id)
    elif component == C.ALTOSTRAT_API:
        spec.kind = M.HTTP
        params = _http_params({**data, "url": C.ALTOSTRAT_API_BASE + str(data.get("endpoint") or "/")})
        spec.params = T.to_engine(params, trigger_id)
    elif component == C.DELAY:
        seconds = data["duration"] * C.DELAY_UNITS_S[data.get("unit", "seconds")]
        spec.kind = M.WAIT
        spec.params = {"duration_ms": int(seconds * 1000)}
        spec.timeout_ms = None
    elif C.is_condition(component):
        left, operator, right = C.condition_operands(data)
        spec.kind = M.CONDITION
        spec.params = T.to_engine(
            {"left": left, "operator": C.CONDITION_OPERATORS[operator], "right": right}, trigger_id
        )
    elif component == C.TERMINATE:
        status = data.get("status", "completed")
        spec.kind = M.TERMINATE
        spec.params = T.to_engine(
            {"status": "COMPLETED" if status == "completed" else "FAILED",
             "reason": data.get("message") or f"Terminated by node '{nid}'.",
             "output": data.get("output") or {}},
            trigger_id,
        )
    return spec


def _http_params(data: dict[str, Any]) -> dict[str, Any]:
    headers = data.get("headers") or {}
    if isinstance(headers, list):  # the editor's key/value rows
        headers = {str(h.get("key")): h.get("value") for h in headers if isinstance(h, dict) and h.get("key")}
    headers = {str(k): v for k, v in headers.items()}
    body = data.get("body")
    if isinstance(body, str) and body.strip() == "":
        body = None
    if body is not None and not any(k.lower() == "content-type" for k in headers):
        stripped = body.strip() if isinstance(body, str) else ""
        if not isinstance(body, str) or stripped.startswith(("{", "[")):
            headers["Content-Type"] = "application/json"
    return {
        "method": str(data.get("method", "GET")).upper(),
        "url": data.get("url"),
        "headers": headers,
        "body": body,
        "timeout_ms": C.NODE_TIMEOUT_MS,
    }
