"""Our compiled request validators and openapi-core give the same verdict on generated requests.

For every operation of the three specs Schemathesis generates valid (positive) and invalid
(negative) requests; each is serialized to wire bytes and judged by both validators
(tests/contract/differential.py).  The verdicts (valid / invalid) must agree.  Where the two
legitimately differ, generation is restricted (``_restricted`` below, each with its reason) instead
of weakening the comparison.
"""

from __future__ import annotations

from collections import Counter
from typing import Any
from urllib.parse import unquote

import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable

from tests.contract.differential import Judges, WireRequest
from tests.contract.profile import DIALECTS, SPECS, active_profile, time_limit

PROFILE = active_profile()

# U+001C..U+001F are whitespace for Python's ``re`` (str.isspace) but not for ECMA-262, which JSON
# Schema patterns follow, nor for the Rust regex engine of jsonschema-rs.  openapi-core checks
# ``pattern`` with Python's ``re``, so for a pattern using ``\s`` (Cognite's externalId pattern
# ``^(?!\s)(?![\s\S]*\s$)...``) it rejects "\x1dabc" where the spec's own regex dialect accepts it.
# That is the reference deviating from JSON Schema, so such strings are not generated.
_PYTHON_ONLY_WHITESPACE = frozenset("\x1c\x1d\x1e\x1f")


pytestmark = [pytest.mark.slow, pytest.mark.timeout(time_limit())]


def _restricted(case: Any, wire: WireRequest) -> str | None:
    """Why this request is outside the comparison (None when it is compared)."""
    if any(value == "" for _, value in wire.query):
        # openapi-core applies OpenAPI's deprecated ``allowEmptyValue: false`` default and rejects
        # ``?name=``; the vendors' servers (Spring for Conductor, the CDF API, Altostrat) bind it as
        # the empty string, and so does the gateway.  A documented, deliberate difference.
        return "empty query value"
    if _has_chars(case.path_parameters, case.query, case.headers, case.body, unquote(wire.raw_path)):
        return "U+001C..U+001F (Python re whitespace)"
    if case.operation.definition.raw.get("x-plain-text-body") and not _is_json(wire.body):
        # The vendor reads such a body as plain text (Conductor's @RequestBody String, which conductor-python
        # feeds raw lines labelled JSON); openapi-core knows no such thing and refuses it as malformed JSON.
        return "plain-text body of an x-plain-text-body operation"
    return None


def _is_json(body: bytes) -> bool:
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return True


def _has_chars(*values: Any) -> bool:
    stack = list(values)
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if not _PYTHON_ONLY_WHITESPACE.isdisjoint(value):
                return True
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, (list, tuple)):
            stack.extend(value)
    return False


@pytest.mark.parametrize("mode", ["positive", "negative"])
@pytest.mark.parametrize("dialect", DIALECTS)
def test_compiled_validators_agree_with_openapi_core(dialect: str, mode: str) -> None:
    judges = Judges(dialect, SPECS[dialect])
    schema = schemathesis.openapi.from_path(str(SPECS[dialect]))
    generation_mode = schemathesis.GenerationMode(mode)
    tally: Counter[str] = Counter()
    mismatches: list[str] = []

    for result in schema.get_all_operations():
        _judge_operation(result.ok(), generation_mode, judges, tally, mismatches)

    assert not mismatches, f"{len(mismatches)} verdicts differ ({dict(tally)}):\n" + "\n".join(mismatches)
    operations = len(judges.spec.operations)
    # The comparison must really have happened, on both kinds of request.
    assert tally["compared"] >= 2 * operations, dict(tally)
    if mode == "positive":
        assert tally["valid"] >= operations, dict(tally)
    else:
        # Many negative cases still serialize to valid requests (a "non-string" path segment is a
        # string on the wire), so only a share of them is invalid -- but never none.
        assert tally["invalid"] >= 10, dict(tally)


def _judge_operation(operation: Any, mode: Any, judges: Judges, tally: Counter[str], mismatches: list[str]) -> None:
    operation_id = operation.definition.raw.get("operationId", "")

    @settings(max_examples=PROFILE.differential_examples, derandomize=True, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def judge(case: Any) -> None:
        wire = WireRequest.from_case(case)
        reason = _restricted(case, wire)
        if reason is not None:
            tally[f"restricted: {reason}"] += 1
            return
        ours = judges.ours(wire, operation_id)
        reference = judges.reference(wire)
        tally["compared"] += 1
        tally["valid" if reference.valid else "invalid"] += 1
        if ours.valid != reference.valid and len(mismatches) < 40:
            mismatches.append(
                f"{operation.label}: ours={'valid' if ours.valid else 'invalid'} ({ours.reason}) "
                f"openapi-core={'valid' if reference.valid else 'invalid'} ({reference.reason})\n"
                f"    {wire.describe()}"
            )

    try:
        judge()
    except Unsatisfiable:
        # Nothing to negate: the operation has no parameters or body that can be made invalid.
        tally["operations without negative cases"] += 1
