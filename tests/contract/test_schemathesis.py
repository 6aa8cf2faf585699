"""Schemathesis, in process against the gateway's ASGI app, over every operation of the three specs.

All four phases run (examples, coverage, fuzzing and stateful sequences through the specs' OpenAPI
links) with every check that applies, on a gateway with credentials configured for every dialect (so
``ignored_auth`` and the missing-``Authorization`` check apply too), an SQLite store in tmp_path and
``response_validation: report``.  The run is the one ``wfgateway contract`` makes
(wfgateway.contract.runner); per-operation exceptions are written in the spec (``x-contract``) or
follow from routing, each with its reason, and the report prints them.  That the links reach failed
runs and their reruns is shown deterministically in test_linked_runs.py.  The three dialects run side
by side in worker processes (tests/contract/inprocess.py).  Depth: WFGATEWAY_FUZZ_PROFILE.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future

import pytest

from tests.contract.gateways import keyed_document
from tests.contract.inprocess import DialectRun, start_all
from tests.contract.profile import DIALECTS, KNOWN_GAPS, active_profile, selected_dialects, time_limit
from wfgateway.contract.report import render_text
from wfgateway.contract.runner import spec_operations

pytestmark = [pytest.mark.slow, pytest.mark.timeout(time_limit())]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[dict[str, Future]]:
    pool, futures = start_all(selected_dialects(request), tmp_path_factory.mktemp("contract"), active_profile().name)
    try:
        yield futures
    finally:
        pool.shutdown(cancel_futures=True)


@pytest.fixture
def result(runs: dict[str, Future], dialect: str) -> DialectRun:
    return runs[dialect].result(timeout=time_limit())


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_operation_passes_every_check(dialect: str, result: DialectRun) -> None:
    report = result.report
    text = render_text(report)
    print(text)
    assert report.ok, text
    # The run really covered the spec: every operation, and the stateful phase through the links.
    assert len(report.operations) == len(list(spec_operations(keyed_document(dialect)))), text
    assert report.phases.get("stateful") == "success", text
    for gap in KNOWN_GAPS.get(dialect, ()):  # a known gap stays visible in every report
        assert f"not run: {gap.check} on {gap.operation_id} -- GAP:" in text


@pytest.mark.parametrize("dialect", DIALECTS)
def test_gateway_response_validation_agrees(dialect: str, result: DialectRun) -> None:
    """The gateway's own response validator (report mode) flagged nothing Schemathesis accepted."""
    assert result.traffic.drift_headers == []


@pytest.mark.parametrize("dialect", DIALECTS)
def test_auth_checks_really_probed_the_gateway(dialect: str, result: DialectRun) -> None:
    """ignored_auth and the missing-credential cases reached the gateway, which refused them with 401."""
    assert result.traffic.refused_without_credentials > 0, result.traffic
    assert result.traffic.refused_bad_credentials > 0, result.traffic
