"""Issue bar for the validation proxy, one run, one spec (openapi/conductor.yaml), one upstream served
by granian so it is never the bottleneck:

* wfgateway proxy mode (check the request, forward, check the response) >= 90 % of the requests/s of
  a bare aiohttp pass-through proxy that checks nothing, under the same uvicorn settings;
* and >= 4x the requests/s of Stoplight Prism 5.14.2's validation proxy (``prism proxy --errors``),
  installed for the benchmark only into bench/node_modules (``npm install --prefix bench``, pinned
  in bench/package.json and package-lock.json; this script does it when it is missing).

    .venv/bin/python -m bench.proxy_vs_aiohttp [--seconds 5] [--rounds 3] [--no-prism]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench.load import REPO, Result, free_port, table, wrk

PRISM_VERSION = "5.14.2"
PRISM = REPO / "bench" / "node_modules" / ".bin" / "prism"
RERUN_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"reRunFromTaskId":"t1","taskInput":{"a":1}}'
"""


@contextlib.contextmanager
def process(cmd: list[str], ready_url: str, log: Path, timeout: float = 60) -> Iterator[subprocess.Popen]:
    """Run ``cmd`` until the block ends; wait until ``ready_url`` answers."""
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd[0]} exited: {log.read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(ready_url, timeout=1)
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{' '.join(cmd)} did not start")
            time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def ensure_prism() -> None:
    if PRISM.exists():
        return
    print(f"installing @stoplight/prism-cli@{PRISM_VERSION} into bench/node_modules ...", file=sys.stderr)
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(REPO / "bench")], check=True)


def check_functional(base: str, *, validates: bool) -> None:
    """Before timing anything: every target answers both requests correctly."""
    got = httpx.get(base + "/api/workflow/wf-1")
    assert got.status_code == 200 and got.json()["workflowId"] == "wf-1", (base, got.status_code, got.text[:300])
    rr = httpx.post(base + "/api/workflow/wf-1/rerun", json={"reRunFromTaskId": "t1", "taskInput": {"a": 1}})
    assert rr.status_code == 200 and rr.text == "wf-1", (base, rr.status_code, rr.text[:300])
    bad = httpx.post(base + "/api/workflow/wf-1/rerun", json={"taskInput": 5})
    if validates:
        assert bad.status_code in (400, 422), (base, bad.status_code)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (and its reaped children), from procfs."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def median_result(label: str, results: list[Result]) -> Result:
    """The round with the median requests/s (its latencies with it)."""
    ordered = sorted(results, key=lambda r: r.rps)
    mid = ordered[len(ordered) // 2]
    return Result(label, mid.rps, mid.p50_ms, mid.p99_ms, sum(r.non_2xx for r in results))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the median counts")
    parser.add_argument("--no-prism", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="wfgw-proxy-bench-"))
    lua = tmp / "rerun.lua"
    lua.write_text(RERUN_LUA)
    spec = tmp / "conductor.yaml"  # one frozen copy for every target (Prism also reloads on file changes)
    spec.write_bytes((REPO / "openapi/conductor.yaml").read_bytes())
    py = sys.executable
    up_port = free_port()
    upstream = f"http://127.0.0.1:{up_port}"
    targets: dict[str, str] = {}
    pids: dict[str, int] = {}
    with contextlib.ExitStack() as stack:
        stack.enter_context(process(
            [str(Path(py).parent / "granian"), "--interface", "asgi", "--host", "127.0.0.1", "--port", str(up_port),
             "--workers", "1", "--no-access-log", "--log-level", "warning", "bench.proxy_upstream:app"],
            upstream + "/healthz", tmp / "upstream.log"))
        for name in ("bare", "gateway"):
            port = free_port()
            pids[name] = stack.enter_context(process(
                [py, "-m", "bench.proxy_serve", name, "--port", str(port), "--upstream", upstream, "--tmp", str(tmp),
                 "--spec", str(spec)], f"http://127.0.0.1:{port}/healthz", tmp / f"{name}.log")).pid
            targets[name] = f"http://127.0.0.1:{port}"
        if not args.no_prism:
            ensure_prism()
            port = free_port()
            pids["prism"] = stack.enter_context(process([str(PRISM), "proxy", str(spec), upstream,
                                         "--errors", "--host", "127.0.0.1", "--port", str(port)],
                                        f"http://127.0.0.1:{port}/api/workflow/wf-1", tmp / "prism.log",
                                        timeout=120)).pid
            targets["prism"] = f"http://127.0.0.1:{port}"
        for name, base in targets.items():
            check_functional(base, validates=name != "bare")
        labels = {
            "bare": "bare aiohttp pass-through (checks nothing)",
            "gateway": "wfgateway proxy mode (request + response checked)",
            "prism": f"Prism {PRISM_VERSION} proxy --errors",
        }
        cases = []
        owner: dict[str, str] = {}
        for kind, path, script in (("GET", "/api/workflow/wf-1", None), ("POST", "/api/workflow/wf-1/rerun", lua)):
            for name, base in targets.items():
                cases.append((f"{kind} {labels[name]}", base + path, script))
                owner[f"{kind} {labels[name]}"] = name
        cpu_us: dict[str, list[float]] = {}
        for label, url, script in cases:  # warm-up
            wrk(label, url, 2, script=script)
        rounds: dict[str, list[Result]] = {}
        for _ in range(args.rounds):  # interleaved, so a busy moment of the machine hits every target
            for label, url, script in cases:
                before = cpu_seconds(pids[owner[label]])
                result = wrk(label, url, args.seconds, script=script)
                used = cpu_seconds(pids[owner[label]]) - before
                rounds.setdefault(label, []).append(result)
                cpu_us.setdefault(label, []).append(used / max(result.rps * args.seconds, 1) * 1e6)
        results = [median_result(label, rs) for label, rs in rounds.items()]
    print(f"\nupstream: granian (1 worker); spec: openapi/conductor.yaml; wrk -t1 -c64 -d{args.seconds}s; "
          f"median of {args.rounds} interleaved rounds\n")
    print(table(results))
    by = {r.label: r.rps for r in results}
    print()
    for kind in ("GET", "POST"):
        gw, bare = by[f"{kind} {labels['gateway']}"], by[f"{kind} {labels['bare']}"]
        line = f"{kind}: gateway/bare = {gw / bare:.2f} (bar >= 0.90)"
        if "prism" in targets:
            prism = by[kind + " " + labels["prism"]]
            line += f"; gateway/prism = {gw / prism:.1f}x (bar >= 4x)"
        print(line)
    print(f"non-2xx responses: {sum(r.non_2xx for r in results)}")
    print("\nCPU of the proxy process per request (median; does not depend on what else the machine runs):")
    for label, values in cpu_us.items():
        print(f"  {label}: {sorted(values)[len(values) // 2]:.0f} us")
    for kind in ("GET", "POST"):
        gw = sorted(cpu_us[f"{kind} {labels['gateway']}"])[args.rounds // 2]
        bare = sorted(cpu_us[f"{kind} {labels['bare']}"])[args.rounds // 2]
        line = f"{kind}: CPU bare/gateway = {bare / gw:.2f} (what gateway/bare req/s tends to on an idle machine)"
        if "prism" in targets:
            line += f"; prism/gateway = {sorted(cpu_us[kind + ' ' + labels['prism']])[args.rounds // 2] / gw:.1f}x"
        print(line)


if __name__ == "__main__":
    main()
