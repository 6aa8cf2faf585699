"""Run every benchmark in bench/ and print the figures of the README's benchmark table.

    .venv/bin/python -m bench.run_all            # short runs (a few minutes): ratios, noisier figures
    .venv/bin/python -m bench.run_all --full     # the README's own commands (1M executions stored,
                                                 # Prism installed by npm: the better part of an hour)
    .venv/bin/python -m bench.run_all --only engine_rerun,gateway_vs_hello

Each benchmark runs in its own process (they start servers and fill databases) and prints its figure
beside the baseline it measured in the same run; this script prints that output under the README row
it belongs to, then one summary line per benchmark (its ratio lines, or why it failed).  A benchmark
that cannot run here (no wrk, no PostgreSQL) is reported as failed and the others still run.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# bench modules that are parts of the benchmarks (servers, load generators, baselines), not benchmarks
PARTS = frozenset({"engine_common", "hello", "load", "mixed_load", "proxy_bare", "proxy_serve", "proxy_upstream",
                   "serve", "traced_serve", "trivial_backend", "run_all"})
RATIO_WORDS = ("ratio", "bar:", "engine/bare", "x bare", "gateway/hello", "bare/gateway")
RATIO_CELL = re.compile(r"^[\d.,]+\s*(%|x|×)$")


@dataclass(frozen=True)
class Bench:
    key: str  # unique name for --only
    row: str  # the README table row (or what it measures, for benchmarks outside the table)
    module: str
    short: tuple[str, ...]  # arguments of the default (short) run
    full: tuple[str, ...]  # arguments of the README's figures


BENCHES = (
    Bench("engine_rerun", "reruns/s of a 10-task execution through the engine API (SQLite, WAL)",
          "bench.engine_rerun", ("--count", "600", "--rounds", "1"), ()),
    Bench("engine_throughput", "completed executions/s, 10 noop tasks in a line, SQLite and PostgreSQL",
          "bench.engine_throughput", ("--count", "300"), ()),
    Bench("engine_poll", "worker tasks polled + completed per CPU-second, with and without a poll limit (SQLite)",
          "bench.engine_poll", ("--count", "500", "--rounds", "1"), ()),
    Bench("engine_rerun_latency", "rerun latency, 1M vs 1k stored executions, SQLite (short run: 50k vs 1k)",
          "bench.engine_rerun_latency", ("--sizes", "1000,50000", "--reruns", "300"), ("--reruns", "3000")),
    Bench("engine_rerun_latency_pg", "rerun latency, 1M vs 1k stored executions, PostgreSQL (short run: 50k vs 1k)",
          "bench.engine_rerun_latency", ("--store", "postgres", "--sizes", "1000,50000", "--reruns", "300"),
          ("--store", "postgres")),
    Bench("engine_rerun_shapes", "rerun shapes A-D against bare SQLite (not in the table; CPU-time rates)",
          "bench.engine_rerun_shapes", ("0.2",), ("2",)),
    Bench("proxy_vs_aiohttp", "proxy mode (validate request, forward, validate response), GET / POST rerun",
          "bench.proxy_vs_aiohttp", ("--seconds", "2", "--rounds", "1", "--no-prism"), ()),
    Bench("conductor_bulk_retry", "bulk retry against single retries through the Conductor API of a real gateway",
          "bench.conductor_bulk_retry", ("--count", "200", "--rounds", "1"), ()),
    Bench("console_pages", "console pages at 10^5 stored executions beside Conductor's search call",
          "bench.console_pages", ("--size", "20000", "--requests", "50"), ()),
    Bench("search_scale", "every dialect's search and listing at 10^3..10^6 stored executions, whole requests, SQLite"
          " and PostgreSQL (short run: up to 10^5)", "bench.search_scale", ("--repeats", "20"), ("--full",)),
    Bench("search_store_calls", "the store calls of those searches alone at 10^3..10^6 stored executions (short run: "
          "up to 10^5)", "bench.search_store_calls", ("--repeats", "20"), ("--full",)),
    Bench("gateway_vs_hello", "validated request with a trivial backend vs hello-JSON Starlette (wrk -t1 -c64)",
          "bench.gateway_vs_hello", ("--seconds", "2", "--rounds", "1"), ("--seconds", "5", "--rounds", "1")),
    Bench("ops", "shipped config: hello-JSON, validation reject, stored GET with 1 and 2 workers, access log and "
          "tracing costs (README \"Workers, tracing and the access log\")",
          "bench.ops", ("--seconds", "3", "--rounds", "1"), ("--seconds", "8", "--rounds", "2")),
    Bench("ops_stored", "the stored GET against hello-JSON, servers up together, alternating rounds, 1 and 2 workers "
          "(README \"The stored GET\")", "bench.ops", ("--only", "stored", "--seconds", "2", "--rounds", "3"),
          ("--only", "stored", "--seconds", "2", "--rounds", "3")),
    Bench("listing_render", "CPU of the three dialects' run listings with 100-run pages in process, beside /healthz and a "
          "1-run page (README \"Listings and start-up\")", "bench.listing_render", ("--requests", "100"), ()),
    Bench("startup", "create_app CPU and `wfgateway serve` time to ready, beside importing the modules and a hello "
          "app's start (README \"Listings and start-up\")", "bench.startup", ("--rounds", "2"), ("--rounds", "5")),
    Bench("stored_get_profile", "CPU of one stored GET in process, answer cache on and off (README \"The stored GET\")",
          "bench.stored_get_profile", ("--requests", "5000"), ()),
    Bench("memory", "resident memory at start, after warm-up and after a mixed-load soak (README \"Memory\")",
          "bench.memory", ("--warmup", "20", "--soak", "60", "--sample", "30"),
          ("--warmup", "60", "--soak", "1800", "--sample", "180", "--processes", "2")),
)


def is_ratio_line(line: str) -> bool:
    """A line the summary repeats: it names a ratio or a bar, or is a table row ending in a ratio."""
    if any(word in line.lower() for word in RATIO_WORDS):
        return True
    cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.lstrip().startswith("|") else []
    return bool(cells) and RATIO_CELL.match(cells[-1]) is not None


def run(bench: Bench, full: bool) -> tuple[bool, list[str]]:
    args = bench.full if full else bench.short
    command = [sys.executable, "-m", bench.module, *args]
    print(f"\n## {bench.row}\n\n$ {' '.join(['.venv/bin/python', '-m', bench.module, *args])}\n", flush=True)
    started = time.monotonic()
    proc = subprocess.run(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(proc.stdout.rstrip(), flush=True)
    took = time.monotonic() - started
    if proc.returncode != 0:
        last = [line for line in proc.stdout.strip().splitlines() if line.strip()][-1:] or ["no output"]
        return False, [f"FAILED (exit {proc.returncode} after {took:.0f} s): {last[0]}"]
    lines = [line.strip() for line in proc.stdout.splitlines() if is_ratio_line(line)]
    return True, lines or [f"done in {took:.0f} s (figures in the table above)"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="the README's figures (long: 1M rows, Prism)")
    parser.add_argument("--only", help="comma-separated benchmark keys: " + ", ".join(b.key for b in BENCHES))
    args = parser.parse_args()
    wanted = set(args.only.split(",")) if args.only else None
    unknown = (wanted or set()) - {b.key for b in BENCHES}
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    chosen = [b for b in BENCHES if wanted is None or b.key in wanted]
    print(f"# wfgateway benchmarks ({'full' if args.full else 'short runs; --full for the README figures'})")
    summary = [(b, *run(b, args.full)) for b in chosen]
    print("\n# summary\n")
    for bench, _ok, lines in summary:
        print(f"- {bench.key}: {lines[0]}")
        for line in lines[1:]:
            print(f"  {line}")
    if not all(ok for _, ok, _ in summary):
        sys.exit(1)


if __name__ == "__main__":
    main()
