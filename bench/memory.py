"""Resident memory of the gateway, as a user starts it: at start, after a warm-up, after a soak.

    .venv/bin/python -m bench.memory [--warmup 60] [--soak 300] [--workers 1] [--processes 1] [--sample 30]
    make memory-soak      # the hour-long run (--soak 3600)

Each gateway is ``wfgateway serve`` from the shipped config.yaml (a temp SQLite store, its own port),
driven by bench/mixed_load.py (all three dialects).  ``--workers N`` serves it with N uvicorn worker
processes on one port (server.workers); ``--processes N`` starts N separate gateways.  The table shows
every process (a multi-worker gateway: its supervisor and each worker) and their sum.  Figures are
VmRSS from /proc (Linux).  ``--traced`` runs the gateways with tracemalloc (slower, more memory; one
worker) and prints the allocations that grew most during the soak.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import yaml

from bench.mixed_load import LoadReport, MixedLoad

REPO = Path(__file__).resolve().parents[1]
START_BAR_MIB = 100  # issue #26: one process at start, shipped config.yaml
SOAK_BAR_MIB = 150  # ... and after 30 minutes of mixed load


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def shipped_config(directory: Path, port: int, overrides: dict[str, Any] | None = None) -> Path:
    """The shipped config.yaml with its store in ``directory``, on ``port``, specs read from the repo
    and ``overrides`` merged in (``{"store": {"cache_mib": 2}}``)."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["server"]["port"] = port
    config["store"]["path"] = str(directory / "wfgateway.db")
    for dialect in config["dialects"].values():
        dialect["spec"] = str(REPO / dialect["spec"])
    _merge(config, overrides or {})
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)


def rss_mib(pid: int) -> float:
    """Resident set size of a process, MiB (VmRSS from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


class Gateway:
    """One ``wfgateway serve`` process; ``traced`` runs it under bench/traced_serve.py."""

    def __init__(self, directory: Path, *, overrides: dict[str, Any] | None = None, traced: bool = False) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = shipped_config(directory, self.port, overrides)
        self.traced = traced
        self._snapshots = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 180) -> None:
        serve = ["serve", "--config", str(self.config)]
        cmd = ([sys.executable, "-m", "bench.traced_serve", str(self.directory / "heap"), *serve] if self.traced
               else [sys.executable, "-m", "wfgateway.cli", *serve])
        log = (self.directory / "gateway.log").open("wb")  # the access log goes here, never to a full pipe
        self.proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited: {self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"gateway did not start: {self.log_tail()}")
            time.sleep(0.1)

    def log_tail(self) -> str:
        return (self.directory / "gateway.log").read_text(errors="replace")[-3000:]

    def rss(self) -> float:
        return rss_mib(self.pid)

    def pids(self) -> list[int]:
        """The serving process and every process under it (uvicorn's workers), in start order."""
        found, todo = [], [self.pid]
        while todo:
            pid = todo.pop(0)
            found.append(pid)
            with contextlib.suppress(OSError):
                todo += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        return found

    def rss_each(self) -> list[float]:
        out = []
        for pid in self.pids():
            with contextlib.suppress(OSError, RuntimeError):
                out.append(rss_mib(pid))
        return out

    def snapshot(self, timeout: float = 60) -> tracemalloc.Snapshot:
        """tracemalloc's snapshot of the gateway's Python heap (traced gateways only)."""
        assert self.traced and self.proc is not None
        self._snapshots += 1
        path = self.directory / f"heap.{self._snapshots}"
        self.proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        while not path.exists():
            if time.monotonic() > deadline:
                raise RuntimeError("the gateway wrote no heap snapshot")
            time.sleep(0.1)
        return tracemalloc.Snapshot.load(str(path))

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@contextlib.contextmanager
def gateways(count: int, **kwargs: Any) -> Iterator[list[Gateway]]:
    with tempfile.TemporaryDirectory(prefix="wfgw-memory-") as tmp:
        started: list[Gateway] = []
        try:
            for i in range(count):
                directory = Path(tmp) / f"gw{i}"
                directory.mkdir()
                gw = Gateway(directory, **kwargs)
                started.append(gw)
                gw.start()
            yield started
        finally:
            for gw in started:
                gw.stop()


def top_growth(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, limit: int = 10) -> str:
    """The allocation sites whose live size grew most between two snapshots, one per line."""
    stats = after.compare_to(before, "traceback" if after.traceback_limit > 1 else "lineno")
    return "\n".join(str(s) for s in stats[:limit])


def traced_total(snapshot: tracemalloc.Snapshot) -> float:
    return sum(s.size for s in snapshot.statistics("filename")) / 2**20


async def _drive(loads: list[MixedLoad], seconds: float) -> list[LoadReport]:
    return list(await asyncio.gather(*(load.run(seconds) for load in loads)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--warmup", type=float, default=60, help="seconds of load before the soak")
    parser.add_argument("--soak", type=float, default=300, help="seconds of load measured")
    parser.add_argument("--sample", type=float, default=30, help="seconds between RSS samples in the soak")
    parser.add_argument("--processes", type=int, default=1, help="separate gateways side by side")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes per gateway")
    parser.add_argument("--concurrency", type=int, default=4, help="clients per gateway")
    parser.add_argument("--traced", action="store_true", help="tracemalloc in the gateways; print top growth")
    args = parser.parse_args()
    overrides = {"server": {"workers": args.workers}} if args.workers > 1 else None
    with gateways(args.processes, traced=args.traced, overrides=overrides) as gws:
        time.sleep(2 + 2 * args.workers)
        start = _each(gws)
        loads = [MixedLoad(gw.url, args.concurrency) for gw in gws]
        asyncio.run(_setup(loads))
        asyncio.run(_drive(loads, args.warmup))
        warm = _each(gws)
        before = [gw.snapshot() for gw in gws] if args.traced else []
        samples: list[list[float]] = []
        began = time.monotonic()
        while (left := args.soak - (time.monotonic() - began)) > 0:
            asyncio.run(_drive(loads, min(args.sample, left)))
            samples.append(_each(gws))
            print(f"  {time.monotonic() - began:6.0f} s: " + ", ".join(f"{r:.1f}" for r in samples[-1]) + " MiB",
                  flush=True)
        soaked = samples[-1] if samples else warm
        minutes = (time.monotonic() - began) / 60
        print(f"\nwfgateway serve, shipped config.yaml, SQLite, {args.workers} worker(s) per gateway; load: "
              f"bench/mixed_load.py x{args.concurrency} per gateway; warm-up {args.warmup:.0f} s, soak {minutes:.1f} min")
        print("| process | RSS at start | after warm-up | after soak | growth in soak |")
        print("|---|---:|---:|---:|---:|")
        for i in range(min(len(start), len(warm), len(soaked))):
            print(f"| {i + 1} | {start[i]:.1f} MiB | {warm[i]:.1f} MiB | {soaked[i]:.1f} MiB | "
                  f"{(soaked[i] - warm[i]) / minutes:+.2f} MiB/min |")
        for i, load in enumerate(loads):
            rep = load.report
            print(f"gateway {i + 1}: {rep.requests:,} requests, "
                  f"{'every answer as expected' if not rep.unexpected else 'UNEXPECTED: ' + rep.unexpected[0]}")
        if len(start) > 1:
            print(f"| sum of {len(gws)} | {sum(start):.1f} MiB | {sum(warm):.1f} MiB | {sum(soaked):.1f} MiB | | | |")
        met = {True: "met", False: "NOT met"}
        print(f"\nbar: <= {START_BAR_MIB} MiB at start -> {met[max(start) <= START_BAR_MIB]}; "
              f"<= {SOAK_BAR_MIB} MiB after the soak -> {met[max(soaked) <= SOAK_BAR_MIB]}")
        for gw, snap in zip(gws, before, strict=False):
            after = gw.snapshot()
            print(f"\nPython heap (tracemalloc) {traced_total(snap):.1f} -> {traced_total(after):.1f} MiB; top growth:")
            print(top_growth(snap, after))
    for load in loads:
        if load.report.unexpected:
            print("\nunexpected answers:\n" + "\n".join(load.report.unexpected), file=sys.stderr)
            sys.exit(1)


def _each(gws: list[Gateway]) -> list[float]:
    """RSS of every process of every gateway (a multi-worker gateway: its supervisor, then each worker)."""
    return [r for gw in gws for r in gw.rss_each()]


async def _setup(loads: list[MixedLoad]) -> None:
    await asyncio.gather(*(load.setup() for load in loads))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
