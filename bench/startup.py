"""Start-up: CPU time of ``create_app`` (the shipped config.yaml: three specs read and checked, every
operation's validators built) and wall time until ``wfgateway serve`` answers ``/readyz`` 200, each
beside a baseline measured in the same run -- importing the gateway's modules (what every start pays
before create_app), and uvicorn serving the hello-JSON Starlette app (bench/hello.py) until it answers.

    .venv/bin/python -m bench.startup [--rounds 5]

Each round starts fresh processes (nothing cached between rounds); medians are printed.  To compare
with another checkout, run this file from there (each checkout's own .venv).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml

from bench.engine_common import table
from tests.support.server import free_port, gateway_config

REPO = Path(__file__).resolve().parents[1]

# runs in a fresh interpreter: CPU seconds of the imports and of create_app, as JSON
_CREATE_APP = """
import json, sys, time
t0 = time.process_time()
from wfgateway.app import create_app
from wfgateway.config import load_config
t1 = time.process_time()
create_app(load_config(sys.argv[1]))
t2 = time.process_time()
print(json.dumps({"imports": t1 - t0, "create_app": t2 - t1}))
"""


def shipped_config(folder: Path, port: int) -> Path:
    data = gateway_config(folder)
    data["server"]["port"] = port
    path = folder / f"config-{port}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def create_app_cpu(config: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", _CREATE_APP, str(config)], cwd=REPO, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def time_to_ready(command: list[str], url: str, log: Path) -> float:
    """Seconds from spawning ``command`` until ``url`` answers 200."""
    started = time.monotonic()
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    try:
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"{command[2:]} exited with {proc.returncode}: {log.read_text()[-2000:]}")
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.01)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    figures: dict[str, list[float]] = {"imports": [], "create_app": [], "serve": [], "hello": []}
    with tempfile.TemporaryDirectory(prefix="wfgw-startup-") as d:
        folder = Path(d)
        for n in range(args.rounds):
            (folder / f"cpu{n}").mkdir()
            cpu = create_app_cpu(shipped_config(folder / f"cpu{n}", free_port()))
            figures["imports"].append(cpu["imports"])
            figures["create_app"].append(cpu["create_app"])
            port = free_port()
            (folder / f"serve{n}").mkdir()
            config = shipped_config(folder / f"serve{n}", port)
            figures["serve"].append(time_to_ready(
                [sys.executable, "-m", "wfgateway.cli", "serve", "--config", str(config)],
                f"http://127.0.0.1:{port}/readyz", folder / f"serve{n}.log"))
            port = free_port()
            figures["hello"].append(time_to_ready(
                [sys.executable, "-m", "uvicorn", "bench.hello:app", "--port", str(port), "--log-level", "warning"],
                f"http://127.0.0.1:{port}/", folder / f"hello{n}.log"))
    med = {k: statistics.median(v) for k, v in figures.items()}
    rows = [
        ["create_app, shipped config.yaml (CPU s)", f"{med['create_app']:.3f}",
         f"importing the gateway's modules: {med['imports']:.3f}", f"{med['create_app'] / med['imports']:.2f}x"],
        ["`wfgateway serve` until /readyz answers 200 (wall s)", f"{med['serve']:.3f}",
         f"uvicorn serving bench/hello.py until it answers: {med['hello']:.3f}", f"{med['serve'] / med['hello']:.2f}x"],
    ]
    print(f"median of {args.rounds} rounds, fresh processes each; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs\n")
    print(table(["what", "figure", "baseline (same run)", "ratio"], rows))


if __name__ == "__main__":
    main()
