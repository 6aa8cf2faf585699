"""`wfgateway routes` and the Prometheus metrics per route and backend."""

from __future__ import annotations

import subprocess
import sys

import httpx
import yaml

from tests.routing.support import MemoryBackend, relay_config, relay_gateway, upstream
from tests.support.server import REPO


def test_routes_command_prints_the_table_without_secrets(tmp_path, monkeypatch):
    cfg = relay_config(
        tmp_path,
        backends={"engine": {"kind": "engine"},
                  "prod": {"kind": "upstream", "dialect": "relay", "url": "https://relay.example.com",
                           "credentials": {"token_env": "PROD_TOKEN"}, "retries": 1,
                           "circuit": {"failures": 4, "reset_ms": 5000}}},
        routes=[{"name": "billing", "match": {"dialect": "relay", "workflow": "billing_*",
                                              "header": {"X-Canary": "yes"}},
                 "backend": "prod", "weights": {"prod": 90, "engine": 10}, "sticky": "workflow", "timeout_ms": 5000},
                {"match": {}, "backend": "engine"}])
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = subprocess.run([sys.executable, "-m", "wfgateway.cli", "routes", "--config", str(path)], cwd=REPO,
                         capture_output=True, text=True, env={"PROD_TOKEN": "s3cret-value", "PATH": ""})
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    billing = next(line for line in lines if line.startswith("1 "))
    for part in ("billing", "dialect=relay, workflow=billing_*, header X-Canary=yes", "engine 10%, prod 90%",
                 "workflow", "5000 ms"):
        assert part in billing
    assert next(line for line in lines if line.startswith("2 ")).split()[1:4] == ["route1", "(everything)", "engine"]
    prod = next(line for line in lines if line.startswith("prod "))
    assert "https://relay.example.com" in prod and "token_env=PROD_TOKEN" in prod and "4 fails, 5000 ms" in prod
    assert "s3cret-value" not in out.stdout


def test_routes_command_reports_a_bad_config_with_its_line(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("routes:\n  - match: {}\n    backend: nowhere\n")
    out = subprocess.run([sys.executable, "-m", "wfgateway.cli", "routes", "--config", str(path)], cwd=REPO,
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert "config.yaml:3: routes.0.backend: unknown backend 'nowhere'" in out.stderr


def test_metrics_count_requests_errors_and_latency_per_route_and_backend(tmp_path, monkeypatch):
    monkeypatch.setenv("RELAY_UPSTREAM_TOKEN", "x")
    with relay_gateway(tmp_path, engine=MemoryBackend("local"), token="t",
                       backends={"engine": {"kind": "engine"},
                                 "down": upstream("http://127.0.0.1:9", retries=0)},
                       routes=[{"name": "gets", "match": {"operation": "getExecution"}, "backend": "down"},
                               {"name": "rest", "match": {}, "backend": "engine"}]) as (url, _), \
            httpx.Client(base_url=url, headers={"Authorization": "Bearer t"}) as c:
        new_id = c.post("/relay/workflows/w/start", json={}).text
        assert c.post(f"/relay/executions/{new_id}/rerun").status_code == 200
        assert c.get(f"/relay/executions/{new_id}").status_code == 200  # the registry's owner beats the route
        assert c.get("/relay/executions/never-seen").status_code == 503  # the route: an upstream that is down
        text = c.get("/metrics").text
    assert 'wfgateway_route_requests_total{backend="engine",route="rest"} 2.0' in text
    assert 'wfgateway_route_requests_total{backend="engine",route="gets"} 1.0' in text
    assert 'wfgateway_route_requests_total{backend="down",route="gets"} 1.0' in text
    assert 'wfgateway_route_errors_total{backend="down",kind="unavailable",route="gets"} 1.0' in text
    assert 'wfgateway_route_latency_seconds_count{backend="engine",route="rest"} 2.0' in text
    assert 'wfgateway_backend_circuit_state{backend="down"} 0.0' in text
