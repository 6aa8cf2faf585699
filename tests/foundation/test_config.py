"""config.yaml checking: a bad config names the key and the line; `wfgateway check` does the same."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.server import REPO
from wfgateway.config import ConfigError, load_config, parse_config


def test_repo_config_is_valid_and_has_defaults():
    cfg = load_config(REPO / "config.yaml")
    assert cfg.store["kind"] == "sqlite"
    assert set(cfg.enabled_dialects()) >= {"conductor", "cognite", "altostrat"}
    assert cfg.server["host"] == "127.0.0.1"
    assert cfg.caches == {"sqlite_page_cache_mib": 8, "definitions": 512, "run_owners": 10000,
                          "answers_kib": 4096}
    assert parse_config("caches:\n  definitions: 64\n").caches["sqlite_page_cache_mib"] == 8  # defaults fill in


@pytest.mark.parametrize(
    ("text", "key", "line"),
    [
        ("server:\n  host: 127.0.0.1\n  port: eighty\n", "server.port", 3),
        ("server:\n  host: 127.0.0.1\n  prot: 1\n", "server.prot", 3),
        ("store:\n  kind: postgres\n", "store", 1),
        ("store:\n  kind: mongo\n", "store.kind", 2),
        ("backends:\n  engine: {kind: engine}\nroutes:\n  - backend: missing\n", "routes.0.backend", 4),
        ("tasks:\n  http:\n    allow:\n      - 10.0.0.0/99\n", "tasks.http.allow.0", 4),
        ("caches:\n  definitions: 0\n", "caches.definitions", 2),
        ("caches:\n  page_cache: 8\n", "caches.page_cache", 2),
    ],
)
def test_bad_config_names_key_and_line(text, key, line):
    with pytest.raises(ConfigError) as info:
        parse_config(text, path=Path("cfg.yaml"))
    assert info.value.key == key
    assert info.value.line == line
    assert f"cfg.yaml:{line}: {key}:" in str(info.value)


def test_invalid_yaml_names_the_line():
    with pytest.raises(ConfigError) as info:
        parse_config("server:\n  port: [1,\n", path=Path("cfg.yaml"))
    assert info.value.line is not None and "not valid YAML" in str(info.value)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wfgateway.cli", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=60)


def test_check_command_accepts_repo_config():
    r = _cli("check", "--config", "config.yaml")
    assert r.returncode == 0, r.stderr
    assert "ok" in r.stdout


def test_check_command_rejects_bad_config(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("server:\n  port: -5\n")
    r = _cli("check", "--config", str(bad))
    assert r.returncode == 2
    assert "bad.yaml:2: server.port:" in r.stderr
    assert "Traceback" not in r.stderr


def test_serve_refuses_open_dialects_on_a_public_address(tmp_path):
    cfg = tmp_path / "open.yaml"
    text = (REPO / "config.yaml").read_text().replace("host: 127.0.0.1", "host: 0.0.0.0")
    cfg.write_text(text.replace("spec: openapi/", f"spec: {REPO}/openapi/"))
    r = _cli("check", "--config", str(cfg))
    assert r.returncode == 2
    assert "refusing to serve them open on 0.0.0.0" in r.stderr


@pytest.mark.parametrize(("section", "key", "line", "variable"), [
    ("store:\n  kind: postgres\n  dsn_env: WFG_TEST_UNSET_DSN\n", "store.dsn_env", 3, "WFG_TEST_UNSET_DSN"),
    ("dialects:\n  conductor:\n    adapter: adapters.conductor\n    spec: {spec}\n    auth:\n"
     "      keys:\n        - {{key_id: ci, key_secret_env: WFG_TEST_UNSET_SECRET}}\n",
     "dialects.conductor.auth.keys.0.key_secret_env", 7, "WFG_TEST_UNSET_SECRET"),
])
def test_an_unset_environment_variable_names_file_line_and_key_once(tmp_path, section, key, line, variable):
    cfg = tmp_path / "env.yaml"
    cfg.write_text(section.format(spec=REPO / "openapi" / "conductor.yaml"))
    r = _cli("check", "--config", str(cfg))
    assert r.returncode == 2, r.stdout
    assert f"env.yaml:{line}: {key}: environment variable '{variable}'" in r.stderr
    assert r.stderr.count("dialects.") <= 1 and "Traceback" not in r.stderr
