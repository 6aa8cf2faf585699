"""The layers hold: no import circle in src/ or adapters/, the engine, core and contract know no adapter and
no wiring, and no adapter imports another.

The graph is read from the source with ``ast`` (every import statement, including those inside functions
and ``if TYPE_CHECKING:`` blocks -- a circle hidden behind TYPE_CHECKING is still a circle), with the
adapters folder under its installed name ``wfgateway.adapters`` (the old top-level name ``adapters`` is
read as the same).  import-linter cannot see adapters/: it walks the wfgateway package folder, and the
adapters are mapped into it by setuptools.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ROOTS = {"wfgateway": REPO / "src" / "wfgateway", "wfgateway.adapters": REPO / "adapters"}
LOWER_LAYERS = ("wfgateway.engine", "wfgateway.core", "wfgateway.contract")
# the gateway's wiring: the ASGI app, the request pipeline, dialect loading, routing between backends, the CLI
WIRING = ("wfgateway.app", "wfgateway.pipeline", "wfgateway.gateway", "wfgateway.dialect", "wfgateway.adapter", "wfgateway.routing",
          "wfgateway.backends", "wfgateway.cli")
ADAPTERS = "wfgateway.adapters"


def modules() -> dict[str, Path]:
    """Every module of src/wfgateway and adapters/ by its import name."""
    out: dict[str, Path] = {}
    for package, folder in ROOTS.items():
        for path in sorted(folder.rglob("*.py")):
            rel = path.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            if package == "wfgateway" and parts[:1] == ["adapters"]:
                continue
            out[".".join([package, *parts])] = path
    return out


def _canonical(name: str) -> str:
    return "wfgateway." + name if name == "adapters" or name.startswith("adapters.") else name


def _targets(module: str, path: Path, known: dict[str, Path]) -> Iterator[str]:
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield _canonical(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = _canonical(node.module or "")
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                yield sub if sub in known else source


def graph() -> dict[str, set[str]]:
    """module -> the project modules it imports (the nearest existing module of each imported name)."""
    known = modules()
    edges: dict[str, set[str]] = {}
    for module, path in known.items():
        deps = set()
        for target in _targets(module, path, known):
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != module:
                deps.add(target)
        edges[module] = deps
    return edges


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _within(module: str, packages: tuple[str, ...] | str) -> bool:
    packages = (packages,) if isinstance(packages, str) else packages
    return any(module == p or module.startswith(p + ".") for p in packages)


def _adapter_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and _within(module, ADAPTERS) else None


def test_the_graph_sees_every_layer() -> None:
    edges = graph()
    for expected in ("wfgateway.engine.engine", "wfgateway.core.backend", "wfgateway.contract.spec",
                     "wfgateway.app", "wfgateway.adapters.conductor", "wfgateway.adapters.cognite.dialect"):
        assert expected in edges
    # an adapter's imports of wfgateway.adapters.X resolve to the adapter's modules
    assert any(_within(dep, ADAPTERS) for dep in edges["wfgateway.adapters.cognite.dialect"])


def test_no_import_circle() -> None:
    edges = graph()
    found = circles(edges)
    assert not found, "import circles (each a group of modules importing each other):\n" + "\n".join(
        " <-> ".join(c) for c in found)


def test_engine_core_and_contract_import_no_adapter_and_no_wiring() -> None:
    edges = graph()
    bad = sorted(
        f"{m} imports {dep}" for m, deps in edges.items() if _within(m, LOWER_LAYERS)
        for dep in deps if _within(dep, ADAPTERS) or _within(dep, WIRING)
    )
    assert not bad, "\n".join(bad)


def test_only_the_engine_package_imports_the_facade() -> None:
    """The modules behind the façade depend on engine/context.py's EngineContext, never on engine.py."""
    edges = graph()
    importers = sorted(m for m, deps in edges.items() if "wfgateway.engine.engine" in deps and _within(m, "wfgateway.engine"))
    assert importers == ["wfgateway.engine"]


def test_no_adapter_imports_another() -> None:
    edges = graph()
    bad = sorted(
        f"{m} imports {dep}" for m, deps in edges.items() if _adapter_of(m)
        for dep in deps if _adapter_of(dep) and _adapter_of(dep) != _adapter_of(m)
    )
    assert not bad, "\n".join(bad)


def test_the_checks_catch_what_they_forbid() -> None:
    """The walk is not vacuous: a circle, a layer break and a cross-adapter import are each found."""
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []
    assert _within("wfgateway.routing.router", WIRING) and not _within("wfgateway.routingx", WIRING)
    assert _adapter_of("wfgateway.adapters.cognite.state") == "cognite"
    assert _canonical("adapters.conductor.translate") == "wfgateway.adapters.conductor.translate"
