"""server.response_validation: off passes answers through, report flags drift, enforce replaces it.

The gateway checks answers with the same compiled validators it checks requests with
(wfgateway.contract.validators.ResponseValidator).  A test-only dialect answers ``getRun`` off-spec
(a status outside the enum) when told to drift.
"""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import orjson
import pytest

from tests.contract.runs_dialect import OFF_SPEC_STATUS
from tests.contract.runs_gateway import RUNS_TOKEN, serve_runs

AUTH = {"Authorization": f"Bearer {RUNS_TOKEN}"}
DRIFT_HEADER = "x-wfgateway-drift"


def _start_and_get(url: str) -> tuple[httpx.Response, httpx.Response]:
    with httpx.Client(base_url=url, headers=AUTH) as client:
        started = client.post("/runs", json={"name": "nightly"})
        assert started.status_code == 201, started.text
        return started, client.get(f"/runs/{started.json()['id']}")


def test_off_passes_drift_through_unchanged(tmp_path: Path) -> None:
    with serve_runs(tmp_path, drift=True, response_validation="off") as url:
        _, got = _start_and_get(url)
    assert got.status_code == 200
    assert got.json()["status"] == OFF_SPEC_STATUS
    assert DRIFT_HEADER not in got.headers


def test_report_passes_drift_through_and_flags_it(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="wfgateway")
    with serve_runs(tmp_path, drift=True, response_validation="report") as url:
        started, got = _start_and_get(url)
    assert got.status_code == 200
    assert got.json()["status"] == OFF_SPEC_STATUS  # the client still gets the answer
    assert "status" in got.headers[DRIFT_HEADER] and OFF_SPEC_STATUS in got.headers[DRIFT_HEADER]
    assert DRIFT_HEADER not in started.headers  # the on-spec answer is not flagged
    drift = [orjson.loads(r.getMessage()) for r in caplog.records if '"response_drift"' in r.getMessage()]
    assert [(d["event"], d["operation"]) for d in drift] == [("response_drift", "getRun")]  # one JSON log line


def test_enforce_replaces_drift_with_a_dialect_error(tmp_path: Path) -> None:
    with serve_runs(tmp_path, drift=True, response_validation="enforce") as url:
        started, got = _start_and_get(url)
    assert started.status_code == 201 and DRIFT_HEADER not in started.headers
    assert got.status_code == 502
    body = got.json()  # in the dialect's own error format
    assert set(body) == {"error"}
    assert "contract" in body["error"] and OFF_SPEC_STATUS in body["error"]


@pytest.mark.parametrize("mode", ["off", "report", "enforce"])
def test_on_spec_answers_are_untouched_in_every_mode(tmp_path: Path, mode: str) -> None:
    with serve_runs(tmp_path, drift=False, response_validation=mode) as url:
        started, got = _start_and_get(url)
        deleted = httpx.delete(f"{url}/runs/{started.json()['id']}", headers=AUTH)  # documented 204, no content
    assert got.status_code == 200
    assert got.json() == {"id": started.json()["id"], "status": "RUNNING", "attempts": 1}
    assert deleted.status_code == 204 and deleted.content == b""
    for response in (started, got, deleted):
        assert DRIFT_HEADER not in response.headers, response.headers[DRIFT_HEADER]
