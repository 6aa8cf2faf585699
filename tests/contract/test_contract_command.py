"""`wfgateway contract` against the gateway running as users run it (`wfgateway serve`, own process).

One gateway process serves the three dialects with credentials configured; the command checks each
dialect over HTTP with a token (Conductor's from POST /api/token) and must pass, writing JUnit.  The
ci profile runs the examples, fuzzing and stateful phases with a few examples and ``deep`` with 25 (the
in-process suite runs every phase at depth; the coverage phase over HTTP alone takes longer than a deep
run of one dialect may); ``full`` runs every phase here too, at the command's own deep profile.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from tests.contract.gateways import SECRETS, keyed_document, secured_dialects, token_for
from tests.contract.profile import (
    DIALECTS,
    SPECS,
    active_profile,
    selected_dialects,
    skip_arguments,
    time_limit,
)
from tests.support.server import REPO, run_gateway_process
from wfgateway.contract.runner import spec_operations

pytestmark = [pytest.mark.slow, pytest.mark.timeout(time_limit())]


@dataclass
class CommandRun:
    process: subprocess.Popen
    junit: Path
    token: str


@pytest.fixture(scope="module")
def command_runs(tmp_path_factory: pytest.TempPathFactory,
                 request: pytest.FixtureRequest) -> Iterator[dict[str, CommandRun]]:
    """One gateway process; the command for each dialect starts at once (they run side by side)."""
    tmp = tmp_path_factory.mktemp("contract-cli")
    profile = active_profile()
    phases = "examples,coverage,fuzzing,stateful" if profile.name == "full" else "examples,fuzzing,stateful"
    max_examples = {"ci": ["--max-examples", "3"], "deep": ["--max-examples", "25"]}.get(profile.name, [])
    command_profile = "ci" if profile.name == "ci" else "deep"
    with run_gateway_process(tmp, env=SECRETS, dialects=secured_dialects()) as url:
        runs: dict[str, CommandRun] = {}
        for dialect in selected_dialects(request):
            token = token_for(dialect, _post(url))
            spec = _keyed_spec(dialect, tmp) if dialect == "conductor" else SPECS[dialect]
            junit = tmp / f"{dialect}.xml"
            process = subprocess.Popen(
                [sys.executable, "-m", "wfgateway.cli", "contract", "--dialect", dialect, "--url", url,
                 "--spec", str(spec), "--token-env", "WFG_CONTRACT_CLI_TOKEN", "--profile", command_profile,
                 "--phases", phases, *max_examples, *skip_arguments(dialect), "--junit", str(junit)],
                cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                env={**os.environ, "WFG_CONTRACT_CLI_TOKEN": token},
            )
            runs[dialect] = CommandRun(process, junit, token)
        try:
            yield runs
        finally:
            for run in runs.values():
                if run.process.poll() is None:
                    run.process.kill()
                run.process.communicate()


def _post(url: str):
    def post(path: str, body: dict) -> dict:
        response = httpx.post(f"{url}{path}", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    return post


def _keyed_spec(dialect: str, folder: Path) -> Path:
    """The spec as a keyed gateway serves it (see tests/contract/gateways.keyed_document)."""
    path = folder / f"{dialect}.yaml"
    path.write_text(yaml.safe_dump(keyed_document(dialect), sort_keys=False))
    return path


@pytest.mark.parametrize("dialect", DIALECTS)
def test_contract_command_passes_against_the_running_gateway(dialect: str, command_runs: dict[str, CommandRun]) -> None:
    run = command_runs[dialect]
    stdout, stderr = run.process.communicate(timeout=time_limit())
    assert run.process.returncode == 0, stdout[-20000:] + stderr[-5000:]
    assert "result: PASS" in stdout
    assert run.token not in stdout  # credentials are never printed
    suite = ET.parse(run.junit).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "0" and suite.get("errors") == "0"
    operations = {case.get("name") for case in suite.findall("testcase")} - {"Stateful tests"}
    assert len(operations) == len(list(spec_operations(keyed_document(dialect))))


def test_contract_command_rejects_bad_arguments(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "wfgateway.cli", "contract", "--dialect", "nosuch", "--url", "http://127.0.0.1:9",
         "--config", str(tmp_path / "missing.yaml")],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2
    assert "no spec for dialect 'nosuch'" in done.stderr


def _parse(*argv: str):
    import argparse

    from wfgateway.contract import command

    parser = argparse.ArgumentParser()
    command.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["contract", "--dialect", "conductor", "--url", "http://127.0.0.1:9",
                              "--config", str(REPO / "config.yaml"), *argv])


def test_contract_command_options_shape_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from wfgateway.contract.command import _contract_run

    monkeypatch.setenv("WFG_TEST_TOKEN", "t0k")
    run = _contract_run(_parse("--open", "--header", "X-Trace: 1", "--token-env", "WFG_TEST_TOKEN",
                               "--phases", "examples,stateful", "--max-examples", "7", "--seed", "3"))
    assert run.spec_path == REPO / "openapi" / "conductor.yaml"  # the spec config.yaml names
    assert run.token == "t0k" and run.headers == {"X-Trace": "1"}
    assert run.phases == ("examples", "stateful") and run.profile.max_examples == 7 and run.seed == 3
    assert set(run.excluded) == {"ignored_auth", "missing_required_header"}  # --open, with its reason
    assert all("--open" in reason for reason in run.excluded.values())

    run = _contract_run(_parse("--skip", "use_after_free@terminateWorkflow=terminates, stays readable",
                               "--skip", "ignored_auth=staging has no auth"))
    assert [(r.operation_id, r.check, r.reason) for r in run.extra_rules] == [
        ("terminateWorkflow", "use_after_free", "terminates, stays readable")]
    assert run.excluded == {"ignored_auth": "staging has no auth"}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--phases", "examples,bogus"), "--phases"),
        (("--header", "no-colon"), "--header"),
        (("--token-env", "WFG_TEST_UNSET_VARIABLE"), "WFG_TEST_UNSET_VARIABLE is not set"),
        (("--spec", "/nonexistent.yaml"), "no such file"),
        (("--skip", "use_after_free@terminateWorkflow"), "a reason"),  # no exclusion without a reason
        (("--skip", "no_such_check=why"), "a reason"),
    ],
)
def test_contract_command_refuses_bad_options(argv: tuple[str, ...], message: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from wfgateway.contract.command import run

    assert run(_parse(*argv)) == 2
    assert message in capsys.readouterr().err


def test_without_schemathesis_the_command_says_what_to_install() -> None:
    """After `make run` only the gateway's own dependencies are installed; the command says how to get
    the rest and exits 2 (the run could not start), never a traceback."""
    code = ("import sys; sys.modules['schemathesis'] = None; from wfgateway.cli import main; "
            "sys.exit(main(['contract', '--dialect', 'conductor', '--url', 'http://127.0.0.1:9']))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "pip install 'wfgateway[contract]'" in done.stderr and "Traceback" not in done.stderr
