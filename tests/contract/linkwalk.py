"""Walk a chain of a spec's own OpenAPI links with its own examples, checking every answer.

Schemathesis' stateful phase picks links at random; this walks one chosen chain deterministically so a
test can show the links and examples really lead from a definition to a failed run and its rerun.
A step is either fresh (its request comes from the spec's examples) or follows links declared on
earlier steps' responses: each link contributes the parameters and body its runtime expressions
name (``$response.body#/id``, ``$request.body#/name``, ...).  Anything still missing comes from the
target parameter's ``example``.  Every answer goes through Schemathesis' conformance checks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

@dataclass(frozen=True)
class Step:
    name: str
    operation: str  # operationId
    example: str | None = None  # named requestBody example (fresh steps)
    links: tuple[tuple[str, str], ...] = ()  # (earlier step, link name on its response)
    until: tuple[str, Any] | None = None  # poll until the JSON answer has this top-level field value

@dataclass
class Exchange:
    step: Step
    path_parameters: dict[str, Any]
    query: dict[str, Any]
    body: Any
    status: int
    answer: Any
    headers: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        return f"{self.step.name}: {self.step.operation} {self.path_parameters} -> {self.status} {str(self.answer)[:300]}"

class LinkWalker:
    def __init__(self, document: dict[str, Any], app: Any, credentials: dict[str, str]) -> None:
        self.document = document
        self.schema = schemathesis.openapi.from_dict(document)
        self.app = app
        self.credentials = credentials
        self.operations = {
            op.get("operationId"): (method, path, op)
            for path, item in document["paths"].items()
            for method, op in item.items() if isinstance(op, dict) and "operationId" in op
        }

    def walk(self, steps: list[Step], timeout: float = 10.0) -> list[Exchange]:
        done: dict[str, Exchange] = {}
        log: list[Exchange] = []
        for step in steps:
            exchange = self._send(step, done, timeout)
            log.append(exchange)
            if not 200 <= exchange.status < 300:
                raise AssertionError("linked step failed:\n" + "\n".join(e.describe() for e in log))
            done[step.name] = exchange
        return log

    def _send(self, step: Step, done: dict[str, Exchange], timeout: float) -> Exchange:
        _method, _path, op = self.operations[step.operation]
        path_parameters: dict[str, Any] = {}
        query: dict[str, Any] = {}
        body: Any = self._example_body(op, step.example) if step.example else None
        for source, link_name in step.links:
            link = self._link(done[source], link_name, step.operation)
            for key, expression in (link.get("parameters") or {}).items():
                location, name = self._locate(op, key)
                value = _evaluate(expression, done[source])
                (path_parameters if location == "path" else query)[name] = value
            if "requestBody" in link:
                body = _evaluate(link["requestBody"], done[source])
        if body is None and self._resolve(op.get("requestBody") or {}).get("required"):
            body = self._example_body(op, None)  # a required body no link fills: the spec's first example
        for param in self._parameters(op):
            target = path_parameters if param["in"] == "path" else query if param["in"] == "query" else None
            if target is not None and param["name"] not in target and (param.get("required") or param["in"] == "path"):
                target[param["name"]] = _parameter_example(param)
        operation = self.schema.find_operation_by_id(step.operation)
        deadline = time.monotonic() + timeout
        while True:
            kwargs: dict[str, Any] = {"path_parameters": path_parameters, "query": query or None}
            if body is not None:
                kwargs.update(body=body, media_type="application/json")
            case = operation.Case(**kwargs)
            response = case.call(app=self.app, headers=self.credentials)
            case.validate_response(response, checks=CHECKS)
            answer = _parse(response)
            exchange = Exchange(step, path_parameters, query, body, response.status_code, answer,
                                dict(response.headers))
            if step.until is None or not 200 <= response.status_code < 300:
                return exchange
            key, wanted = step.until
            if isinstance(answer, dict) and answer.get(key) == wanted:
                return exchange
            if time.monotonic() > deadline:
                raise AssertionError(f"{step.name}: {key} never became {wanted!r}; last answer {str(answer)[:400]}")
            time.sleep(0.05)

    def _link(self, source: Exchange, name: str, target: str) -> dict[str, Any]:
        _m, _p, op = self.operations[source.step.operation]
        responses = op.get("responses") or {}
        response = responses.get(str(source.status)) or responses.get(source.status) or {}
        response = self._resolve(response)
        link = self._resolve((response.get("links") or {}).get(name))
        if not link or link.get("operationId") != target:
            raise AssertionError(f"the spec has no link {name!r} from {source.step.operation} "
                                 f"({source.status}) to {target}")
        return link

    def _locate(self, op: dict[str, Any], key: str) -> tuple[str, str]:
        if "." in key and key.split(".", 1)[0] in ("path", "query", "header", "cookie"):
            location, name = key.split(".", 1)
            return location, name
        for param in self._parameters(op):
            if param["name"] == key:
                return param["in"], key
        raise AssertionError(f"link parameter {key!r} is not a parameter of the target operation")

    def _parameters(self, op: dict[str, Any]) -> list[dict[str, Any]]:
        params = [self._resolve(p) for p in op.get("parameters", [])]
        for item in self.document["paths"].values():
            if any(v is op for v in item.values()):
                params = [self._resolve(p) for p in item.get("parameters", [])] + params
        return params

    def _example_body(self, op: dict[str, Any], name: str | None) -> Any:
        content = self._resolve(op["requestBody"])["content"]
        media = next(v for k, v in content.items() if "json" in k)
        if name is None and "example" in media:
            return media["example"]
        examples = media.get("examples") or {}
        if not examples:
            raise AssertionError(f"{op.get('operationId')}: the request body has no example")
        return self._resolve(examples[name] if name is not None else next(iter(examples.values())))["value"]

    def _resolve(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            target: Any = self.document
            for part in node["$ref"][2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

def _parameter_example(param: dict[str, Any]) -> Any:
    if "example" in param:
        return param["example"]
    examples = param.get("examples") or {}
    if examples:
        return next(iter(examples.values())).get("value")
    schema = param.get("schema") or {}
    if "example" in schema:
        return schema["example"]
    if schema.get("examples"):
        return schema["examples"][0]
    raise AssertionError(f"parameter {param['name']!r} has neither a link nor an example")

def _evaluate(expression: Any, source: Exchange) -> Any:
    """An OpenAPI runtime expression against the request and response of ``source``."""
    if isinstance(expression, dict):
        return {k: _evaluate(v, source) for k, v in expression.items()}
    if isinstance(expression, list):
        return [_evaluate(v, source) for v in expression]
    if not isinstance(expression, str) or not expression.startswith("$"):
        return expression
    if expression.startswith("$response.body"):
        return _pointer(source.answer, expression[len("$response.body"):])
    if expression.startswith("$request.body"):
        return _pointer(source.body, expression[len("$request.body"):])
    if expression.startswith("$request.path."):
        return source.path_parameters[expression[len("$request.path."):]]
    if expression.startswith("$request.query."):
        return source.query[expression[len("$request.query."):]]
    if expression.startswith("$response.header."):
        wanted = expression[len("$response.header."):].lower()
        return next(v for k, v in source.headers.items() if k.lower() == wanted)
    raise AssertionError(f"unsupported runtime expression {expression!r}")

def _pointer(document: Any, fragment: str) -> Any:
    if not fragment:
        return document
    if not fragment.startswith("#/"):
        raise AssertionError(f"unsupported body fragment {fragment!r}")
    for part in fragment[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        document = document[int(part)] if isinstance(document, list) else document[part]
    return document

def _parse(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text
