"""Drive targets with wrk (the same load generator for every target in one run) and parse its report."""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass
class Result:
    label: str
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_wrk() -> str:
    wrk = shutil.which("wrk")
    if not wrk:
        sys.exit("bench needs wrk (Debian package 'wrk'): apt-get install -y wrk")
    return wrk


@contextlib.contextmanager
def serve(target: str, port: int, ready_path: str = "/healthz") -> Iterator[str]:
    """Start ``bench.serve TARGET`` on ``port`` in its own process; yields its URL."""
    tmp = tempfile.mkdtemp(prefix="wfgw-bench-")
    proc = subprocess.Popen([sys.executable, "-m", "bench.serve", target, "--port", str(port), "--tmp", tmp],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{target} exited: {proc.stderr.read().decode()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(url + ready_path, timeout=1)
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{target} did not start")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def wrk(label: str, url: str, seconds: int, connections: int = 64, script: Path | None = None,
        headers: dict[str, str] | None = None) -> Result:
    cmd = [require_wrk(), "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for k, v in (headers or {}).items():
        cmd += ["-H", f"{k}: {v}"]
    if script is not None:
        cmd += ["-s", str(script)]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return Result(label, rps, _latency(out, "50%"), _latency(out, "99%"), int(non2xx.group(1)) if non2xx else 0)


def _latency(report: str, pct: str) -> float:
    m = re.search(rf"^\s*{re.escape(pct)}\s+([\d.]+)(us|ms|s)\s*$", report, re.M)
    return float(m.group(1)) * _UNITS[m.group(2)] if m else float("nan")


def table(results: list[Result]) -> str:
    lines = ["| target | req/s | p50 ms | p99 ms | non-2xx |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {r.label} | {r.rps:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.non_2xx} |" for r in results]
    return "\n".join(lines)
