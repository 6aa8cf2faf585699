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
from tests.support.server import REPO, free_port, gateway_config, wait_ready


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


def test_a_reload_of_a_gateway_served_on_another_port_warns_of_no_restart(tmp_path):
    """`make run PORT=8081` is `serve --port 8081`: the port the file does not say is the command line's, not
    a change of the file's `server` section waiting for a restart."""
    port = free_port()
    cfg = gateway_config(tmp_path, server={"reload_interval_ms": 0, "access_log": False})
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = subprocess.Popen([sys.executable, "-m", "wfgateway.cli", "serve", "--config", str(path),
                             "--host", "127.0.0.1", "--port", str(port)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc)
        cfg["routes"] = [{"name": "everything", "match": {}, "backend": "engine"}]  # only the routes change
        path.write_text(yaml.safe_dump(cfg))
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while _applied_reloads(port) < 1:
            assert time.monotonic() < deadline, "the reload was not applied"
            time.sleep(0.05)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200  # still on the command line's port
    finally:
        proc.terminate()
        out = proc.communicate(timeout=10)[0].decode()
    assert "config reloaded" in out, out[-2000:]
    assert "take effect only after a restart" not in out, out[-2000:]


def _applied_reloads(port: int) -> float:
    """How many reloads the gateway's /metrics counts as applied."""
    for line in httpx.get(f"http://127.0.0.1:{port}/metrics").text.splitlines():
        if line.startswith('wfgateway_config_reloads_total{result="applied"}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0
