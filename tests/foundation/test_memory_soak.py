"""Memory stays flat under load: a real ``wfgateway serve`` (uvicorn, the shipped config.yaml on a
temp SQLite store) takes a mixed load of all three dialects; once its caches are full, neither its
Python heap (tracemalloc) nor its resident memory may keep growing.

The caches are configured small here so that a short warm-up fills them; what grows after that is
not a bounded cache.  The hour-long run of the same is ``make memory-soak`` (README "Memory").
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bench.memory import Gateway, top_growth, traced_total
from bench.mixed_load import MixedLoad

pytestmark = pytest.mark.slow  # started first: see tests/conftest.py

SMALL_CACHES = {"caches": {"sqlite_page_cache_mib": 2, "definitions": 16, "run_owners": 500, "answers_kib": 256}}
# Sized in requests, not seconds, so that a busy machine (other tests on the other core) soaks as much:
# about 25 s + 40 s on a quiet one.  `make memory-soak` runs an hour.
WARMUP_REQUESTS = 2500
SOAK_REQUESTS = 4000
HEAP_GROWTH_MIB = 1.0  # Python heap, over the soak
RSS_GROWTH_MIB = 4.0  # resident memory over the soak: malloc's slack and SQLite's bounded page caches


def _drive(load: MixedLoad, until_requests: int) -> None:
    while load.report.requests < until_requests and not load.report.unexpected:
        asyncio.run(load.run(2.0))


def test_memory_is_flat_once_the_caches_are_full(tmp_path: Path) -> None:
    gw = Gateway(tmp_path, overrides=SMALL_CACHES, traced=True)
    gw.start()
    try:
        load = MixedLoad(gw.url, concurrency=4)
        asyncio.run(load.setup())
        _drive(load, WARMUP_REQUESTS)
        before, rss_before = gw.snapshot(), gw.rss()
        warm_requests = load.report.requests
        samples = []
        for part in range(1, 4):
            _drive(load, warm_requests + part * SOAK_REQUESTS // 3)
            samples.append(round(gw.rss(), 1))
        rss_after, after = gw.rss(), gw.snapshot()
    finally:
        gw.stop()
    report = load.report
    assert not report.unexpected, "\n".join(report.unexpected)
    soak_requests = report.requests - warm_requests
    heap_growth = traced_total(after) - traced_total(before)
    rss_growth = rss_after - rss_before
    detail = (f"{soak_requests} requests in the soak; Python heap {traced_total(before):.1f} -> "
              f"{traced_total(after):.1f} MiB; RSS {rss_before:.1f} -> {samples} MiB; top growth:\n"
              + top_growth(before, after))
    print(detail)  # pytest -s shows the figures of a passing run
    assert soak_requests >= SOAK_REQUESTS, detail
    assert heap_growth < HEAP_GROWTH_MIB, detail
    assert rss_growth < RSS_GROWTH_MIB, detail
