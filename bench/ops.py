"""Issue 14's figures in one run, every gateway started by `wfgateway serve` from the shipped
config.yaml (only the SQLite file and the port differ):

- hello-JSON Starlette (the baseline), the validation-reject path (POST /api/workflow with a body the
  spec refuses: 400) and the stored GET (GET /api/workflow/{id} of a stored Conductor run read through
  the engine on SQLite), each with 1 and with 2 worker processes;
- the access log's cost (shipped config: on; then access_log: false);
- tracing on (sampling 1.0 and 0.1, exported over OTLP/HTTP to a sink process) against off.

    .venv/bin/python -m bench.ops [--seconds 8] [--rounds 2] [--only stored]

``--only stored`` measures hello-JSON and the stored GET alone, with 1 and 2 workers (issue 14 item 5
and the workers' scaling): both servers run at once and are measured in alternating rounds, so a
change of the machine's load between rounds hits both; each ratio is the median of the rounds' ratios
(``--only stored --seconds 2 --rounds 3``: under a minute).

The load generator is wrk (-t1 -c64) on the same 2-core machine, so wall-clock req/s is shared with
wrk and with whatever else runs; every row also prints requests per CPU-second of the server's own
processes (utime+stime from /proc), the steadier figure on a busy machine.  Load average is printed
at the start and the end.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from bench.load import REPO, free_port, require_wrk

REJECT_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"version":"not-a-number"}'
"""
_TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Row:
    label: str
    rps: float
    cpu_rps: float  # requests per CPU-second of the server processes
    status: str


def cpu_seconds(pid: int) -> float:
    """utime+stime of ``pid`` and every descendant (uvicorn's workers)."""
    total = 0.0
    for p in [pid, *descendants(pid)]:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / _TICK
    return total


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                for child in (task / "children").read_text().split():
                    found += [int(child), *descendants(int(child))]
    return found


def run_wrk(url: str, seconds: int, pid: int, script: Path | None = None) -> tuple[float, float, str]:
    cmd = [require_wrk(), "-t1", "-c64", f"-d{seconds}s"]
    if script is not None:
        cmd += ["-s", str(script)]
    before = cpu_seconds(pid)
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    used = cpu_seconds(pid) - before
    total = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rps, total / used if used else float("nan"), f"{non.group(1)} non-2xx" if non else "2xx"


@contextlib.contextmanager
def gateway(tmp: Path, workers: int, **server_or_tracing: object) -> Iterator[tuple[str, int]]:
    data = yaml.safe_load((REPO / "config.yaml").read_text())
    port = free_port()
    data["server"]["port"] = port
    data["store"]["path"] = str(tmp / "bench.db")
    for key, value in server_or_tracing.items():
        if key == "tracing":
            data["tracing"] = value
        else:
            data["server"][key] = value
    for name, d in data["dialects"].items():
        d["spec"] = str(REPO / d.get("spec", f"openapi/{name}.yaml"))
    cfg = tmp / f"config-{port}.yaml"
    cfg.write_text(yaml.safe_dump(data, sort_keys=False))
    proc = subprocess.Popen([sys.executable, "-m", "wfgateway.cli", "serve", "--config", str(cfg),
                             "--workers", str(workers)], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        yield wait_up(f"http://127.0.0.1:{port}", proc), proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@contextlib.contextmanager
def hello(workers: int) -> Iterator[tuple[str, int]]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "bench.hello:app", "--port", str(port), "--workers",
                             str(workers), "--loop", "uvloop", "--http", "httptools", "--no-access-log",
                             "--log-level", "warning"], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield wait_up(f"http://127.0.0.1:{port}", proc), proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def wait_up(url: str, proc: subprocess.Popen) -> str:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited with {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                time.sleep(1.0)  # the other workers finish starting
                return url
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not start")


def stored_run(url: str) -> str:
    """A completed Conductor run with a few tasks, stored in the engine: the id the stored GET reads."""
    flow = {"name": "bench_stored", "version": 1, "timeoutSeconds": 0, "tasks": [
        {"name": f"v{i}", "taskReferenceName": f"v{i}", "type": "SET_VARIABLE", "inputParameters": {"step": i}}
        for i in range(3)]}
    assert httpx.post(f"{url}/api/metadata/workflow", json=flow).status_code == 200
    return httpx.post(f"{url}/api/workflow/bench_stored", json={"n": 1}).text.strip('"')


def measure(label: str, url: str, pid: int, args: argparse.Namespace, script: Path | None = None) -> Row:
    run_wrk(url, 2, pid, script)  # warm-up
    got = [run_wrk(url, args.seconds, pid, script) for _ in range(args.rounds)]
    return Row(label, statistics.mean(g[0] for g in got), statistics.mean(g[1] for g in got), got[-1][2])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", choices=["all", "stored"], default="all",
                        help="stored: hello-JSON and the stored GET with 1 and 2 workers, nothing else")
    args = parser.parse_args()
    lua = Path(tempfile.mkstemp(suffix=".lua")[1])
    lua.write_text(REJECT_LUA)
    print(f"load average at start: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} "
          f"on {os.cpu_count()} CPUs; wrk -t1 -c64 -d{args.seconds}s x{args.rounds}", flush=True)
    print("wrk and the servers share these CPUs with whatever else runs here, so wall-clock req/s is bound by "
          "that load; compare the CPU-time figures (requests per CPU-second of each server's own processes, "
          "utime+stime from /proc, same run)", flush=True)
    rows: dict[str, Row] = {}

    def add(row: Row) -> None:
        rows[row.label] = row
        print(f"  {row.label}: {row.rps:,.0f} req/s, {row.cpu_rps:,.0f} req/CPU-s ({row.status})", flush=True)

    if args.only == "stored":
        interleaved(args, add, rows)
        return
    for workers in (1, 2):
        with hello(workers) as (url, pid):
            add(measure(f"hello-JSON, {workers}w", url + "/api/workflow/x", pid, args))
        with tempfile.TemporaryDirectory() as tmp, gateway(Path(tmp), workers) as (url, pid):
            add(measure(f"validation reject, {workers}w", url + "/api/workflow", pid, args, lua))
            add(measure(f"stored GET, {workers}w", f"{url}/api/workflow/{stored_run(url)}", pid, args))
    _rest(args, lua, add)
    summary(rows)


def summary(r: dict[str, Row]) -> None:
    print("\n| target | req/s | req per CPU-second |\n|---|---:|---:|")
    for row in r.values():
        print(f"| {row.label} | {row.rps:,.0f} | {row.cpu_rps:,.0f} |")

    def both(a: str, b: str) -> str:
        return f"{r[a].rps / r[b].rps:.2f} (CPU-time {r[a].cpu_rps / r[b].cpu_rps:.2f})"

    print(f"\nratio stored GET / hello-JSON, 1w: {both('stored GET, 1w', 'hello-JSON, 1w')}")
    print(f"ratio stored GET / hello-JSON, 2w: {both('stored GET, 2w', 'hello-JSON, 2w')}")
    print(f"ratio stored GET 2 workers / 1 worker: {both('stored GET, 2w', 'stored GET, 1w')}")
    print(f"ratio hello-JSON 2 workers / 1 worker: {both('hello-JSON, 2w', 'hello-JSON, 1w')}")
    print(f"ratio validation reject / hello-JSON, 1w: {both('validation reject, 1w', 'hello-JSON, 1w')}")
    print(f"ratio access log on / off, validation reject: "
          f"{both('validation reject, 1w', 'validation reject, 1w, access_log off')}")
    print(f"ratio access log on / off, stored GET: {both('stored GET, 1w', 'stored GET, 1w, access_log off')}")
    print(f"ratio tracing on / off, validation reject: "
          f"{both('validation reject, 1w, tracing on', 'validation reject, 1w')}")
    print(f"ratio tracing on / off, stored GET: {both('stored GET, 1w, tracing on', 'stored GET, 1w')}")
    print(f"ratio tracing on (sampling 0.1) / off, validation reject: "
          f"{both('validation reject, 1w, tracing on, sampling 0.1', 'validation reject, 1w')}")
    print(f"load average at end: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


def interleaved(args: argparse.Namespace, add: Callable[[Row], None], rows_seen: dict[str, Row]) -> None:
    """hello-JSON and the stored GET up together, measured in alternating rounds; median ratios."""
    per_round: dict[int, list[tuple[tuple[float, float, str], tuple[float, float, str]]]] = {}
    for workers in (1, 2):
        with hello(workers) as (h_url, h_pid), tempfile.TemporaryDirectory() as tmp, \
                gateway(Path(tmp), workers) as (g_url, g_pid):
            target = f"{g_url}/api/workflow/{stored_run(g_url)}"
            run_wrk(h_url + "/api/workflow/x", 1, h_pid)  # warm-up
            run_wrk(target, 1, g_pid)
            rounds = per_round[workers] = []
            for n in range(args.rounds):
                h = run_wrk(h_url + "/api/workflow/x", args.seconds, h_pid)
                g = run_wrk(target, args.seconds, g_pid)
                rounds.append((h, g))
                print(f"  {workers}w round {n + 1}: hello-JSON {h[0]:,.0f} req/s {h[1]:,.0f} req/CPU-s; "
                      f"stored GET {g[0]:,.0f} req/s {g[1]:,.0f} req/CPU-s; ratio {g[0] / h[0]:.2f} "
                      f"(CPU-time {g[1] / h[1]:.2f}); load average {os.getloadavg()[0]:.2f}", flush=True)
            for label, i in ((f"hello-JSON, {workers}w", 0), (f"stored GET, {workers}w", 1)):
                add(Row(label, statistics.median(r[i][0] for r in rounds),
                        statistics.median(r[i][1] for r in rounds), rounds[-1][i][2]))
    print("\n| target | req/s (median) | req per CPU-second (median) |\n|---|---:|---:|")
    for w in (1, 2):
        for label in (f"hello-JSON, {w}w", f"stored GET, {w}w"):
            row = rows_seen[label]
            print(f"| {label} | {row.rps:,.0f} | {row.cpu_rps:,.0f} |")

    def median_ratio(workers: int, i: int) -> float:
        return statistics.median(g[i] / h[i] for h, g in per_round[workers])

    for w in (1, 2):
        print(f"ratio stored GET / hello-JSON, {w}w (median of {args.rounds} rounds): {median_ratio(w, 0):.2f} "
              f"(CPU-time {median_ratio(w, 1):.2f})")
    one, two = rows_seen["stored GET, 1w"], rows_seen["stored GET, 2w"]
    h1, h2 = rows_seen["hello-JSON, 1w"], rows_seen["hello-JSON, 2w"]
    print(f"ratio stored GET 2 workers / 1 worker: {two.rps / one.rps:.2f} (CPU-time {two.cpu_rps / one.cpu_rps:.2f})")
    print(f"ratio hello-JSON 2 workers / 1 worker: {h2.rps / h1.rps:.2f} (CPU-time {h2.cpu_rps / h1.cpu_rps:.2f})")
    print(f"load average at end: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


def _rest(args: argparse.Namespace, lua: Path, add: Callable[[Row], None]) -> None:
    """The access log's and tracing's cost."""
    with tempfile.TemporaryDirectory() as tmp, gateway(Path(tmp), 1, access_log=False) as (url, pid):
        add(measure("validation reject, 1w, access_log off", url + "/api/workflow", pid, args, lua))
        add(measure("stored GET, 1w, access_log off", f"{url}/api/workflow/{stored_run(url)}", pid, args))
    with hello(1) as (sink, _):  # any 200 answers the OTLP exporter
        traced = {"enabled": True, "endpoint": sink + "/v1/traces", "sampling": 1.0}
        with tempfile.TemporaryDirectory() as tmp, gateway(Path(tmp), 1, tracing=traced) as (url, pid):
            add(measure("validation reject, 1w, tracing on", url + "/api/workflow", pid, args, lua))
            add(measure("stored GET, 1w, tracing on", f"{url}/api/workflow/{stored_run(url)}", pid, args))
        sampled = {**traced, "sampling": 0.1}
        with tempfile.TemporaryDirectory() as tmp, gateway(Path(tmp), 1, tracing=sampled) as (url, pid):
            add(measure("validation reject, 1w, tracing on, sampling 0.1", url + "/api/workflow", pid, args, lua))


if __name__ == "__main__":
    main()
