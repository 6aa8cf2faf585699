"""``${...}`` input templates: parsing, validation at definition time, resolution at run time.

A string that is exactly one template keeps the referenced value's JSON type; templates inside a
longer string are interpolated as text.  A template whose value is missing resolves to None (never an
error at run time).  ``${secrets.x}`` stays unresolved unless a secret resolver is passed, so that
stored task input never holds a secret.  ``${self.id}`` is the id of the task being scheduled (dialects
whose tasks can name their own id, before any worker sees it, translate to it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from wfgateway.core.errors import InvalidArgument
from wfgateway.engine.util import dumps

_TEMPLATE = re.compile(r"\$\{([^{}]*)\}")
_INDEX = re.compile(r"^([^\[\]]*)((?:\[\d+\])*)$")

WORKFLOW_FIELDS = frozenset(
    {"input", "variables", "workflowId", "id", "correlationId", "output", "name", "version", "parentWorkflowId",
     "tenant", "metadata"}
)
TASK_FIELDS = frozenset({"output", "input", "status", "reason", "id", "taskId"})
SELF = "self"  # ${self.id}: the task being scheduled

Path = tuple[Any, ...]


class Context(Protocol):
    """What a template resolves against: the execution and the tasks visible from the current scope."""

    def workflow_value(self, field: str) -> Any: ...

    def task_value(self, ref: str, field: str) -> tuple[bool, Any]:
        """(known, value): known is False if no task of that ref is visible."""

    def own_value(self, field: str) -> Any:
        """A field of the task being scheduled (``${self.id}``); None outside a task's own input."""


def _split_path(expr: str) -> list[Any]:
    parts: list[Any] = []
    for piece in expr.split("."):
        m = _INDEX.match(piece)
        if not m:
            raise InvalidArgument(f"Bad template path '${{{expr}}}'")
        name, idx = m.group(1), m.group(2)
        if name == "" and not idx:
            raise InvalidArgument(f"Bad template path '${{{expr}}}': empty segment")
        if name:
            parts.append(name)
        for n in re.findall(r"\[(\d+)\]", idx):
            parts.append(int(n))
    return parts


_parse_cache: dict[str, list[Any]] = {}


def parse(expr: str) -> list[Any]:
    """Split ``workflow.input.a[0].b`` into ['workflow', 'input', 'a', 0, 'b'] (cached)."""
    got = _parse_cache.get(expr)
    if got is None:
        got = _split_path(expr.strip())
        if len(got) < 2 or not isinstance(got[0], str) or not isinstance(got[1], str):
            raise InvalidArgument(f"Bad template '${{{expr}}}': expected <source>.<field>")
        if len(_parse_cache) > 20000:
            _parse_cache.clear()
        _parse_cache[expr] = got
    return got


def _walk(value: Any, path: list[Any]) -> Any:
    for p in path:
        if isinstance(value, dict):
            value = value.get(p if isinstance(p, str) else str(p))
            if value is None and not isinstance(p, str):
                return None
        elif isinstance(value, list):
            try:
                i = int(p)
            except (TypeError, ValueError):
                return None
            value = value[i] if -len(value) <= i < len(value) else None
        else:
            return None
        if value is None:
            return None
    return value


def _lookup(parts: list[Any], ctx: Context, secrets: Callable[[str], str | None] | None, raw: str) -> Any:
    root, field = parts[0], parts[1]
    if root == "workflow":
        return _walk(ctx.workflow_value(field), parts[2:])
    if root == SELF and not ctx.task_value(root, field)[0]:  # a task whose ref is "self" is read as before
        return _walk(ctx.own_value(field), parts[2:])
    if root == "secrets":
        if secrets is None:
            return _Unresolved(raw)
        return secrets(field)
    known, value = ctx.task_value(root, field)
    if not known:
        return None
    return _walk(value, parts[2:])


class _Unresolved:
    __slots__ = ("raw",)

    def __init__(self, raw: str) -> None:
        self.raw = raw


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return dumps(value)
    return str(value)


def resolve(value: Any, ctx: Context, secrets: Callable[[str], str | None] | None = None) -> Any:
    """Resolve every template inside ``value`` (dicts and lists are copied, never mutated)."""
    if isinstance(value, str):
        if "${" not in value:
            return value
        m = _TEMPLATE.fullmatch(value)
        if m:
            got = _lookup(parse(m.group(1)), ctx, secrets, value)
            return value if isinstance(got, _Unresolved) else got

        def sub(mm: re.Match[str]) -> str:
            got = _lookup(parse(mm.group(1)), ctx, secrets, mm.group(0))
            return got.raw if isinstance(got, _Unresolved) else _text(got)

        return _TEMPLATE.sub(sub, value)
    if isinstance(value, dict):
        return {k: resolve(v, ctx, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, ctx, secrets) for v in value]
    return value


def has_secrets(value: Any) -> bool:
    if isinstance(value, str):
        return "${secrets." in value or "${ secrets." in value
    if isinstance(value, dict):
        return any(has_secrets(v) for v in value.values())
    if isinstance(value, list):
        return any(has_secrets(v) for v in value)
    return False


def secret_names(value: Any) -> set[str]:
    """The names that ``${secrets.x}`` templates inside ``value`` ask for (to look them up first)."""
    if isinstance(value, str):
        if "${" not in value:
            return set()
        names = set()
        for m in _TEMPLATE.finditer(value):
            parts = parse(m.group(1))
            if len(parts) > 1 and parts[0] == "secrets":
                names.add(str(parts[1]))
        return names
    if isinstance(value, dict):
        return set().union(*(secret_names(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(secret_names(v) for v in value))
    return set()


def resolve_secrets(value: Any, secrets: Callable[[str], str | None], found: list[str]) -> Any:
    """Replace only ``${secrets.x}`` templates; collect the secret values (for redaction)."""
    if isinstance(value, str):
        if "${" not in value:
            return value

        def one(expr: str, raw: str) -> Any:
            parts = parse(expr)
            if parts[0] != "secrets":
                return _Unresolved(raw)
            got = secrets(parts[1])
            if got is None:
                raise InvalidArgument(f"Unknown secret '{parts[1]}'")
            if isinstance(got, str) and got:
                found.append(got)
            return got

        m = _TEMPLATE.fullmatch(value)
        if m:
            got = one(m.group(1), value)
            return value if isinstance(got, _Unresolved) else got

        def sub(mm: re.Match[str]) -> str:
            got = one(mm.group(1), mm.group(0))
            return got.raw if isinstance(got, _Unresolved) else _text(got)

        return _TEMPLATE.sub(sub, value)
    if isinstance(value, dict):
        return {k: resolve_secrets(v, secrets, found) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_secrets(v, secrets, found) for v in value]
    return value


def redact(value: Any, secrets: list[str]) -> Any:
    """Replace every occurrence of a secret value in strings (keys included) by ``***``."""
    if not secrets:
        return value
    if isinstance(value, str):
        for s in secrets:
            if s in value:
                value = value.replace(s, "***")
        return value
    if isinstance(value, dict):
        return {redact(k, secrets): redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, secrets) for v in value]
    return value


def references(value: Any) -> Iterator[tuple[str, list[Any]]]:
    """Every template inside ``value`` as (raw text, parsed path); raises InvalidArgument on bad syntax."""
    if isinstance(value, str):
        if "${" not in value:
            return
        for m in _TEMPLATE.finditer(value):
            yield m.group(0), parse(m.group(1))
        rest = _TEMPLATE.sub("", value)
        if "${" in rest:
            raise InvalidArgument(f"Unterminated template in '{value}'")
    elif isinstance(value, dict):
        for v in value.values():
            yield from references(v)
    elif isinstance(value, list):
        for v in value:
            yield from references(v)


def check(value: Any, known_refs: set[str] | frozenset[str], where: str) -> None:
    """Reject templates that point at unknown tasks or unknown fields (definition time)."""
    for raw, parts in references(value):
        root, field = parts[0], parts[1]
        if root == "workflow":
            if field not in WORKFLOW_FIELDS:
                raise InvalidArgument(f"{where}: template {raw} names unknown workflow field '{field}'")
        elif root == "secrets":
            continue
        elif root == SELF and root not in known_refs:
            if field not in ("id", "taskId"):
                raise InvalidArgument(f"{where}: template {raw} names unknown field '{field}' of the task itself")
        elif root not in known_refs:
            raise InvalidArgument(f"{where}: template {raw} references unknown task '{root}'")
        elif field not in TASK_FIELDS:
            raise InvalidArgument(
                f"{where}: template {raw} names unknown task field '{field}' (use output or input)"
            )
