"""The wheel's package list and the adapters' import name.

pyproject.toml lists packages by hand (setuptools needs that to map the top-level adapters/ folder to
wfgateway.adapters); a new package folder that is not listed would be missing from every install.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from wfgateway.config import config_from_dict, load_config
from wfgateway.shipped import shipped_file

REPO = Path(__file__).resolve().parents[2]


def _package_folders() -> set[str]:
    names = set()
    for root, prefix in ((REPO / "src" / "wfgateway", "wfgateway"), (REPO / "adapters", "wfgateway.adapters")):
        for init in root.rglob("__init__.py"):
            rel = init.parent.relative_to(root).parts
            names.add(".".join((prefix, *rel)))
    return names | {"wfgateway.defaults"}  # the data package: the repository's config.yaml and openapi/


def test_every_package_folder_is_listed_in_pyproject():
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    assert _package_folders() == listed


def test_old_adapter_names_in_config_still_load(tmp_path):
    cfg = config_from_dict({"dialects": {"conductor": {"adapter": "adapters.conductor",
                                                       "spec": "openapi/conductor.yaml"}}}, base_dir=tmp_path)
    assert cfg.dialects["conductor"]["adapter"] == "wfgateway.adapters.conductor"


def test_a_spec_missing_beside_the_config_falls_back_to_the_shipped_one(tmp_path):
    cfg = config_from_dict({"dialects": {"conductor": {"adapter": "wfgateway.adapters.conductor",
                                                       "spec": "openapi/conductor.yaml"},
                                         "cognite": {"adapter": "wfgateway.adapters.cognite",
                                                     "spec": "openapi/cognite-typo.yaml"}}}, base_dir=tmp_path)
    assert cfg.spec_path("conductor") == shipped_file("openapi/conductor.yaml")
    assert cfg.spec_path("conductor").read_text() == (REPO / "openapi" / "conductor.yaml").read_text()
    assert cfg.spec_path("cognite") == tmp_path / "openapi" / "cognite-typo.yaml"  # no silent substitute
    (tmp_path / "openapi").mkdir()
    (tmp_path / "openapi" / "conductor.yaml").write_text("openapi: 3.0.3\n")
    assert cfg.spec_path("conductor") == tmp_path / "openapi" / "conductor.yaml"  # the user's own wins


def test_no_config_argument_and_no_config_here_takes_the_shipped_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config(None)
    assert cfg.is_shipped_default and cfg.base_dir == tmp_path
    assert set(cfg.enabled_dialects()) == {"conductor", "cognite", "altostrat"}
    (tmp_path / "config.yaml").write_text("server: {port: 9999}\n")
    mine = load_config(None)
    assert mine.server["port"] == 9999 and not mine.is_shipped_default


def test_contract_finds_the_shipped_spec_from_a_folder_without_one(tmp_path, monkeypatch):
    from argparse import Namespace

    from wfgateway.contract.command import _spec_path

    monkeypatch.chdir(tmp_path)
    found = _spec_path(Namespace(spec=None, config="config.yaml", dialect="altostrat"))
    assert found == shipped_file("openapi/altostrat.yaml")
