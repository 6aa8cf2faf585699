"""`make run` as the README gives it: `PORT=` serves on another port, and a port already taken stops the
start with one line saying so and how to pick another -- before any banner claims to be serving."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import yaml

from tests.support.server import REPO, free_port, gateway_config


def test_make_run_passes_port_and_host_to_serve():
    dry = subprocess.run(["make", "-n", "run", "PORT=8123", "HOST=127.0.0.2"], cwd=REPO, capture_output=True,
                         text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    serve = next(line for line in dry.stdout.splitlines() if "wfgateway serve" in line)
    assert serve.endswith("--config config.yaml --host 127.0.0.2 --port 8123"), serve
    plain = subprocess.run(["make", "-n", "run"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert next(line for line in plain.stdout.splitlines() if "wfgateway serve" in line).endswith("--config config.yaml")


def test_a_port_in_use_is_one_line_naming_it_and_the_way_out(tmp_path: Path):
    port = free_port()
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump(gateway_config(tmp_path), sort_keys=False))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        done = subprocess.run([sys.executable, "-m", "wfgateway.cli", "serve", "--config", str(cfg), "--port", str(port)],
                              cwd=tmp_path, env=os.environ.copy(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "serving at" not in done.stdout
    assert done.stderr.strip().splitlines()[-1] == (
        f"wfgateway: 127.0.0.1:{port} is already in use: another process (an earlier `make run`?) serves it; "
        f"stop that one or choose a free port: `make run PORT={port + 1}` or `wfgateway serve --port {port + 1}`")
