"""What routing needs to know about one call: workflow name, execution id, correlation id.

The core knows no vendor, so each adapter says where these live in its own requests: its
``Adapter.route_keys`` (wfgateway.adapter) maps ``{operationId: {key: "where"}}``, where "where" is ``path.<name>``, ``query.<name>``, ``header.<name>``, ``body.<a>.<b>`` (a dotted path
  into the JSON body; a number indexes a list) or ``body`` (the whole body, for text bodies).
  The pseudo-key ``created`` says where a successful response carries the id of an execution the
  call created (``text`` for a text/plain id, ``body.<a>.<b>`` into the JSON answer), so the run
  registry can remember it even when the call was forwarded raw.  The pseudo-key ``related`` names
  where an answer mentions other executions of the same backend (``body.tasks.*.subWorkflowId``:
  ``*`` walks every item of a list): children a workflow started upstream, the workflows of polled
  tasks, search results; they are remembered as owned by the backend that answered, so a later call
  about them reaches it even after the routes change.  ``local: True`` keeps an
  operation on the gateway itself (token endpoints: they authenticate clients of the gateway).
  ``idempotent: True`` marks a read sent as POST (a search) that may be retried upstream.
  ``split: True`` marks a bulk operation over many execution ids: its handler always runs (never
  forwarded raw as a whole) and asks the router (``ExecutionSplitter.split``) which backend owns
  each id, so ids owned by different backends are applied where they live.

A dialect that declares none still routes on dialect, operation, tenant and headers; routes
that match on a workflow name then simply do not match its calls, and the run registry is not
consulted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("wfgateway.routing")

ROUTE_KEY_NAMES = ("workflow", "execution_id", "correlation_id")


@dataclass(frozen=True)
class RouteKeys:
    """The routing-relevant values of one call (None when the call does not carry them)."""

    workflow: str | None = None
    execution_id: str | None = None
    correlation_id: str | None = None


NO_KEYS = RouteKeys()


@dataclass(frozen=True)
class OperationKeys:
    """How to read route keys (and the created id) for one operation, compiled once."""

    getters: tuple[tuple[str, Callable[[Any], Any]], ...] = ()
    created: Callable[[bytes, Any], str | None] | None = None
    related: Callable[[Any], list[str]] | None = None
    local: bool = False
    idempotent: bool = False  # a read sent as POST (a search): safe to retry
    split: bool = False  # a bulk operation: the handler splits its ids by owner


def _getter(where: str) -> Callable[[Any], Any]:
    """A function call -> value for a location string such as ``path.workflowId``."""
    part, _, rest = where.partition(".")
    steps: list[str | int] = [int(s) if s.isascii() and s.isdigit() else s for s in rest.split(".")] if rest else []
    if part in ("path", "query", "header"):
        name = rest

        def from_params(call: Any) -> Any:
            params = call.path if part == "path" else call.query if part == "query" else call.headers
            return params.get(name)

        return from_params
    if part == "body":

        def from_body(call: Any) -> Any:
            return dig(call.body, steps)

        return from_body
    raise ValueError(f"route key location must start with path., query., header. or body: {where!r}")


def dig(document: Any, steps: list[str | int]) -> Any:
    """``document[steps[0]][steps[1]]...`` or None when any step is missing."""
    node = document
    for step in steps:
        if isinstance(step, int) and isinstance(node, list):
            node = node[step] if -len(node) <= step < len(node) else None
        elif isinstance(node, dict):
            node = node.get(step) if isinstance(step, str) else node.get(str(step))
        else:
            return None
        if node is None:
            return None
    return node


def _created(where: str) -> Callable[[bytes, Any], str | None]:
    """A function (raw response body, parsed JSON or None) -> created execution id."""
    if where == "text":

        def from_text(raw: bytes, document: Any) -> str | None:
            if isinstance(document, str):
                return document or None
            text = raw.decode("utf-8", "replace").strip()
            return text.strip('"') or None

        return from_text
    part, _, rest = where.partition(".")
    if part != "body":
        raise ValueError(f"'created' must be 'text' or 'body.<path>': {where!r}")
    steps: list[str | int] = [int(s) if s.isascii() and s.isdigit() else s for s in rest.split(".")] if rest else []

    def from_json(raw: bytes, document: Any) -> str | None:
        value = dig(document, steps)
        return str(value) if isinstance(value, (str, int)) and value != "" else None

    return from_json


def _related(where: str) -> Callable[[Any], list[str]]:
    """A function (parsed JSON answer) -> the execution ids found at ``body.<a>.*.<b>``."""
    part, _, rest = where.partition(".")
    if part != "body" or not rest:
        raise ValueError(f"'related' must be 'body.<path>': {where!r}")
    steps = rest.split(".")

    def collect(document: Any) -> list[str]:
        nodes = [document]
        for step in steps:
            found: list[Any] = []
            for node in nodes:
                if step == "*":
                    if isinstance(node, list):
                        found.extend(node)
                elif isinstance(node, dict):
                    if step in node:
                        found.append(node[step])
                elif isinstance(node, list) and step.isascii() and step.isdigit() and int(step) < len(node):
                    found.append(node[int(step)])
            nodes = found
        return [str(n) for n in nodes if isinstance(n, (str, int)) and n != ""]

    return collect


def compile_mapping(mapping: Mapping[str, Mapping[str, Any]]) -> dict[str, OperationKeys]:
    """``ROUTE_KEYS`` -> compiled getters per operationId; ValueError names a bad entry."""
    out: dict[str, OperationKeys] = {}
    for op, entry in mapping.items():
        getters = []
        for key, where in entry.items():
            if key in ROUTE_KEY_NAMES:
                getters.append((key, _getter(str(where))))
            elif key not in ("created", "related", "local", "idempotent", "split"):
                raise ValueError(f"ROUTE_KEYS[{op!r}]: unknown key {key!r}")
        created = _created(str(entry["created"])) if entry.get("created") else None
        related = _related(str(entry["related"])) if entry.get("related") else None
        out[op] = OperationKeys(tuple(getters), created, related, bool(entry.get("local", False)),
                                bool(entry.get("idempotent", False)), bool(entry.get("split", False)))
    return out


class KeyReader:
    """Reads RouteKeys for the calls of one dialect, by its adapter's mapping (compiled once)."""

    def __init__(self, mapping: Mapping[str, Mapping[str, Any]]) -> None:
        self._ops: dict[str, OperationKeys] = compile_mapping(mapping)

    def operation(self, operation_id: str) -> OperationKeys | None:
        return self._ops.get(operation_id)

    def read(self, operation_id: str, call: Any) -> RouteKeys:
        values: dict[str, Any] = {}
        op = self._ops.get(operation_id)
        if op is not None:
            for key, getter in op.getters:
                try:
                    value = getter(call)
                except Exception:  # a malformed body part is the handler's business, not routing's
                    value = None
                if value is not None and value != "":
                    values[key] = str(value)
        if not values:
            return NO_KEYS
        return RouteKeys(values.get("workflow"), values.get("execution_id"), values.get("correlation_id"))

