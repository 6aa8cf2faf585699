"""The wheel installs and serves anywhere: built from this checkout, installed with its dependencies into a
fresh virtual environment (from the same package index `make install` uses), then `wfgateway serve` run
from an empty folder with no config answers all three dialects from the shipped config and specs, and puts
its SQLite store in that folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.server import free_port, wait_ready

pytestmark = pytest.mark.slow  # started first: see tests/conftest.py

REPO = Path(__file__).resolve().parents[2]


def _run(*cmd: str | Path, cwd: Path | None = None) -> None:
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


@pytest.mark.timeout(900)
def test_wheel_in_a_fresh_venv_serves_all_three_dialects_without_a_config(tmp_path: Path):
    wheels, venv, here = tmp_path / "wheels", tmp_path / "venv", tmp_path / "elsewhere"
    here.mkdir()
    # built from a clean copy: an in-tree build would reuse whatever a former build left in build/
    source = tmp_path / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "*.db*", ".hypothesis", ".pytest_cache"))
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", wheels, source)
    (wheel,) = wheels.glob("wfgateway-*.whl")
    _run(sys.executable, "-m", "venv", venv)
    # pip's own cache is reused; --no-compile skips byte-compiling thousands of dependency files
    _run(venv / "bin" / "python", "-m", "pip", "install", "-q", "--no-compile", wheel)

    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    out = tmp_path / "stdout"
    with out.open("wb") as stdout:
        proc = subprocess.Popen([venv / "bin" / "wfgateway", "serve", "--port", str(port)], cwd=here, env=env,
                                stdout=stdout, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            try:
                wait_ready(url, proc, timeout=120)
            except RuntimeError as exc:
                raise AssertionError(f"{exc}\n{out.read_text()[-3000:]}") from exc
            with httpx.Client(base_url=url, timeout=30) as client:
                definition = {"name": "wheel_flow", "version": 1, "schemaVersion": 2, "timeoutSeconds": 0,
                              "tasks": [{"name": "a", "taskReferenceName": "a_ref", "type": "SIMPLE"}]}
                assert client.post("/api/metadata/workflow", json=definition).status_code == 200
                started = client.post("/api/workflow", json={"name": "wheel_flow", "version": 1, "input": {}})
                assert started.status_code == 200, started.text
                run = client.get(f"/api/workflow/{started.text}").json()
                assert run["workflowName"] == "wheel_flow" and run["status"] == "RUNNING"

                listed = client.get("/api/v1/projects/default/workflows")
                assert listed.status_code == 200, listed.text
                assert listed.json()["items"] == []

                workflows = client.get("/workflows")
                assert workflows.status_code == 200, workflows.text
                assert isinstance(workflows.json(), list | dict)

                for dialect in ("conductor", "cognite", "altostrat"):  # the shipped specs, served as documents
                    assert client.get(f"/openapi/{dialect}.yaml").status_code == 200
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    banner = out.read_text()
    assert "the shipped default" in banner and f"sqlite {here / 'wfgateway.db'}" in banner, banner
    assert (here / "wfgateway.db").is_file()
    site = next((venv / "lib").glob("python*/site-packages"))
    assert not (site / "adapters").exists()  # nothing claims the top-level name `adapters`
