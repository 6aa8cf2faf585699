"""The route table: config.yaml ``routes`` compiled once; first match wins.

A route matches on dialect, operationId (glob), workflow name (glob), tenant (glob) and request
headers (name -> glob).  Its ``backend`` serves every call unless ``weights`` split the traffic; the
split is by a hash of the sticky key (the workflow name or the correlation id) so the same key
always lands on the same backend, in every process and after every restart.
"""

from __future__ import annotations

import fnmatch
import hashlib
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from wfgateway.routing.keys import RouteKeys


class HeaderLookup(Protocol):
    """Request headers by lower-case name (a Mapping, or the router's lazily parsed headers)."""

    def get(self, name: str, /) -> str | None: ...

_GLOB_CHARS = frozenset("*?[")


def compile_glob(pattern: str) -> Callable[[str], bool]:
    """A case-sensitive glob test; a pattern without wildcards is a plain equality test."""
    if not _GLOB_CHARS & set(pattern):
        return pattern.__eq__
    regex = re.compile(fnmatch.translate(pattern))
    return lambda value: regex.match(value) is not None


def hash_fraction(key: str) -> float:
    """A stable number in [0, 1) for ``key`` (blake2b, not Python's per-process ``hash``)."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass
class Route:
    """One compiled entry of ``routes``."""

    index: int
    name: str
    match: dict[str, Any]
    backend: str
    weights: dict[str, float] = field(default_factory=dict)
    sticky: str | None = None
    timeout_ms: int | None = None

    def __post_init__(self) -> None:
        m = self.match
        self._dialect = compile_glob(m["dialect"]) if m.get("dialect") else None
        self._operation = compile_glob(m["operation"]) if m.get("operation") else None
        self._workflow = compile_glob(m["workflow"]) if m.get("workflow") else None
        self._tenant = compile_glob(m["tenant"]) if m.get("tenant") else None
        self._headers = [(k.lower(), compile_glob(v)) for k, v in (m.get("header") or {}).items()]
        total = sum(self.weights.values())
        self._cumulative: list[tuple[float, str]] = []
        if self.weights and total > 0:
            acc = 0.0
            for name in sorted(self.weights):
                if self.weights[name] > 0:
                    acc += self.weights[name] / total
                    self._cumulative.append((acc, name))
        self.backends = sorted({self.backend, *self.weights})

    # -- matching ----------------------------------------------------------------------------------
    def matches_statically(self, dialect: str, operation: str) -> bool:
        """The part of the match that depends only on the operation (cached per operation)."""
        return (self._dialect is None or self._dialect(dialect)) and (
            self._operation is None or self._operation(operation)
        )

    @property
    def dynamic(self) -> bool:
        return bool(self._workflow or self._tenant or self._headers)

    def matches_call(self, keys: RouteKeys, tenant: str, headers: HeaderLookup) -> bool:
        if self._workflow is not None and (keys.workflow is None or not self._workflow(keys.workflow)):
            return False
        if self._tenant is not None and not self._tenant(tenant):
            return False
        for name, test in self._headers:
            value = headers.get(name)
            if value is None or not test(value):
                return False
        return True

    # -- choosing a backend ------------------------------------------------------------------------
    def choose(self, keys: RouteKeys) -> str:
        """The backend for a call that no registry entry pins.

        Without weights: ``backend``.  A call about an existing execution the registry does not
        know goes to ``backend`` too (ids from before the split belong to the primary).  Otherwise
        the sticky key's hash picks (random when the call has no sticky key)."""
        if not self._cumulative or keys.execution_id is not None:
            return self.backend
        sticky_value = None
        if self.sticky == "workflow":
            sticky_value = keys.workflow
        elif self.sticky == "correlation_id":
            sticky_value = keys.correlation_id
        point = hash_fraction(sticky_value) if sticky_value is not None else random.random()
        for edge, name in self._cumulative:
            if point < edge:
                return name
        return self._cumulative[-1][1]

    def describe_match(self) -> str:
        parts = [f"{k}={self.match[k]}" for k in ("dialect", "operation", "workflow", "tenant") if self.match.get(k)]
        parts += [f"header {k}={v}" for k, v in (self.match.get("header") or {}).items()]
        return ", ".join(parts) or "(everything)"

    def describe_backend(self) -> str:
        if not self._cumulative:
            return self.backend
        total = sum(self.weights.values())
        return ", ".join(f"{n} {self.weights[n] / total:.0%}" for n in sorted(self.weights) if self.weights[n] > 0)


class NoRoute(Exception):
    """No route matches the call (the config has no catch-all)."""


class RouteTable:
    """Routes in config order; per operation the routes that can match are cached."""

    def __init__(self, routes: list[Route]) -> None:
        self.routes = routes
        self._by_operation: dict[tuple[str, str], list[Route]] = {}

    @classmethod
    def from_config(cls, routes: Sequence[Mapping[str, Any]]) -> RouteTable:
        compiled = []
        for i, r in enumerate(routes):
            compiled.append(
                Route(
                    index=i,
                    name=str(r.get("name") or f"route{i}"),
                    match=dict(r.get("match") or {}),
                    backend=str(r["backend"]),
                    weights={str(k): float(v) for k, v in (r.get("weights") or {}).items()},
                    sticky=r.get("sticky"),
                    timeout_ms=r.get("timeout_ms"),
                )
            )
        names = [r.name for r in compiled]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"route names must be unique: {', '.join(dupes)}")
        return cls(compiled)

    def candidates(self, dialect: str, operation: str) -> list[Route]:
        key = (dialect, operation)
        found = self._by_operation.get(key)
        if found is None:
            found = [r for r in self.routes if r.matches_statically(dialect, operation)]
            self._by_operation[key] = found
        return found

    def match(self, dialect: str, operation: str, keys: RouteKeys, tenant: str, headers: HeaderLookup) -> Route:
        for route in self.candidates(dialect, operation):
            if not route.dynamic or route.matches_call(keys, tenant, headers):
                return route
        raise NoRoute(f"no route matches {dialect} {operation}")
