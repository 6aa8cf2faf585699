"""What a serving gateway checks in a spec at start (without openapi-core, which `wfgateway check`
adds), and that every validator of a spec shares its compiled components."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from wfgateway.contract.spec import SpecError, load_spec
from wfgateway.contract.validators import RequestValidator, ResponseValidator
from wfgateway.core.errors import ValidationFailed

REPO = Path(__file__).resolve().parents[2]
DIALECTS = ("conductor", "cognite", "altostrat")


def _conductor() -> dict[str, Any]:
    return yaml.safe_load((REPO / "openapi/conductor.yaml").read_text())


def _write(tmp_path: Path, document: dict[str, Any]) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.mark.parametrize("dialect", DIALECTS)
def test_shipped_specs_pass_both_checks(dialect: str) -> None:
    spec = load_spec(dialect, REPO / f"openapi/{dialect}.yaml")
    assert spec.operations
    assert spec.openapi is not None  # openapi-core's complete check agrees


def test_a_dangling_ref_stops_the_start(tmp_path: Path) -> None:
    doc = _conductor()
    doc["components"]["schemas"]["WorkflowDef"]["properties"]["tasks"]["items"] = {"$ref": "#/components/schemas/Nope"}
    with pytest.raises(SpecError, match=r"WorkflowDef/properties/tasks/items: \$ref '#/components/schemas/Nope' points"):
        load_spec("conductor", _write(tmp_path, doc))


def test_a_component_that_is_no_json_schema_stops_the_start(tmp_path: Path) -> None:
    doc = _conductor()
    doc["components"]["schemas"]["WorkflowDef"]["type"] = "objet"
    with pytest.raises(SpecError, match="components/schemas/WorkflowDef: not a valid JSON Schema"):
        load_spec("conductor", _write(tmp_path, doc))


def test_a_document_that_is_no_openapi_31_stops_the_start(tmp_path: Path) -> None:
    doc = _conductor()
    doc["paths"]["/api/token"]["post"]["responses"] = []
    with pytest.raises(SpecError, match="not a valid OpenAPI 3.1 document: paths//api/token/post/responses"):
        load_spec("conductor", _write(tmp_path, doc))


def test_serving_does_not_import_openapi_core() -> None:
    code = (
        "import sys; from wfgateway.app import create_app; create_app(sys.argv[1]);"
        "print('openapi_core' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(REPO / "config.yaml")], capture_output=True, text=True,
                         check=True, cwd=REPO)
    assert out.stdout.strip() == "False"


def test_validators_resolve_refs_through_the_shared_components() -> None:
    spec = load_spec("conductor", REPO / "openapi/conductor.yaml")
    op = next(o for o in spec.operations if o.method == "POST" and o.path == "/api/metadata/workflow")
    request = RequestValidator(op, spec)
    good = {"name": "wf", "version": 1, "timeoutSeconds": 0,
            "tasks": [{"name": "t", "taskReferenceName": "t", "type": "SIMPLE"}]}
    request.body("application/json", good)
    bad = copy.deepcopy(good)
    bad["tasks"][0]["name"] = 7  # inside a $ref'd component two levels down
    with pytest.raises(ValidationFailed) as failed:
        request.body("application/json", bad)
    assert [v.pointer for v in failed.value.violations] == ["tasks/0/name"]


def test_response_validators_find_drift_built_lazily_or_at_start() -> None:
    spec = load_spec("conductor", REPO / "openapi/conductor.yaml")
    op = next(o for o in spec.operations if o.method == "GET" and o.path == "/api/workflow/{workflowId}")
    for validator in (ResponseValidator(op, spec), ResponseValidator(op, spec, eager=True)):
        drift = validator.check(200, "application/json", {"workflowId": 5})
        assert 'workflowId: 5 is not of type "string"' in drift
        assert not any(p.startswith("workflowId") for p in validator.check(200, "application/json", {"workflowId": "w"}))
        assert validator.check(299, "application/json", {}) == ["status 299 is not documented for getWorkflow"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_start_reads_each_spec_as_the_pure_yaml_loader_does(dialect: str) -> None:
    """libyaml's loader (when PyYAML has it) is a speed-up only: the same document, value for value."""
    text = (REPO / f"openapi/{dialect}.yaml").read_text()
    assert load_spec(dialect, REPO / f"openapi/{dialect}.yaml").document == yaml.load(text, Loader=yaml.SafeLoader)


@pytest.mark.parametrize("broken", ["openapi: 3.1.0\npaths: [1, 2\ninfo: {}\n", "openapi: 3.1.0\n\tpaths: {}\n",
                                    "openapi: 3.1.0\npaths:\n  - a\n - b\n"])
def test_a_spec_that_is_no_yaml_is_reported_as_the_pure_loader_reports_it(tmp_path: Path, broken: str) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(broken)
    with pytest.raises(yaml.YAMLError) as pure:
        yaml.load(broken, Loader=yaml.SafeLoader)
    with pytest.raises(SpecError) as refused:
        load_spec("conductor", path)
    assert str(refused.value) == f"{path}: cannot read spec: {pure.value}"
    assert "^" in str(refused.value)  # the pure loader's marks quote the line and point at the column
