"""Loading a vendor spec: checked once at start, then flattened into Operations.

Routes, validators and the response checker are all built from these Operations, so a path or a
schema is written once, in openapi/<vendor>.yaml.

The start-up check is the OpenAPI 3.1 schema (the one openapi-spec-validator ships) compiled with
jsonschema-rs, every component schema against the JSON Schema meta-schema, and every local
``$ref`` resolved.  openapi-core's complete check (``Spec.openapi``) runs in ``wfgateway check`` and
in the tests: importing openapi-core alone costs a serving process about 20 MB, for nothing it uses.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema_rs
import yaml

from wfgateway.contract.schemas import SpecSchemas
from wfgateway.contract.yaml_documents import load_document

if TYPE_CHECKING:
    from openapi_core import OpenAPI

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


class SpecError(Exception):
    """The spec file is unreadable or not a valid OpenAPI document."""


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # path | query | header
    required: bool
    schema: dict[str, Any]
    explode: bool = True
    credential: bool = False  # ``x-credential: true``: masked wherever a path or query is written


@dataclass
class Operation:
    operation_id: str
    method: str  # upper case
    path: str  # template, e.g. /api/workflow/{workflowId}/rerun
    parameters: list[Parameter]
    body_required: bool = False
    body_media: dict[str, dict[str, Any]] = field(default_factory=dict)  # media type -> schema
    responses: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # status -> media -> schema
    secured: bool = True
    # ``x-plain-text-body``: a body labelled JSON that is not JSON is taken as plain text (the vendor
    # binds it to a String: conductor-python sends task log lines raw as application/json)
    plain_text_body: bool = False
    # ``x-gateway-extension``: what this operation accepts beyond the vendor's own API (for instance
    # ids the gateway issues through another dialect); docs/compatibility.md lists it
    extension: str = ""


@dataclass
class Spec:
    dialect: str
    path: Path
    document: dict[str, Any]
    operations: list[Operation]
    schemas: SpecSchemas  # every validator of this spec compiles against these shared components

    @property
    def components(self) -> dict[str, Any]:
        return self.document.get("components", {})

    @cached_property
    def openapi(self) -> OpenAPI:
        """openapi-core's model of the spec, built (and so fully checked) on first use."""
        from openapi_core import OpenAPI

        try:
            return OpenAPI.from_dict(self.document, base_uri=self.path.resolve().as_uri())
        except Exception as exc:  # openapi-core raises many validation error types
            raise SpecError(f"{self.path}: not a valid OpenAPI document: {exc}") from exc

    @property
    def unserved_paths(self) -> list[str]:
        """``x-unserved-paths``: the vendor's own paths this gateway does not serve (reserved in the
        route trie, so no served template captures them)."""
        return [str(p) for p in self.document.get("x-unserved-paths") or []]


def load_spec(dialect: str, path: Path) -> Spec:
    """Read and check the spec (see the module docstring for what is checked)."""
    try:
        document = load_document(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(f"{path}: cannot read spec: {exc}") from exc
    _check_document(path, document)
    return Spec(dialect=dialect, path=path, document=document, operations=_operations(document),
                schemas=SpecSchemas(path.resolve().as_uri(), document.get("components", {})))


def _check_document(path: Path, document: Any) -> None:
    errors = list(_openapi_31_validator().iter_errors(document))
    if errors:
        where = "/".join(map(str, errors[0].instance_path)) or "(root)"
        raise SpecError(f"{path}: not a valid OpenAPI 3.1 document: {where}: {errors[0].message}")
    for name, schema in (document.get("components", {}).get("schemas") or {}).items():
        try:
            jsonschema_rs.meta.validate(schema)
        except jsonschema_rs.ValidationError as exc:
            raise SpecError(f"{path}: components/schemas/{name}: not a valid JSON Schema: {exc.message}") from exc
    for where, ref in _local_refs(document, ""):
        try:
            resolve(document, {"$ref": ref})
        except (KeyError, IndexError, TypeError, SpecError):
            raise SpecError(f"{path}: {where}: $ref {ref!r} points nowhere") from None


def _local_refs(node: Any, where: str) -> list[tuple[str, str]]:
    if isinstance(node, list):
        return [r for i, v in enumerate(node) for r in _local_refs(v, f"{where}/{i}")]
    if not isinstance(node, dict):
        return []
    found = [(where or "/", node["$ref"])] if isinstance(node.get("$ref"), str) else []
    return found + [r for k, v in node.items() for r in _local_refs(v, f"{where}/{k}")]


@cache
def _openapi_31_validator() -> jsonschema_rs.Validator:
    """The OpenAPI 3.1 schema shipped by openapi-spec-validator, read as a data file (importing the
    package would load what this module avoids)."""
    found = importlib.util.find_spec("openapi_spec_validator")
    if found is None or found.origin is None:
        raise SpecError("openapi-spec-validator is not installed (its OpenAPI 3.1 schema checks the specs)")
    schema_file = Path(found.origin).parent / "resources" / "schemas" / "v3.1" / "schema.json"
    return jsonschema_rs.Draft202012Validator(json.loads(schema_file.read_text()), validate_formats=True)


def resolve(document: dict[str, Any], node: Any) -> Any:
    """Follow a local ``$ref`` (one level at a time) inside the document."""
    while isinstance(node, dict) and "$ref" in node and len(node) == 1:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            raise SpecError(f"only local $refs are supported: {ref}")
        target: Any = document
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _operations(document: dict[str, Any]) -> list[Operation]:
    ops: list[Operation] = []
    global_security = document.get("security")
    for path, item in (document.get("paths") or {}).items():
        item = resolve(document, item)
        shared = [resolve(document, p) for p in item.get("parameters", [])]
        for method in HTTP_METHODS:
            if method not in item:
                continue
            op = item[method]
            params = {(p["name"], p["in"]): p for p in shared}
            for p in op.get("parameters", []):
                p = resolve(document, p)
                params[(p["name"], p["in"])] = p
            body = resolve(document, op.get("requestBody")) if op.get("requestBody") else None
            security = op.get("security", global_security)
            ops.append(
                Operation(
                    operation_id=op.get("operationId") or f"{method}_{path}",
                    method=method.upper(),
                    path=path,
                    parameters=[
                        Parameter(
                            name=p["name"],
                            location=p["in"],
                            required=bool(p.get("required", p["in"] == "path")),
                            schema=p.get("schema", {}),
                            explode=p.get("explode", p.get("style", "form") == "form"),
                            credential=p.get("x-credential") is True,
                        )
                        for p in params.values()
                        if p["in"] in ("path", "query", "header")
                    ],
                    body_required=bool(body and body.get("required")),
                    body_media={mt: c.get("schema", {}) for mt, c in (body or {}).get("content", {}).items()},
                    responses={
                        str(code): {
                            mt: c.get("schema", {}) for mt, c in (resolve(document, r).get("content") or {}).items()
                        }
                        for code, r in (op.get("responses") or {}).items()
                    },
                    secured=bool(security) and any(bool(s) for s in security),
                    plain_text_body=bool(op.get("x-plain-text-body")),
                    extension=" ".join(str(op.get("x-gateway-extension") or "").split()),
                )
            )
    return ops
