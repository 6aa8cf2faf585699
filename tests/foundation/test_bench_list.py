"""`make bench` runs every benchmark in bench/: a new benchmark module must be listed in bench/run_all.py
(or named there as a part of the others: a server, a load generator, a baseline)."""

from __future__ import annotations

from pathlib import Path

from bench import run_all

BENCH = Path(run_all.__file__).resolve().parent


def test_every_bench_module_is_run_or_named_as_a_part() -> None:
    modules = {p.stem for p in BENCH.glob("*.py") if p.stem != "__init__"}
    listed = {b.module.removeprefix("bench.") for b in run_all.BENCHES}
    assert listed <= modules, f"run_all lists modules that do not exist: {sorted(listed - modules)}"
    unlisted = modules - listed - run_all.PARTS
    assert not unlisted, f"bench modules neither run by run_all nor named in run_all.PARTS: {sorted(unlisted)}"
    assert not listed & run_all.PARTS
    assert len({b.key for b in run_all.BENCHES}) == len(run_all.BENCHES)
