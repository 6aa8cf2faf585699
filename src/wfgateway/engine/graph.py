"""The DAG of a definition (or of a dynamic task's expansion): order, descendants, ancestors, sinks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from wfgateway.core.errors import InvalidArgument
from wfgateway.core.model import TaskSpec


class Graph:
    """Computed once per spec list: topological order and adjacency both ways."""

    __slots__ = ("src", "specs", "by_ref", "order", "children", "parents", "sinks", "index")

    def __init__(self, specs: Sequence[TaskSpec]) -> None:
        self.src = specs
        self.specs = list(specs)
        self.by_ref: dict[str, TaskSpec] = {}
        for s in self.specs:
            if s.ref in self.by_ref:
                raise InvalidArgument(f"Duplicate task reference '{s.ref}'")
            self.by_ref[s.ref] = s
        self.children: dict[str, list[str]] = {s.ref: [] for s in self.specs}
        self.parents: dict[str, list[str]] = {s.ref: [] for s in self.specs}
        for s in self.specs:
            for e in s.depends_on:
                if e.ref not in self.by_ref:
                    raise InvalidArgument(f"Task '{s.ref}' depends on unknown task '{e.ref}'")
                if e.ref == s.ref:
                    raise InvalidArgument(f"Task '{s.ref}' depends on itself")
                if s.ref not in self.children[e.ref]:
                    self.children[e.ref].append(s.ref)
                    self.parents[s.ref].append(e.ref)
        self.order = self._topo()
        self.index = {r: i for i, r in enumerate(self.order)}
        self.sinks = [r for r in self.order if not self.children[r]]

    def _topo(self) -> list[str]:
        indeg = {r: len(p) for r, p in self.parents.items()}
        # Keep the declared order among ready tasks so chains and listings stay stable.
        pos = {s.ref: i for i, s in enumerate(self.specs)}
        ready = sorted((r for r, d in indeg.items() if d == 0), key=pos.__getitem__)
        out: list[str] = []
        while ready:
            r = ready.pop(0)
            out.append(r)
            added = []
            for c in self.children[r]:
                indeg[c] -= 1
                if indeg[c] == 0:
                    added.append(c)
            if added:
                ready = sorted(ready + added, key=pos.__getitem__)
        if len(out) != len(self.specs):
            stuck = sorted(r for r, d in indeg.items() if d > 0)
            raise InvalidArgument(f"The task graph has a cycle through {', '.join(stuck)}")
        return out

    def descendants(self, refs: Iterable[str]) -> set[str]:
        seen: set[str] = set()
        stack = list(refs)
        while stack:
            r = stack.pop()
            for c in self.children.get(r, ()):
                if c not in seen:
                    seen.add(c)
                    stack.append(c)
        return seen

    def ancestors(self, ref: str) -> set[str]:
        seen: set[str] = set()
        stack = [ref]
        while stack:
            r = stack.pop()
            for p in self.parents.get(r, ()):
                if p not in seen:
                    seen.add(p)
                    stack.append(p)
        return seen


def graph_of(owner: object, specs: Sequence[TaskSpec]) -> Graph:
    """The Graph of ``specs``, cached on ``owner`` (a definition or a container record)."""
    g = owner.__dict__.get("_wfg_graph")
    if g is None or g.src is not specs:
        g = Graph(specs)
        owner.__dict__["_wfg_graph"] = g
    return g
