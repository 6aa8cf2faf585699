"""Every request example in the three specs, sent to a fresh gateway (the shipped config.yaml) in the
order the spec documents its operations, after the one documented prerequisite (Altostrat: create a
workflow authorization first, see the spec's createWorkflow description and the README quickstart).

An operation addressed by path only (no path parameter) has nothing missing on a fresh gateway: its
examples must succeed (2xx).  One addressed by a path parameter names an example id a fresh gateway may
not hold, so it may answer the vendor's 404, 409 or a status the spec's x-contract notes accept for a
state it cannot know (e.g. a rerun of a running execution) -- but never 5xx, and never a refusal of the
example's body or parameters as invalid (400/422 naming the request's shape)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml

from tests.support.server import REPO, run_gateway

METHODS = ("get", "post", "put", "delete", "patch")


def spec(dialect: str) -> dict[str, Any]:
    return yaml.safe_load((REPO / "openapi" / f"{dialect}.yaml").read_text())


def resolve(document: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = document
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def requests_of(document: dict[str, Any]) -> Iterator[tuple[str, str, str, dict[str, str], dict[str, Any], Any]]:
    """(operationId, METHOD, path, path parameters, query, body) per request example, in spec order."""
    for path, item in document["paths"].items():
        shared = item.get("parameters") or []
        for method in METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            params = [resolve(document, p) for p in shared + (op.get("parameters") or [])]
            path_params = {p["name"]: str(p.get("example", _placeholder(p.get("schema") or {})))
                           for p in params if p.get("in") == "path"}
            query = {p["name"]: p["example"] for p in params if p.get("in") == "query" and "example" in p}
            request_body = resolve(document, op.get("requestBody") or {})
            content = (request_body.get("content") or {}).get("application/json") or {}
            examples = [resolve(document, e).get("value") for e in (content.get("examples") or {}).values()]
            if "example" in content:
                examples.append(content["example"])
            if not examples and request_body.get("required"):
                continue  # no example to send
            for body in examples or [None]:
                yield op["operationId"], method.upper(), path, path_params, query, body


def _placeholder(schema: dict[str, Any]) -> Any:
    """A path parameter with no example: the schema's own example, else a value of its type."""
    return schema.get("example", 1 if schema.get("type") == "integer" else "x")


# Answers that are the documented behaviour of a fresh, open-mode gateway, with why.
FRESH_GATEWAY = {
    "generateToken": (404, "documented: 404 when the gateway runs without keys (open mode)"),
    "updateTask": (404, "the example names an execution and task by id; a fresh gateway holds none"),
    "updateTaskV2": (404, "the example names an execution and task by id; a fresh gateway holds none"),
    "testWorkflowNode": (422, "the example's webhook node calls http://127.0.0.1:9000/ping: with nothing "
                              "listening there the node fails (422 node_failed), as a run of it would"),
}


def accepted_statuses(document: dict[str, Any], path: str, method: str) -> set[str]:
    notes = document["paths"][path][method.lower()].get("x-contract") or {}
    accept = (notes.get("accept") or {}).get("positive_data_acceptance") or {}
    return {str(s) for s in accept.get("statuses", [])}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with run_gateway(tmp_path_factory.mktemp("spec-examples")) as gw:
        yield gw.url


def create_authorization(c: httpx.Client) -> dict[str, str]:
    """Altostrat's documented first step: an authorization, whose id the example bodies' placeholder
    ``authorization_id: auth_01H...`` stands for."""
    answer = c.post("/workflows/authorization")
    answer.raise_for_status()
    return {"authorization_id": answer.json()["id"]}


PREREQUISITES = {"altostrat": create_authorization}


def with_ids(body: Any, ids: dict[str, str]) -> Any:
    if isinstance(body, dict):
        return {k: ids[k] if k in ids else with_ids(v, ids) for k, v in body.items()}
    if isinstance(body, list):
        return [with_ids(v, ids) for v in body]
    return body


@pytest.mark.parametrize("dialect", ["conductor", "cognite", "altostrat"])
def test_every_example_is_accepted_in_documented_order(gateway: str, dialect: str):
    document = spec(dialect)
    problems: list[str] = []
    sent = 0
    with httpx.Client(base_url=gateway, timeout=60) as c:
        ids = PREREQUISITES[dialect](c) if dialect in PREREQUISITES else {}
        for op_id, method, path, path_params, query, body in requests_of(document):
            if "{webhookToken}" in path:
                continue  # a token issued per webhook workflow: no example can name one
            url = path
            for name, value in path_params.items():
                url = url.replace("{" + name + "}", value)
            body = with_ids(body, ids)
            answer = c.request(method, url, params=query, json=body) if body is not None else \
                c.request(method, url, params=query)
            sent += 1
            status = answer.status_code
            allowed = status < 300
            if path_params:  # an example id a fresh gateway may not hold, or state it cannot have
                allowed = allowed or status in (404, 409) or str(status) in accepted_statuses(document, path, method)
            if op_id in FRESH_GATEWAY:
                allowed = allowed or status == FRESH_GATEWAY[op_id][0]
            if not allowed:
                problems.append(f"{op_id} {method} {url} {body!r:.200} -> {status} {answer.text[:300]}")
    assert sent >= 10
    assert not problems, "\n".join(problems)
