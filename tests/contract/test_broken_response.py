"""A deliberately broken response is caught by the contract run in process and by `wfgateway contract`.

The test-only ``runs`` dialect answers ``GET /runs/{runId}`` with a status outside the spec's enum
when it drifts; the same dialect on-spec must pass, so a failure is the drift and nothing else.
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from schemathesis.python import asgi

from tests.contract.runs_dialect import OFF_SPEC_STATUS
from tests.contract.runs_gateway import RUNS_SPEC, RUNS_TOKEN, runs_app, serve_runs
from tests.support.server import REPO
from wfgateway.contract.report import render_text
from wfgateway.contract.runner import ContractRun, run_contract

GET_RUN = "GET /runs/{runId}"


def _run_in_process(tmp_path: Path, drift: bool):
    app = runs_app(tmp_path, drift=drift)
    try:
        return run_contract(ContractRun("runs", RUNS_SPEC, app=app, token=RUNS_TOKEN))
    finally:
        asgi.shutdown_lifespans()


def test_in_process_run_passes_on_spec_and_catches_the_drift(tmp_path: Path) -> None:
    clean = _run_in_process(tmp_path / "clean", drift=False)
    assert clean.ok, render_text(clean)
    assert clean.operations == {"POST /runs", GET_RUN, "DELETE /runs/{runId}"}

    broken = _run_in_process(tmp_path / "broken", drift=True)
    text = render_text(broken)
    assert not broken.ok
    assert {(f.operation, f.check) for f in broken.findings} == {(GET_RUN, "response_schema_conformance")}, text
    finding = broken.findings[0]
    assert OFF_SPEC_STATUS in finding.message and OFF_SPEC_STATUS in finding.response
    assert any(c.startswith("curl -X GET") and "/runs/run-" in c for c in finding.curls), finding.curls


def _contract_cli(url: str, junit: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wfgateway.cli", "contract", "--dialect", "runs", "--spec", str(RUNS_SPEC),
         "--url", url, "--token", RUNS_TOKEN, "--junit", str(junit)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )


def _junit_failures(path: Path) -> dict[str, list[str]]:
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    return {case.get("name", ""): [f.get("type", "") for f in case.findall("failure")]
            for case in suite.findall("testcase")}


def test_wfgateway_contract_passes_on_spec_and_fails_on_the_drift(tmp_path: Path) -> None:
    with serve_runs(tmp_path / "clean", drift=False) as url:
        clean = _contract_cli(url, tmp_path / "clean.xml")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "result: PASS" in clean.stdout
    assert _junit_failures(tmp_path / "clean.xml") == {"GET /runs/{runId}": [], "POST /runs": [],
                                                       "DELETE /runs/{runId}": [], "Stateful tests": []}

    with serve_runs(tmp_path / "broken", drift=True) as url:
        broken = _contract_cli(url, tmp_path / "broken.xml")
    out = broken.stdout
    assert broken.returncode == 1, out + broken.stderr
    assert "result: FAIL" in out
    section = out[out.index(GET_RUN):]  # failures are grouped under the operation
    assert "[response_schema_conformance]" in section and OFF_SPEC_STATUS in section
    assert f"curl -X GET -H 'Authorization: [Filtered]' {url}/runs/run-" in section
    failures = _junit_failures(tmp_path / "broken.xml")
    assert failures[GET_RUN] == ["response_schema_conformance"]
    assert failures["POST /runs"] == [] and failures["DELETE /runs/{runId}"] == []
