"""A store that cannot be opened stops `wfgateway serve` with one line naming the file, the cause and
the fix, and the exit status of a config error (2) -- never a traceback (issue #25)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.server import REPO, free_port, gateway_config


def serve(tmp_path: Path, store: dict[str, object]) -> subprocess.CompletedProcess[str]:
    data = gateway_config(tmp_path, store=store)
    data["server"]["port"] = free_port()
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump(data, sort_keys=False))
    return subprocess.run([sys.executable, "-m", "wfgateway.cli", "serve", "--config", str(cfg)], cwd=REPO,
                          capture_output=True, text=True, timeout=60, env={**os.environ})


def not_a_database(tmp_path: Path) -> Path:
    path = tmp_path / "gw.db"
    path.write_bytes(b"this is a spreadsheet, not a database" * 200)
    return path


def folder_is_a_file(tmp_path: Path) -> Path:
    (tmp_path / "data").write_text("a file where the store's folder should be")
    return tmp_path / "data" / "gw.db"


@pytest.mark.parametrize(("make", "cause"), [
    (not_a_database, "not an SQLite database"),
    (folder_is_a_file, "not a folder"),
])
def test_a_store_that_cannot_be_opened_is_one_line_and_exit_2(tmp_path: Path, make, cause: str):
    path = make(tmp_path)
    result = serve(tmp_path, {"kind": "sqlite", "path": str(path)})
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert str(path) in lines[0] and cause in lines[0] and "fix:" in lines[0], lines[0]

