"""Altostrat templates (``{{ n1.field }}``, ``{{ vault.name }}``) to engine templates.

- ``{{ <trigger>.x }}``  -> ``${workflow.input.x}`` (the trigger's output is the run's input);
- ``{{ n2.body.id }}``   -> ``${n2.output.body.id}``;
- ``{{ vault.token }}``  -> ``${secrets.token}`` (resolved by the vault when the node runs);
- ``items[0]``           -> ``items.0``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from wfgateway.exact_json import dumps

TEMPLATE = re.compile(r"\{\{\s*([^\s{}]+?)\s*\}\}")
_INDEX = re.compile(r"\[(\d+)\]")


def references(value: Any) -> list[str]:
    """The root names (node ids or ``vault``) every template in ``value`` refers to."""
    found: list[str] = []

    def visit(v: Any) -> None:
        if isinstance(v, str):
            for m in TEMPLATE.finditer(v):
                found.append(_split(m.group(1))[0])
        elif isinstance(v, dict):
            for item in v.values():
                visit(item)
        elif isinstance(v, list):
            for item in v:
                visit(item)

    visit(value)
    return found


def vault_names(value: Any) -> list[str]:
    """Names of the vault secrets ``value`` uses."""
    names: list[str] = []

    def visit(v: Any) -> None:
        if isinstance(v, str):
            for m in TEMPLATE.finditer(v):
                root, path = _split(m.group(1))
                if root == "vault" and path:
                    names.append(".".join(path))
        elif isinstance(v, dict):
            for item in v.values():
                visit(item)
        elif isinstance(v, list):
            for item in v:
                visit(item)

    visit(value)
    return names


def _split(expression: str) -> tuple[str, list[str]]:
    expression = _INDEX.sub(r".\1", expression)
    root, _, rest = expression.partition(".")
    return root, [p for p in rest.split(".") if p] if rest else []


def to_engine(value: Any, trigger_id: str | None) -> Any:
    """``value`` with every Altostrat template rewritten as an engine template."""
    return _map_strings(value, lambda s: TEMPLATE.sub(lambda m: _engine_expr(m.group(1), trigger_id), s))


def _engine_expr(expression: str, trigger_id: str | None) -> str:
    root, path = _split(expression)
    if root == "vault":
        return "${secrets." + ".".join(path) + "}"
    base = "workflow.input" if root == trigger_id else f"{root}.output"
    return "${" + ".".join([base, *path]) + "}"


def resolve_local(value: Any, context: dict[str, Any], secrets: Callable[[str], str | None]) -> Any:
    """Render templates against a mock context (the test-node endpoint): ``{{ n1.x }}`` reads
    ``context["n1"]["x"]``; a whole-string template keeps the value's JSON type."""

    def lookup(expression: str) -> Any:
        root, path = _split(expression)
        if root == "vault":
            return secrets(".".join(path))
        current: Any = context.get(root)
        for part in path:
            if isinstance(current, dict):
                current = current.get(part)
            elif isinstance(current, list) and part.isascii() and part.isdigit() and int(part) < len(current):
                current = current[int(part)]
            else:
                return None
        return current

    def render(s: str) -> Any:
        whole = TEMPLATE.fullmatch(s.strip())
        if whole:
            return lookup(whole.group(1))

        def piece(m: re.Match[str]) -> str:
            v = lookup(m.group(1))
            if v is None:
                return ""
            if isinstance(v, (dict, list)):

                return dumps(v).decode()
            return str(v).lower() if isinstance(v, bool) else str(v)

        return TEMPLATE.sub(piece, s)

    return _map_strings(value, render)


def _map_strings(value: Any, fn: Callable[[str], Any]) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {k: _map_strings(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_strings(v, fn) for v in value]
    return value
