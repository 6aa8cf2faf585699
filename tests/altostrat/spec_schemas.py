"""Validate JSON bodies against schemas of openapi/altostrat.yaml (test helper, reference validator)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi" / "altostrat.yaml"
SPEC_URI = "urn:wfgateway:altostrat"


@lru_cache(maxsize=1)
def load_spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC_PATH.read_text())


@lru_cache(maxsize=1)
def _registry() -> Registry:
    resource = Resource.from_contents(load_spec(), default_specification=DRAFT202012)
    return Registry().with_resource(SPEC_URI, resource)


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def operation(operation_id: str) -> tuple[str, str, dict[str, Any]]:
    """(path, method, operation object) of ``operation_id``."""
    for path, item in load_spec()["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                return path, method, op
    raise KeyError(operation_id)


def response_pointer(operation_id: str, status: str) -> str:
    path, method, op = operation(operation_id)
    response = op["responses"][status]
    if "$ref" in response:
        return response["$ref"].lstrip("#") + "/content/application~1json/schema"
    return f"/paths/{_escape(path)}/{method}/responses/{status}/content/application~1json/schema"


def request_pointer(operation_id: str) -> str:
    path, method, _ = operation(operation_id)
    return f"/paths/{_escape(path)}/{method}/requestBody/content/application~1json/schema"


def validator_for(pointer: str) -> jsonschema.Draft202012Validator:
    schema = {"$ref": f"{SPEC_URI}#{pointer}"}
    return jsonschema.Draft202012Validator(
        schema, registry=_registry(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def response_errors(operation_id: str, status: str, body: Any) -> list[str]:
    """Messages of every violation of ``body`` against the operation's response schema."""
    return [e.message for e in validator_for(response_pointer(operation_id, status)).iter_errors(body)]


def request_errors(operation_id: str, body: Any) -> list[str]:
    return [e.message for e in validator_for(request_pointer(operation_id)).iter_errors(body)]
