"""openapi/conductor.yaml: a valid OpenAPI 3.1 document whose schemas accept the vendor's own examples
and reject what Conductor rejects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from openapi_spec_validator import validate

REPO = Path(__file__).resolve().parents[2]
SPEC = yaml.safe_load((REPO / "openapi" / "conductor.yaml").read_text())
FIXTURES = REPO / "tests" / "fixtures" / "conductor"


def validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({**schema, "components": SPEC["components"]})


def component(name: str) -> jsonschema.Draft202012Validator:
    return validator({"$ref": f"#/components/schemas/{name}"})


def operation(path: str, method: str) -> dict[str, Any]:
    return SPEC["paths"][path][method]


def test_openapi_spec_validator_accepts_the_spec() -> None:
    validate(SPEC)


def test_every_operation_has_a_unique_operation_id_and_error_responses() -> None:
    ids = []
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            ids.append(op["operationId"])
            assert any(code.startswith("4") for code in op["responses"]), f"{method} {path} documents no errors"
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("name", ["rerun_request_example.json", "rerun_request_from_task.json"])
def test_seed_rerun_request_bodies_validate(name: str) -> None:
    body = json.loads((FIXTURES / name).read_text())
    schema = operation("/api/workflow/{workflowId}/rerun", "post")["requestBody"]["content"]["application/json"]["schema"]
    validator(schema).validate(body)


def test_seed_rerun_response_is_the_documented_text_plain_id() -> None:
    responses = operation("/api/workflow/{workflowId}/rerun", "post")["responses"]["200"]["content"]
    assert list(responses) == ["text/plain"]
    text = (FIXTURES / "rerun_response.txt").read_text()
    validator(responses["text/plain"]["schema"]).validate(text)
    assert text == (FIXTURES / "rerun_request_path_id.txt").read_text()  # rerun answers the same id


def _examples() -> list[tuple[str, dict[str, Any], Any]]:
    out = []
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            media = (op.get("requestBody") or {}).get("content", {})
            for response in op["responses"].values():
                if "$ref" in response:
                    response = SPEC["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
                media = {**media, **{f"response {k}": v for k, v in response.get("content", {}).items()}}
            for mt, content in media.items():
                for ex_name, ex in (content.get("examples") or {}).items():
                    out.append((f"{method} {path} {mt} {ex_name}", content["schema"], ex["value"]))
    return out


@pytest.mark.parametrize(("where", "schema", "value"), _examples(), ids=[e[0] for e in _examples()])
def test_every_example_in_the_spec_validates(where: str, schema: dict[str, Any], value: Any) -> None:
    validator(schema).validate(value)


@pytest.mark.parametrize(
    ("name", "doc"),
    [
        ("WorkflowDef", {"name": "x", "timeoutSeconds": 0}),  # tasks are required
        ("WorkflowDef", {"name": "x", "timeoutSeconds": 0, "tasks": []}),  # ... and not empty
        ("WorkflowDef", {"name": "", "timeoutSeconds": 0, "tasks": [{"name": "a", "taskReferenceName": "a"}]}),
        ("WorkflowTask", {"name": "a"}),  # taskReferenceName required
        ("TaskResult", {"workflowInstanceId": "w", "taskId": "t", "status": "DONE"}),
        ("TaskResult", {"workflowInstanceId": "w", "status": "COMPLETED"}),
        ("StartWorkflowRequest", {"input": {}}),
        ("StartWorkflowRequest", {"name": "x", "priority": 100}),
        ("StartWorkflowRequest", {"name": "x", "idempotencyStrategy": "SOMETIMES"}),
        ("TaskDef", {"name": "t", "timeoutSeconds": 10, "retryCount": -1}),
        ("GenerateTokenRequest", {"keyId": "k"}),
    ],
)
def test_schemas_reject_what_conductor_rejects(name: str, doc: dict[str, Any]) -> None:
    assert not component(name).is_valid(doc)


@pytest.mark.parametrize(
    ("name", "doc"),
    [
        # the OSS server's timeoutSeconds is a primitive long: absent is 0, so nothing is refused for it
        ("WorkflowDef", {"name": "x", "tasks": [{"name": "a", "taskReferenceName": "a"}]}),
        ("TaskDef", {"name": "t"}),
    ],
)
def test_schemas_accept_what_conductor_accepts(name: str, doc: dict[str, Any]) -> None:
    assert component(name).is_valid(doc)


def test_request_schemas_ignore_unknown_fields_like_conductor() -> None:
    # Conductor's ObjectMapper has FAIL_ON_UNKNOWN_PROPERTIES=false; the SDK sends fields older servers lack.
    component("TaskResult").validate({"workflowInstanceId": "w", "taskId": "t", "status": "COMPLETED",
                                      "extendLease": False, "somethingNew": 1})
    component("StartWorkflowRequest").validate({"name": "x", "idempotencyStrategy": "FAIL", "future": True})
    component("RerunWorkflowRequest").validate({"reRunFromTaskId": "t", "rerunParentDownstreamTasks": True})


def test_retry_and_restart_answer_204_and_rerun_and_starts_answer_text_plain() -> None:
    assert "204" in operation("/api/workflow/{workflowId}/retry", "post")["responses"]
    assert "204" in operation("/api/workflow/{workflowId}/restart", "post")["responses"]
    for path in ("/api/workflow", "/api/workflow/{name}", "/api/workflow/{workflowId}/rerun"):
        assert list(operation(path, "post")["responses"]["200"]["content"]) == ["text/plain"]
    assert operation("/api/token", "post")["security"] == []


def test_the_response_checker_used_by_http_tests_rejects_drift() -> None:
    import httpx

    from tests.conductor.spec_check import check_against_spec

    def answer(method: str, path: str, status: int, **kw: object) -> httpx.Response:
        return httpx.Response(status, request=httpx.Request(method, f"http://127.0.0.1{path}"), **kw)  # type: ignore[arg-type]

    check_against_spec(answer("POST", "/api/workflow/x/retry", 204))
    check_against_spec(answer("POST", "/api/workflow/x/rerun", 200, text="x", headers={"content-type": "text/plain"}))
    with pytest.raises(AssertionError):
        check_against_spec(answer("GET", "/api/workflow/abc", 200, json={"workflowId": 1}))
    with pytest.raises(AssertionError):
        check_against_spec(answer("POST", "/api/workflow/x/rerun", 200, json={"id": "x"}))
    with pytest.raises(AssertionError):
        check_against_spec(answer("POST", "/api/workflow/x/retry", 200, json={}))  # 200 is not documented
