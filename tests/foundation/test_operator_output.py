"""What an operator sees when running `wfgateway serve`: a banner on stdout naming what is live, and a
stderr stream in which every line -- access log, uvicorn, the gateway's own loggers -- is one JSON
object.  /metrics counts every answer by dialect, operation and status, rejections included."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import yaml

from tests.support.server import free_port, gateway_config, wait_ready


def test_banner_json_logs_and_request_counters(tmp_path: Path):
    data = gateway_config(tmp_path)
    port = free_port()
    data["server"].update(port=port, access_log=True)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump(data, sort_keys=False))
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "wfgateway.cli", "serve", "--config", str(cfg)],
                                cwd=tmp_path, env=os.environ.copy(), stdout=stdout, stderr=stderr)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(url, proc)
            with httpx.Client(base_url=url, timeout=10) as client:
                assert client.get("/api/workflow/no-such-id").status_code == 404
                assert client.post("/api/workflow", json={"version": "x"}).status_code == 400
                assert client.get("/api/v1/projects/p/workflows").status_code == 200
                assert client.get("/nowhere").status_code == 404
                metrics = client.get("/metrics").text
        finally:
            proc.terminate()
            proc.wait(timeout=15)

    banner = out.read_text()
    assert f"serving at http://127.0.0.1:{port}" in banner
    for dialect, path in (("conductor", "/api/"), ("cognite", "/api/v1/projects/"), ("altostrat", "/workflows")):
        line = next(x for x in banner.splitlines() if x.strip().startswith(dialect))
        assert path in line and "auth: open" in line and f"/openapi/{dialect}.yaml" in line
    assert f"sqlite {tmp_path / 'gateway.db'}" in banner
    assert f"{url}/metrics" in banner and f"{url}/readyz" in banner
    assert f"console    {url}/console/" in banner  # where a new user goes next

    lines = [x for x in err.read_text().splitlines() if x.strip()]
    records = [json.loads(x) for x in lines]  # every line parses, or this raises with the line
    assert all(isinstance(r, dict) for r in records)
    access = [r for r in records if "request_id" in r]
    assert {(r.get("operation"), r["status"]) for r in access} >= {
        ("getWorkflow", 404), ("startWorkflow", 400), ("listWorkflows", 200)}
    assert any(r.get("logger", "").startswith("uvicorn") for r in records)  # library lines are JSON too

    assert 'wfgateway_requests_total{dialect="conductor",operation="startWorkflow",status="400"} 1.0' in metrics
    assert 'wfgateway_requests_total{dialect="cognite",operation="listWorkflows",status="200"} 1.0' in metrics
    assert 'wfgateway_requests_total{dialect="-",operation="-",status="404"}' in metrics
    assert "no-such-id" not in metrics
