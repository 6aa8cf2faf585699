"""Per-operation request and response validators, compiled with jsonschema-rs.

openapi-core validates a request in ~1.3 ms because it rebuilds validators per call; here each
operation gets, at start, one compiled validator for its parameters and one per body media type,
and the request path only coerces strings and calls them.  tests/contract checks that both agree.
All of them compile against their spec's shared components (contract/schemas.py).  Response
validators are compiled when first needed, one per documented status and media type, so a gateway
that does not check answers holds none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import jsonschema_rs

from wfgateway.contract.spec import Operation, Spec, resolve
from wfgateway.core.errors import ValidationFailed, Violation

_INT = re.compile(r"^-?\d+$")
_NUM = re.compile(r"^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_TRUE = frozenset({"true"})
_FALSE = frozenset({"false"})


def _types(schema: dict[str, Any]) -> set[str]:
    t = schema.get("type")
    if isinstance(t, list):
        return set(t)
    if isinstance(t, str):
        return {t}
    for key in ("anyOf", "oneOf"):
        if key in schema:
            out: set[str] = set()
            for sub in schema[key]:
                out |= _types(sub)
            return out
    return set()


def _coerce(value: str, schema: dict[str, Any]) -> Any:
    """A query/path/header string as the schema's type, or unchanged if it does not parse (the
    validator then reports the type error)."""
    types = _types(schema)
    if "string" in types:
        return value
    if "boolean" in types:
        low = value.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
    if "integer" in types and _INT.match(value):
        return int(value)
    if "number" in types and _NUM.match(value):
        return float(value)
    if "null" in types and value == "":
        return None
    return value


@dataclass
class _Param:
    name: str
    location: str
    key: str  # lookup key: header names lower-cased
    is_array: bool
    explode: bool
    item_schema: dict[str, Any]
    schema: dict[str, Any]


class RequestValidator:
    """Checks one operation's parameters and body; returns them coerced, or raises ValidationFailed."""

    def __init__(self, op: Operation, spec: Spec) -> None:
        doc = spec.document
        self.operation = op
        self._params: list[_Param] = []
        props: dict[str, dict[str, Any]] = {"path": {}, "query": {}, "header": {}}
        required: dict[str, list[str]] = {"path": [], "query": [], "header": []}
        for p in op.parameters:
            schema = resolve(doc, p.schema)
            is_array = "array" in _types(schema)
            item = resolve(doc, schema.get("items", {})) if is_array else schema
            key = p.name.lower() if p.location == "header" else p.name
            self._params.append(_Param(p.name, p.location, key, is_array, p.explode, item, schema))
            props[p.location][p.name] = p.schema
            if p.required:
                required[p.location].append(p.name)
        params_schema = {
            "type": "object",
            "properties": {
                loc: {"type": "object", "properties": props[loc], "required": required[loc]} for loc in props
            },
        }
        self._param_validator = spec.schemas.compile(params_schema) if op.parameters else None
        self._body_validators = {mt: spec.schemas.compile(s) for mt, s in op.body_media.items() if s}
        self.json_media = next((mt for mt in op.body_media if "json" in mt), None)
        self.takes_body = bool(op.body_media)

    def params(
        self, path: dict[str, str], query: list[tuple[str, str]], headers: dict[str, str]
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """Coerce and check path, query and header parameters."""
        out: dict[str, dict[str, Any]] = {"path": {}, "query": {}, "header": {}}
        if not self._params:
            return out["path"], out["query"], out["header"]
        qmulti: dict[str, list[str]] = {}
        for k, v in query:
            qmulti.setdefault(k, []).append(v)
        for p in self._params:
            if p.location == "path":
                raw = path.get(p.name)
                if raw is not None:
                    out["path"][p.name] = _coerce(raw, p.schema)
            elif p.location == "query":
                values = qmulti.get(p.name)
                if values is None:
                    continue
                if p.is_array:
                    if not p.explode and len(values) == 1:
                        values = values[0].split(",") if values[0] else []
                    out["query"][p.name] = [_coerce(v, p.item_schema) for v in values]
                else:
                    out["query"][p.name] = _coerce(values[-1], p.schema)
            else:
                raw = headers.get(p.key)
                if raw is not None:
                    out["header"][p.name] = (
                        [_coerce(v.strip(), p.item_schema) for v in raw.split(",")] if p.is_array
                        else _coerce(raw, p.schema)
                    )
        if self._param_validator is not None and not self._param_validator.is_valid(out):
            errors = list(self._param_validator.iter_errors(out))
            if errors:
                raise ValidationFailed("invalid request parameters", violations=[_violation(e, out) for e in errors])
        return out["path"], out["query"], out["header"]

    def body(self, media_type: str, document: Any) -> None:
        """Check a parsed body against the schema of its media type."""
        validator = self._body_validators.get(media_type)
        if validator is None:
            return
        if validator.is_valid(document):  # the common case, without collecting errors
            return
        errors = list(validator.iter_errors(document))
        if errors:
            raise ValidationFailed(
                "invalid request body", violations=[_violation(e, document, location="body") for e in errors]
            )


def _violation(err: Any, instance: Any, location: str | None = None) -> Violation:
    path = list(err.instance_path)
    if location is None:
        location, path = (str(path[0]), path[1:]) if path else ("request", [])
    pointer = "/".join(str(p) for p in path)
    message = err.message
    if err.kind.__class__.__name__.endswith("Required") or "required" in type(err.kind).__name__.lower():
        message = err.message
    return Violation(location=location, pointer=pointer, message=message, value=_value_at(err))


def _value_at(err: Any) -> Any:
    value = getattr(err, "instance", None)
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
        return str(value)  # error bodies are JSON: a 65-bit integer would break their rendering
    return value if isinstance(value, (str, int, float, bool)) or value is None else None


class ResponseValidator:
    """Checks one operation's responses (status and JSON body) against the spec.

    A status's schema is compiled on its first check (``eager`` compiles them all now): the
    gateway checks answers only where ``response_validation`` asks for it, and an operation
    answers few of its documented statuses."""

    def __init__(self, op: Operation, spec: Spec, *, eager: bool = False) -> None:
        self.operation = op
        self._schemas = spec.schemas
        self._compiled: dict[tuple[str, str], jsonschema_rs.Validator] = {}
        if eager:
            for status, media in op.responses.items():
                for media_type, schema in media.items():
                    if schema and "json" in media_type:
                        self._validator(status, media_type, schema)

    def check(self, status: int, media_type: str, document: Any) -> list[str]:
        """Problems with this response (empty when it conforms)."""
        responses = self.operation.responses
        key = next((k for k in (str(status), f"{str(status)[0]}XX", "default") if k in responses), None)
        if key is None:
            return [f"status {status} is not documented for {self.operation.operation_id}"]
        entry = responses[key]  # a documented status without content is an empty dict: present, not missing
        if not entry:
            return []
        base = media_type.split(";")[0].strip().lower()
        if base not in entry:
            return [f"content type {base or '(none)'} is not documented for status {status}"]
        schema = entry[base]
        if not schema or "json" not in base:
            return []
        validator = self._validator(key, base, schema)
        return [f"{'/'.join(map(str, e.instance_path)) or '(root)'}: {e.message}" for e in validator.iter_errors(document)]

    def _validator(self, status: str, media_type: str, schema: dict[str, Any]) -> jsonschema_rs.Validator:
        compiled = self._compiled.get((status, media_type))
        if compiled is None:
            compiled = self._compiled[(status, media_type)] = self._schemas.compile(schema)
        return compiled
