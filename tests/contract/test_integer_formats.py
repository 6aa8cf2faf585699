"""Integer formats are enforced at both bounds: every `format: int32|int64` schema of the three specs
refuses one past its lower and its upper bound and accepts values inside (a Hypothesis property per
field), and a request carrying such a value is refused with the vendor's 400/422 end to end."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.support.server import REPO, run_gateway
from wfgateway.contract.spec import Spec, load_spec

RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
DIALECTS = ("conductor", "cognite", "altostrat")


def integer_fields(node: Any, pointer: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        if node.get("format") in RANGES and "integer" in _types(node):
            yield pointer, node
        for key, value in node.items():
            yield from integer_fields(value, f"{pointer}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from integer_fields(value, f"{pointer}/{i}")


def _types(node: dict[str, Any]) -> list[str]:
    kind = node.get("type")
    return kind if isinstance(kind, list) else [kind]


@cache
def spec(dialect: str) -> Spec:
    return load_spec(dialect, REPO / "openapi" / f"{dialect}.yaml")


FIELDS = [(d, pointer, node) for d in DIALECTS for pointer, node in integer_fields(spec(d).document)]


def test_the_fields_are_found():
    """Conductor declares its Java ints and longs (40 fields); Cognite and Altostrat declare none today,
    and any they add joins the property below."""
    assert len([f for f in FIELDS if f[0] == "conductor"]) >= 30


@pytest.mark.parametrize(("dialect", "pointer", "node"), FIELDS, ids=[f"{d}:{p}" for d, p, _n in FIELDS])
def test_both_bounds_of_each_integer_field(dialect: str, pointer: str, node: dict[str, Any]):
    validator = spec(dialect).schemas.compile(node)
    low, high = RANGES[node["format"]]
    inside_low = max(low, node.get("minimum", low), node.get("exclusiveMinimum", low - 1) + 1)
    inside_high = min(high, node.get("maximum", high), node.get("exclusiveMaximum", high + 1) - 1)
    free = not ({"enum", "const", "multipleOf", "not", "oneOf", "anyOf"} & node.keys())

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.one_of(st.integers(max_value=low - 1), st.integers(min_value=high + 1)))
    @example(low - 1)
    @example(high + 1)
    def outside_is_refused(value: int) -> None:
        assert not validator.is_valid(value), f"{value} accepted by {pointer}"

    @settings(max_examples=30, deadline=None)
    @given(st.integers(min_value=inside_low, max_value=inside_high))
    @example(inside_low)
    @example(inside_high)
    def inside_is_accepted(value: int) -> None:
        assert validator.is_valid(value), f"{value} refused by {pointer}"

    outside_is_refused()
    if free and inside_low <= inside_high:
        inside_is_accepted()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with run_gateway(tmp_path_factory.mktemp("int-formats")) as gw:
        yield gw.url


@pytest.mark.parametrize("value", [-(2**63) - 1, 2**63])
def test_a_task_definition_time_past_int64_is_refused(gateway: str, value: int):
    """The case QA found: Conductor taskdefs took an updateTime below int64 with 200."""
    answer = httpx.post(f"{gateway}/api/metadata/taskdefs", json=[{"name": "bounded", "updateTime": value}])
    assert answer.status_code == 400, answer.text
    assert httpx.get(f"{gateway}/api/metadata/taskdefs/bounded").status_code == 404
