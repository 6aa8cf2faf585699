"""`wfgateway serve --workers N` as a user starts it, and the worker processes under it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.support.server import REPO, free_port, gateway_config, wait_ready


@dataclass
class Served:
    url: str
    proc: subprocess.Popen
    log: Path

    def workers(self) -> list[int]:
        """Pids of the worker processes (uvicorn's spawned children) serving right now."""
        pids = []
        for pid in _children(self.proc.pid):
            with contextlib.suppress(OSError):
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    pids.append(pid)
        return pids

    def wait_workers(self, count: int, timeout: float = 60) -> list[int]:
        deadline = time.monotonic() + timeout
        while True:
            pids = self.workers()
            if len(pids) == count:
                return pids
            assert time.monotonic() < deadline, f"{len(pids)} workers, expected {count}"
            time.sleep(0.1)


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found += [int(p) for p in (task / "children").read_text().split()]
    return found


@contextlib.contextmanager
def serve_workers(tmp_path: Path, workers: int, env: dict[str, str] | None = None,
                  **overrides: Any) -> Iterator[Served]:
    data = gateway_config(tmp_path, **overrides)
    port = free_port()
    data["server"]["port"] = port
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump(data, sort_keys=False))
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wfgateway.cli", "serve", "--config", str(cfg), "--workers", str(workers)],
            cwd=REPO, env={**os.environ, **(env or {})}, stdout=out, stderr=subprocess.STDOUT,
        )
    served = Served(f"http://127.0.0.1:{port}", proc, log)
    try:
        wait_ready(served.url, proc, timeout=90)
        served.wait_workers(workers)
        yield served
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
