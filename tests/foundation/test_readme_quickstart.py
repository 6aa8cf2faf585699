"""The README's quickstart blocks, run as a reader runs them: each saved as a script and started with
this Python against a gateway from the shipped config.yaml (its own process, a store in a temp dir).

A block that stops working fails here, so the README cannot promise what the gateway does not do."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import REPO, run_gateway_process

BLOCK = re.compile(r"<!-- quickstart:(\w+) -->\n```python\n(.*?)\n```", re.S)


def quickstart_blocks() -> dict[str, str]:
    return dict(BLOCK.findall((REPO / "README.md").read_text()))


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with run_gateway_process(tmp_path_factory.mktemp("quickstart")) as url:
        yield url


def test_the_readme_has_one_quickstart_per_dialect():
    assert sorted(quickstart_blocks()) == ["altostrat", "cognite", "conductor"]


@pytest.mark.parametrize(("dialect", "expected"), [
    # what each printed line starts with, as a reader sees it (the OSS decider's wording of a failed task)
    ("conductor", [r"FAILED Task \S+ failed with status: FAILED and reason: 'no name to greet'$",
                   re.escape("COMPLETED {'greeting': 'Hello, Ada!'}") + "$"]),
    ("cognite", ["failed", re.escape("completed ['failed', 'completed']")]),
    ("altostrat", ["failed Webhook request failed: 503", re.escape("completed [('greet', 'success')]")]),
])
def test_each_quickstart_runs_as_written(dialect: str, expected: list[str], gateway: str, tmp_path: Path):
    script = tmp_path / f"quickstart_{dialect}.py"
    script.write_text(quickstart_blocks()[dialect])
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "WFGATEWAY_URL": gateway})
    assert done.returncode == 0, done.stdout + done.stderr
    printed = [line for line in done.stdout.splitlines() if line.strip()]
    assert len(printed) == len(expected), done.stdout
    for line, start in zip(printed, expected, strict=True):
        assert re.match(start, line), done.stdout
