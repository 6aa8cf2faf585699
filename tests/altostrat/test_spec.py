"""The Altostrat contract: the spec is valid OpenAPI 3.1 and accepts the vendor's documented bodies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from tests.altostrat.spec_schemas import (
    load_spec,
    request_errors,
    request_pointer,
    response_errors,
    response_pointer,
    validator_for,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "altostrat"


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text())


def test_spec_is_valid_openapi_31():
    spec = load_spec()
    assert spec["openapi"] == "3.1.0"
    validate(spec)


def test_operation_ids_are_unique_and_every_operation_has_a_security_decision():
    ids = []
    for item in load_spec()["paths"].values():
        for method, op in item.items():
            if method in {"get", "post", "put", "delete", "patch"}:
                ids.append(op["operationId"])
                assert "security" in op, op["operationId"]
    assert len(ids) == len(set(ids))
    _, _, webhook = next(
        (p, m, op)
        for p, item in load_spec()["paths"].items()
        for m, op in item.items()
        if isinstance(op, dict) and op.get("operationId") == "triggerWorkflowWebhook"
    )
    assert webhook["security"] == []


@pytest.mark.parametrize(
    ("name", "operation_id", "status"),
    [
        ("seed002_rerun_response_202.json", "rerunWorkflowRun", "202"),
        ("seed004_rerun_response_202.json", "rerunWorkflowRun", "202"),
        ("seed004_error_response.json", "rerunWorkflowRun", "401"),
        ("seed004_error_response.json", "rerunWorkflowRun", "404"),
    ],
)
def test_seed_bodies_validate(name, operation_id, status):
    assert response_errors(operation_id, status, fixture(name)) == []


def test_seed_log_entry_validates_as_a_run_log():
    run = {"id": "fl_run_x", "status": "completed", "logs": [fixture("seed004_workflow_log.json")]}
    assert response_errors("getWorkflowRun", "200", run) == []


def test_rerun_schema_rejects_what_the_vendor_never_sends():
    body = fixture("seed004_rerun_response_202.json")
    assert response_errors("rerunWorkflowRun", "202", {"message": "x"})  # no new_run
    bad_status = json.loads(json.dumps(body))
    bad_status["new_run"]["status"] = "COMPLETED"
    assert response_errors("rerunWorkflowRun", "202", bad_status)
    bad_log = json.loads(json.dumps(body))
    bad_log["new_run"]["logs"][0]["status"] = "failed"
    assert response_errors("rerunWorkflowRun", "202", bad_log)


def _examples():
    """Every (schema pointer, example value) of the spec's media types."""
    spec = load_spec()
    found = []
    for _path, item in spec["paths"].items():
        for _method, op in item.items():
            if not isinstance(op, dict) or "operationId" not in op:
                continue
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                for ex in body.get("examples", {}).values():
                    found.append((request_pointer(op["operationId"]), ex))
            for status, response in op["responses"].items():
                media = response.get("content", {}).get("application/json")
                if media and "$ref" not in response:
                    for ex in media.get("examples", {}).values():
                        found.append((response_pointer(op["operationId"], status), ex))
    for response in spec["components"]["responses"].values():
        media = response.get("content", {}).get("application/json", {})
        for ex in media.get("examples", {}).values():
            found.append(("/components/schemas/ErrorResponse", ex))
    resolved = []
    for pointer, ex in found:
        if "$ref" in ex:
            ex = spec["components"]["examples"][ex["$ref"].rsplit("/", 1)[1]]
        resolved.append((pointer, ex["value"]))
    return resolved


@pytest.mark.parametrize(("pointer", "value"), _examples())
def test_every_spec_example_validates(pointer, value):
    assert [e.message for e in validator_for(pointer).iter_errors(value)] == []


def test_vault_create_requires_a_secret_unless_it_is_an_api_key():
    assert request_errors("createVaultItem", {"name": "github_token"})
    assert request_errors("createVaultItem", {"name": "github_token", "secret": "s"}) == []
    assert request_errors("createVaultItem", {"name": "api-key:ci"}) == []
    # [NEW] says omit it, [OLD] requires it: a secret given with an api-key: name is accepted (and ignored)
    assert request_errors("createVaultItem", {"name": "api-key:ci", "secret": "s"}) == []
    assert request_errors("createVaultItem", {"name": "ab", "secret": "s"})  # name 3-50
    assert request_errors("createVaultItem", {"name": "abc", "secret": "s" * 2001})


def test_create_workflow_requires_what_the_vendor_requires():
    ok = {"name": "x", "authorization_id": "auth_1", "nodes": [{"id": "n1", "type": "manual_trigger"}], "edges": []}
    assert request_errors("createWorkflow", ok) == []
    for missing in ("name", "authorization_id", "nodes", "edges"):
        body = {k: v for k, v in ok.items() if k != missing}
        assert request_errors("createWorkflow", body), missing
    assert request_errors("createWorkflow", {**ok, "nodes": []})
    assert request_errors("createWorkflow", {**ok, "schedule_type": "hourly"})
