"""Real servers for tests: the gateway under uvicorn on 127.0.0.1, in a thread or in its own process.

Both bind port 0 and report the port the OS chose, so tests run in parallel without clashes.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import yaml

from wfgateway.app import GatewayApp, create_app
from wfgateway.config import config_from_dict

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gateway_config(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """config.yaml of the repo with an SQLite store in ``tmp_path`` and ``overrides`` merged per top key.

    ``dialects`` overrides merge per dialect (so ``dialects={"conductor": {"auth": {...}}}`` keeps the
    adapter and spec of the repo's config)."""
    data = yaml.safe_load((REPO / "config.yaml").read_text())
    data["store"] = {"kind": "sqlite", "path": str(tmp_path / "gateway.db")}
    data["server"]["access_log"] = False
    for name, d in data.get("dialects", {}).items():
        d["spec"] = str(REPO / d.get("spec", f"openapi/{name}.yaml"))
    for key, value in overrides.items():
        if key == "dialects":
            for name, d in value.items():
                data["dialects"].setdefault(name, {}).update(d)
        elif isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


class ThreadServer:
    """uvicorn serving an ASGI app in a background thread of this process."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        self.config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                     access_log=False, lifespan="on")
        self.server = uvicorn.Server(self.config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@dataclass
class RunningGateway:
    url: str
    app: GatewayApp

    @property
    def engine(self) -> Any:
        return self.app.engine


@contextlib.contextmanager
def run_gateway(tmp_path: Path, **overrides: Any) -> Iterator[RunningGateway]:
    """The real gateway (repo config.yaml + overrides) on uvicorn in a thread; yields its URL and app."""
    data = gateway_config(tmp_path, **overrides)
    app = create_app(config_from_dict(data, base_dir=REPO))
    server = ThreadServer(app)
    server.start()
    try:
        yield RunningGateway(server.url, app)
    finally:
        server.stop()


@contextlib.contextmanager
def run_gateway_process(tmp_path: Path, env: dict[str, str] | None = None, **overrides: Any) -> Iterator[str]:
    """The gateway as a user runs it (``wfgateway serve``) in its own process; yields its URL."""
    data = gateway_config(tmp_path, **overrides)
    port = free_port()
    data["server"]["port"] = port
    cfg = tmp_path / f"config-{port}.yaml"
    cfg.write_text(yaml.safe_dump(data, sort_keys=False))
    # The gateway's output goes to a file, never to a pipe nobody reads: a full pipe would block its
    # logging (and, through the handler's lock, its event loop) once ~64 KiB of access log is written.
    log_path = tmp_path / f"gateway-{port}.log"
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wfgateway.cli", "serve", "--config", str(cfg)],
            cwd=REPO, env={**os.environ, **(env or {})}, stdout=log_file, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc, log_path)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_ready(url: str, proc: subprocess.Popen | None = None, log_path: Path | None = None,
               timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            if log_path is not None:
                out = log_path.read_text(errors="replace")
            else:
                out = proc.stdout.read().decode() if proc.stdout else ""
            raise RuntimeError(f"gateway exited with {proc.returncode}: {out[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError("gateway did not become ready")
