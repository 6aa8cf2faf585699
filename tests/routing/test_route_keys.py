"""Each adapter's ROUTE_KEYS names real operations and real parameters of its spec."""

from __future__ import annotations

import importlib

import pytest

from tests.support.server import REPO
from wfgateway.contract.spec import load_spec
from wfgateway.routing.keys import compile_mapping


@pytest.mark.parametrize("vendor", ["conductor", "cognite", "altostrat"])
def test_route_keys_point_at_the_spec(vendor):
    mapping = importlib.import_module(f"adapters.{vendor}.route_keys").ROUTE_KEYS
    compile_mapping(mapping)  # every location parses
    spec = load_spec(vendor, REPO / f"openapi/{vendor}.yaml")
    ops = {op.operation_id: op for op in spec.operations}
    for op_id, entry in mapping.items():
        assert op_id in ops, f"{vendor}: {op_id} is not an operation of the spec"
        op = ops[op_id]
        for key, where in entry.items():
            if key in ("created", "local", "idempotent"):
                continue
            part, _, name = where.partition(".")
            if part in ("path", "query", "header"):
                declared = {p.name for p in op.parameters if p.location == part}
                assert name in declared, f"{vendor} {op_id}: no {part} parameter {name}"
            else:
                assert op.body_media, f"{vendor} {op_id}: reads the body but takes none"
        if entry.get("created") == "text":
            assert any("text/plain" in media for status, media in op.responses.items() if status.startswith("2"))
