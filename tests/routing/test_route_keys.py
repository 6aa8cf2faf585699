"""Each adapter's ROUTE_KEYS names real operations and real parameters of its spec."""

from __future__ import annotations

import importlib

import pytest

from tests.support.server import REPO
from wfgateway.contract.spec import load_spec
from wfgateway.routing.keys import compile_mapping


@pytest.mark.parametrize("vendor", ["conductor", "cognite", "altostrat"])
def test_route_keys_point_at_the_spec(vendor):
    mapping = importlib.import_module(f"wfgateway.adapters.{vendor}.route_keys").ROUTE_KEYS
    compile_mapping(mapping)  # every location parses
    spec = load_spec(vendor, REPO / f"openapi/{vendor}.yaml")
    ops = {op.operation_id: op for op in spec.operations}
    for op_id, entry in mapping.items():
        assert op_id in ops, f"{vendor}: {op_id} is not an operation of the spec"
        op = ops[op_id]
        for key, where in entry.items():
            if key in ("created", "local", "idempotent", "split"):
                continue
            if key == "related":  # read from the answer: the operation must answer JSON
                assert any("json" in m for status, media in op.responses.items() if status.startswith("2") for m in media), \
                    f"{vendor} {op_id}: 'related' needs a JSON answer"
                continue
            part, _, name = where.partition(".")
            if part in ("path", "query", "header"):
                declared = {p.name for p in op.parameters if p.location == part}
                assert name in declared, f"{vendor} {op_id}: no {part} parameter {name}"
            else:
                assert op.body_media, f"{vendor} {op_id}: reads the body but takes none"
        if entry.get("created") == "text":
            assert any("text/plain" in media for status, media in op.responses.items() if status.startswith("2"))


def test_related_ids_are_collected_through_lists_and_missing_parts_are_ignored():
    related = compile_mapping({"op": {"related": "body.tasks.*.subWorkflowId"}})["op"].related
    answer = {"tasks": [{"subWorkflowId": "c1"}, {"other": 1}, {"subWorkflowId": None}, {"subWorkflowId": "c2"}]}
    assert related(answer) == ["c1", "c2"]
    assert related({"tasks": "not a list"}) == [] and related(None) == []
    top_level = compile_mapping({"op": {"related": "body.*.workflowInstanceId"}})["op"].related
    assert top_level([{"workflowInstanceId": "w1"}, {"workflowInstanceId": "w2"}]) == ["w1", "w2"]
    with pytest.raises(ValueError):
        compile_mapping({"op": {"related": "query.id"}})
