"""The wheel's package list and the adapters' import name.

pyproject.toml lists packages by hand (setuptools needs that to map the top-level adapters/ folder to
wfgateway.adapters); a new package folder that is not listed would be missing from every install.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from wfgateway.config import config_from_dict

REPO = Path(__file__).resolve().parents[2]


def _package_folders() -> set[str]:
    names = set()
    for root, prefix in ((REPO / "src" / "wfgateway", "wfgateway"), (REPO / "adapters", "wfgateway.adapters")):
        for init in root.rglob("__init__.py"):
            rel = init.parent.relative_to(root).parts
            names.add(".".join((prefix, *rel)))
    return names


def test_every_package_folder_is_listed_in_pyproject():
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    assert _package_folders() == listed


def test_old_adapter_names_in_config_still_load(tmp_path):
    cfg = config_from_dict({"dialects": {"conductor": {"adapter": "adapters.conductor",
                                                       "spec": "openapi/conductor.yaml"}}}, base_dir=tmp_path)
    assert cfg.dialects["conductor"]["adapter"] == "wfgateway.adapters.conductor"
