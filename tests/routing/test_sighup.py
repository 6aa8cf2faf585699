"""`wfgateway serve` reloads routes and backends on SIGHUP (a real process, a real signal)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import yaml

from tests.routing.support import MemoryBackend, relay_config, relay_gateway, upstream
from tests.support.server import REPO, free_port, wait_ready


def test_sighup_swaps_the_routes_of_a_running_gateway(tmp_path):
    a, b = MemoryBackend("a"), MemoryBackend("b")
    with relay_gateway(tmp_path / "a", engine=a, token="back") as (url_a, _), \
            relay_gateway(tmp_path / "b", engine=b, token="back") as (url_b, _):
        backends = {"engine": {"kind": "engine"}, "a": upstream(url_a), "b": upstream(url_b)}
        port = free_port()
        cfg = relay_config(tmp_path, token="front", backends=backends, routes=[{"match": {}, "backend": "a"}],
                           server={"port": port, "reload_interval_ms": 0})
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(cfg))
        proc = subprocess.Popen([sys.executable, "-m", "wfgateway.cli", "serve", "--config", str(path)], cwd=REPO,
                                env={**os.environ, "RELAY_UPSTREAM_TOKEN": "back"},
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        front = f"http://127.0.0.1:{port}"
        try:
            wait_ready(front, proc)
            with httpx.Client(base_url=front, headers={"Authorization": "Bearer front"}) as c:
                assert c.post("/relay/workflows/w/start", json={}).text in a.executions
                cfg["routes"] = [{"match": {}, "backend": "b"}]
                path.write_text(yaml.safe_dump(cfg))
                proc.send_signal(signal.SIGHUP)
                deadline = time.monotonic() + 10
                while True:
                    new = c.post("/relay/workflows/w/start", json={}).text
                    if new in b.executions:
                        break
                    assert time.monotonic() < deadline, "SIGHUP did not swap the routes"
                    time.sleep(0.05)
                assert proc.poll() is None  # still serving
        finally:
            proc.terminate()
            out = proc.communicate(timeout=10)[0].decode()
    assert "SIGHUP: reloading routes and backends" in out and "config reloaded" in out, out[-2000:]
