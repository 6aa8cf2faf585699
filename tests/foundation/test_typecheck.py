"""The type gate: mypy over src/wfgateway and adapters/ passes with pyproject.toml's [tool.mypy] settings.

mypy cannot follow setuptools' editable-install import hook, which maps adapters/ to wfgateway.adapters,
so the check runs on a tree of symbolic links that lays the two folders out as installed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def installed_layout(root: Path) -> Path:
    """``root/wfgateway`` holding links to every entry of src/wfgateway, and ``adapters`` as its subpackage."""
    package = root / "wfgateway"
    package.mkdir(parents=True)
    for entry in (REPO / "src" / "wfgateway").iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    (package / "adapters").symlink_to(REPO / "adapters")
    return root


def run_mypy(root: Path, cache: Path, package: str = "wfgateway") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(REPO / "pyproject.toml"), "--cache-dir", str(cache),
         "--no-error-summary", "--hide-error-context", "-p", package],
        cwd=root, capture_output=True, text=True, timeout=600,
    )


def test_mypy_passes_over_src_and_adapters(tmp_path: Path) -> None:
    root = installed_layout(tmp_path / "tree")
    result = run_mypy(root, tmp_path / "cache")
    assert result.returncode == 0, "mypy (make typecheck):\n" + result.stdout + result.stderr


def test_the_gate_sees_adapters_and_fails_on_a_type_error(tmp_path: Path) -> None:
    """Not vacuous: a wrong type in an adapter module is reported under its installed name."""
    root = installed_layout(tmp_path / "tree")
    (root / "wfgateway" / "adapters").unlink()
    fake = root / "wfgateway" / "adapters"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "broken.py").write_text("from wfgateway.core.model import Page\n\ncount: int = Page([], None, 0)\n")
    result = run_mypy(root, tmp_path / "cache", "wfgateway.adapters")  # and what it imports: core.model
    assert result.returncode == 1
    assert "wfgateway/adapters/broken.py:3" in result.stdout
