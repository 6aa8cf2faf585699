"""The graph a scope runs: the definition's at the top level, a container's children inside it
(memoized by the children list's identity: a container's body is decided over and over)."""

from __future__ import annotations

from wfgateway.core.model import TaskSpec
from wfgateway.engine.graph import Graph, graph_of
from wfgateway.engine.state import AttRec, ExecState

_child_graphs: dict[int, tuple[list[TaskSpec], Graph]] = {}


def child_graph(rec: AttRec) -> Graph:
    children = rec.children or []
    got = _child_graphs.get(id(children))
    if got is None or got[0] is not children:
        if len(_child_graphs) > 2000:
            _child_graphs.clear()
        got = (children, Graph(children))
        _child_graphs[id(children)] = got
    return got[1]


def definition_graph(st: ExecState) -> Graph:
    return graph_of(st.definition, st.definition.tasks)
