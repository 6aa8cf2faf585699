"""The Cognite contract: a valid OpenAPI 3.1 document that accepts seed 003's examples and encodes
Cognite's limits (externalId, metadata, retries, list limits)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from openapi_spec_validator import validate

REPO = Path(__file__).resolve().parents[2]
SPEC_PATH = REPO / "openapi" / "cognite.yaml"
FIXTURES = REPO / "tests" / "fixtures" / "cognite"
SPEC: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text())
METHODS = {"get", "post", "put", "delete", "patch"}


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def operation(operation_id: str) -> tuple[str, str, dict[str, Any]]:
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            if method in METHODS and op["operationId"] == operation_id:
                return path, method, op
    raise KeyError(operation_id)


def errors(schema: dict[str, Any], value: Any) -> list[str]:
    root = {**schema, "components": SPEC["components"]}
    validator = jsonschema.Draft202012Validator(root)
    return [e.message for e in validator.iter_errors(value)]


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def request_schema(operation_id: str) -> dict[str, Any]:
    return operation(operation_id)[2]["requestBody"]["content"]["application/json"]["schema"]


def response_schema(operation_id: str, status: str) -> dict[str, Any]:
    response = resolve(operation(operation_id)[2]["responses"][status])
    return response["content"]["application/json"]["schema"]


def component(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def test_spec_is_valid_openapi_31():
    assert SPEC["openapi"] == "3.1.0"
    validate(SPEC)


def test_every_operation_has_a_unique_id_and_documents_its_errors():
    ids = []
    for item in SPEC["paths"].values():
        for method, op in item.items():
            if method not in METHODS:
                continue
            ids.append(op["operationId"])
            assert "401" in op["responses"], op["operationId"]
            if "requestBody" in op:
                assert {"400", "413", "415"} <= set(op["responses"]), op["operationId"]
    assert len(ids) == len(set(ids))


def test_seed003_retry_examples_validate():
    path, method, op = operation("retryWorkflowExecution")
    assert (path, method) == ("/api/v1/projects/{project}/workflows/executions/{executionId}/retry", "post")
    assert errors(request_schema("retryWorkflowExecution"), fixture("seed003_retry_request.json")) == []
    assert errors(response_schema("retryWorkflowExecution", "200"), fixture("seed003_retry_response_200.json")) == []
    assert errors(response_schema("retryWorkflowExecution", "404"), fixture("seed003_error_404.json")) == []
    execution_id = fixture("seed003_retry_response_200.json")["id"]
    assert errors(component("ExecutionId"), execution_id) == []


def test_retry_request_and_response_reject_what_cognite_rejects():
    schema = request_schema("retryWorkflowExecution")
    assert errors(schema, {})  # authentication is required
    assert errors(schema, {"authentication": {}})
    response = fixture("seed003_retry_response_200.json")
    assert errors(response_schema("retryWorkflowExecution", "200"), {**response, "status": "PAUSED"})
    assert errors(response_schema("retryWorkflowExecution", "200"), {**response, "id": "not-a-uuid"})
    assert errors(response_schema("retryWorkflowExecution", "404"), {"error": {"code": 404}})  # message required


def test_every_example_validates_against_its_schema():
    checked = 0
    for item in SPEC["paths"].values():
        for method, op in item.items():
            if method not in METHODS:
                continue
            media = [op.get("requestBody", {}).get("content", {}).get("application/json")]
            for response in op["responses"].values():
                media.append(resolve(response).get("content", {}).get("application/json"))
            for m in filter(None, media):
                for example in m.get("examples", {}).values():
                    value = resolve(example)["value"]
                    assert errors(m["schema"], value) == [], (op["operationId"], value)
                    checked += 1
    assert checked > 40


@pytest.mark.parametrize(
    ("metadata", "ok"),
    [
        ({f"k{i}": "v" for i in range(10)}, True),
        ({f"k{i}": "v" for i in range(11)}, False),
        ({"k" * 32: "v"}, True),
        ({"k" * 33: "v"}, False),
        ({"k": "v" * 255}, True),
        ({"k": "v" * 256}, False),
        ({"k": 1}, False),
    ],
)
def test_run_metadata_limits(metadata, ok):
    body = {"authentication": {"nonce": "n"}, "metadata": metadata}
    assert (errors(request_schema("runWorkflow"), body) == []) is ok


@pytest.mark.parametrize(
    ("external_id", "ok"),
    [("wf", True), ("w" * 255, True), ("w" * 256, False), ("", False), (" wf", False), ("wf ", False),
     ("w\x00f", False), ("wf/x y", True)],
)
def test_external_id_limits(external_id, ok):
    body = {"items": [{"externalId": external_id}]}
    assert (errors(request_schema("upsertWorkflows"), body) == []) is ok


def _version(task: dict[str, Any]) -> dict[str, Any]:
    base = {"externalId": "t1", "type": "function", "parameters": {"function": {"externalId": "fn"}}}
    return {"items": [{"workflowExternalId": "wf", "version": "1",
                       "workflowDefinition": {"tasks": [{**base, **task}]}}]}


@pytest.mark.parametrize(
    ("task", "ok"),
    [
        ({}, True),
        ({"retries": 0}, True),
        ({"retries": 10}, True),
        ({"retries": 11}, False),
        ({"retries": -1}, False),
        ({"onFailure": "skipTask"}, True),
        ({"onFailure": "ignore"}, False),
        ({"type": "teleport"}, False),
        ({"parameters": {}}, False),  # a function task names its function
        ({"type": "cdf", "parameters": {"cdfRequest": {"resourcePath": "/x"}}}, False),  # method required
        ({"type": "dynamic", "parameters": {"dynamic": {"tasks": "${t0.output.tasks}"}}}, True),
        ({"type": "subworkflow", "parameters": {"subworkflow": {"workflowExternalId": "w", "version": "1"}}}, True),
        ({"dependsOn": [{"externalId": f"t{i}"} for i in range(101)]}, False),
        ({"type": "subworkflow", "parameters": {"subworkflow": {"tasks": [
            {"externalId": "n", "type": "function", "parameters": {"function": {"externalId": "f"}}}]}}}, True),
        ({"type": "subworkflow", "parameters": {"subworkflow": {"tasks": [{"type": "function"}]}}}, False),
        ({"type": "subworkflow", "parameters": {"subworkflow": {"tasks": [
            {"externalId": "n", "type": "dynamic", "parameters": {"dynamic": {"tasks": "${a.output}"}}}]}}}, False),
    ],
)
def test_task_definition_limits(task, ok):
    assert (errors(request_schema("upsertWorkflowVersions"), _version(task)) == []) is ok


@pytest.mark.parametrize(("limit", "ok"), [(1, True), (1000, True), (0, False), (1001, False)])
def test_list_limits(limit, ok):
    body = {"filter": {"status": ["FAILED"]}, "limit": limit}
    assert (errors(request_schema("listWorkflowExecutions"), body) == []) is ok
    assert (errors(request_schema("listWorkflowVersions"), {"limit": limit}) == []) is ok


def test_timestamps_are_non_negative_ms_before_year_10000():
    schema = request_schema("listWorkflowExecutions")
    assert errors(schema, {"filter": {"createdTimeStart": 1730204346000}}) == []
    assert errors(schema, {"filter": {"createdTimeStart": -1}})
    assert errors(schema, {"filter": {"createdTimeEnd": 2**63}})


def test_execution_status_filter_uses_cognite_words():
    schema = request_schema("listWorkflowExecutions")
    assert errors(schema, {"filter": {"status": ["RUNNING", "TIMED_OUT", "TERMINATED"]}}) == []
    assert errors(schema, {"filter": {"status": ["running"]}})
    assert errors(schema, {"filter": {"status": ["CANCELED"]}})


def test_cursors_are_the_opaque_tokens_the_api_hands_out():
    assert errors(component("Cursor"), "eyJvIjoyfQ") == []
    assert errors(component("Cursor"), "not a cursor!")
    assert errors(request_schema("listWorkflowExecutions"), {"cursor": None}) == []
