"""Loading a vendor spec: openapi-core checks it once at start, then we flatten it into Operations.

Routes, validators and the response checker are all built from these Operations, so a path or a
schema is written once, in openapi/<vendor>.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from openapi_core import OpenAPI

from wfgateway.contract.schemas import SpecSchemas

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


@dataclass
class Spec:
    dialect: str
    path: Path
    document: dict[str, Any]
    operations: list[Operation]
    openapi: OpenAPI
    schemas: SpecSchemas  # every validator of this spec compiles against these shared components

    @property
    def components(self) -> dict[str, Any]:
        return self.document.get("components", {})


def load_spec(dialect: str, path: Path) -> Spec:
    """Read and check the spec (openapi-core validates it against the OpenAPI schema)."""
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(f"{path}: cannot read spec: {exc}") from exc
    try:
        openapi = OpenAPI.from_dict(document, base_uri=path.resolve().as_uri())
    except Exception as exc:  # openapi-core raises many validation error types
        raise SpecError(f"{path}: not a valid OpenAPI document: {exc}") from exc
    uri = path.resolve().as_uri()
    return Spec(dialect=dialect, path=path, document=document, operations=_operations(document), openapi=openapi,
                schemas=SpecSchemas(uri, document.get("components", {})))


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
                )
            )
    return ops
