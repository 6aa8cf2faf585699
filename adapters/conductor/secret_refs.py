"""``${workflow.secrets.X}`` references: the engine's spelling of them, and their values at hand-off.

Inside a definition a reference becomes the engine's ``${secrets.X}`` (kept unresolved in the run)
and reads back as Conductor's when a task is shown; ``fill`` puts values in for a worker.
"""

from __future__ import annotations

import re
from typing import Any

_CONDUCTOR_REF = re.compile(r"\$\{\s*workflow\.secrets\.")
_ENGINE_REF = re.compile(r"\$\{\s*secrets\.")
_REF = re.compile(r"\$\{\s*workflow\.secrets\.([a-zA-Z0-9_-]+)[^}]*\}")


def to_engine(value: Any) -> Any:
    """``${workflow.secrets.X}`` -> the engine's ``${secrets.X}`` (left unresolved until hand-off)."""
    if isinstance(value, str):
        return _CONDUCTOR_REF.sub("${secrets.", value) if "secrets." in value else value
    if isinstance(value, dict):
        return {k: to_engine(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_engine(v) for v in value]
    return value


def to_conductor(value: Any) -> Any:
    """The engine's ``${secrets.X}`` -> ``${workflow.secrets.X}``, as a run shows a task's input."""
    if isinstance(value, str):
        return _ENGINE_REF.sub("${workflow.secrets.", value) if "secrets." in value else value
    if isinstance(value, dict):
        return {k: to_conductor(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_conductor(v) for v in value]
    return value


def names_in(value: Any) -> set[str]:
    if isinstance(value, str):
        return set(_REF.findall(value)) if "secrets." in value else set()
    if isinstance(value, dict):
        return set().union(*(names_in(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(names_in(v) for v in value))
    return set()


def fill(value: Any, known: dict[str, str | None]) -> Any:
    if isinstance(value, str):
        if "secrets." not in value:
            return value
        whole = _REF.fullmatch(value)
        if whole:
            return known.get(whole.group(1))  # a missing secret is null, as the OSS server leaves it
        return _REF.sub(lambda m: known.get(m.group(1)) or "", value)
    if isinstance(value, dict):
        return {k: fill(v, known) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, known) for v in value]
    return value
