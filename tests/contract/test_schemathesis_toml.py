"""The shipped schemathesis.toml: generated from the specs' x-contract notes, and what lets a plain
`schemathesis run http://gw/openapi/<dialect>.yaml --checks all` pass against the gateway `make run`
starts (the shipped config.yaml in its own process, open mode)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support.server import REPO, run_gateway_process

pytestmark = pytest.mark.slow  # started first: see tests/conftest.py

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def test_the_shipped_file_is_what_print_config_prints():
    done = subprocess.run([sys.executable, "-m", "wfgateway.cli", "contract", "--print-config"], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (REPO / "schemathesis.toml").read_text(), \
        "schemathesis.toml is stale: run `wfgateway contract --print-config > schemathesis.toml`"


def test_every_spec_has_its_project_with_every_note():
    projects = {p["title"]: p for p in tomllib.loads((REPO / "schemathesis.toml").read_text())["project"]}
    for dialect in ("conductor", "cognite", "altostrat"):
        document = yaml.safe_load((REPO / "openapi" / f"{dialect}.yaml").read_text())
        operations = {o["include-operation-id"]: o for o in projects[document["info"]["title"]]["operations"]}
        for item in document["paths"].values():
            for op in item.values():
                notes = op.get("x-contract") if isinstance(op, dict) else None
                for check in (notes or {}).get("skip") or {}:
                    assert operations[op["operationId"]]["checks"][check]["enabled"] is False
                    if check == "negative_data_rejection":  # `--checks all` turns the check back on
                        assert operations[op["operationId"]]["generation"]["mode"] == "positive"
                for check, accept in ((notes or {}).get("accept") or {}).items():
                    statuses = operations[op["operationId"]]["checks"][check]["expected-statuses"]
                    assert statuses == [str(s) for s in accept["statuses"]]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with run_gateway_process(tmp_path_factory.mktemp("plain-schemathesis")) as url:
        yield url


@pytest.mark.parametrize("dialect", ["conductor", "cognite", "altostrat"])
def test_plain_schemathesis_run_passes(gateway: str, dialect: str):
    """As a QA engineer types it in the repository (Schemathesis finds ./schemathesis.toml).  To keep the
    suite's time the coverage phase (10-20+ minutes per spec on this machine, uncapped) is left to
    tests/contract/test_schemathesis.py's in-process runs, --max-examples is lowered and the seed fixed
    (a repeatable run)."""
    done = subprocess.run([str(SCHEMATHESIS), "run", f"{gateway}/openapi/{dialect}.yaml", "--checks", "all",
                           "--phases", "examples,fuzzing,stateful", "--max-examples", "2", "--seed", "20240611",
                           "--no-color"],
                          cwd=REPO, capture_output=True, text=True, timeout=1500)
    assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-2000:]


def test_a_skipped_use_after_free_also_covers_the_reads_under_the_deleted_url():
    """Schemathesis judges use_after_free on any read whose URL starts with the deleted one
    (GET /api/workflow/{id}/status after DELETE /api/workflow/{id}), not on other paths."""
    from wfgateway.contract.runner import operation_rules

    document = {"paths": {
        "/w/{id}": {"delete": {"operationId": "end", "x-contract": {"skip": {"use_after_free": "stays readable"}}},
                    "get": {"operationId": "read"}},
        "/w/{id}/status": {"get": {"operationId": "status"}},
        "/w/{id}/note": {"post": {"operationId": "note"}},
        "/wx/{id}": {"get": {"operationId": "other"}},
    }}
    skipped = {r.operation_id for r in operation_rules(document) if r.check == "use_after_free"}
    assert skipped == {"end", "read", "status"}
