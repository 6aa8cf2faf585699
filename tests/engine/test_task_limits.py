"""Poll limits of a worker task name (TaskLimits): at most N IN_PROGRESS at once, at most N claims per
window; a task held back stays queued (SCHEDULED, not polled) and is handed out once the limit allows.
Counts are asserted, never durations; the rate window is checked on the engine's own claim times."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from wfgateway.core.model import WORKER, TaskLimits
from wfgateway.core.statuses import TaskStatus
from wfgateway.engine import Engine
from wfgateway.engine.util import now_ms

from .helpers import TENANT, definition, spec

RUNS = 6


async def _queue(engine: Engine, name: str, limits: TaskLimits, runs: int = RUNS) -> None:
    await engine.put_definition(definition(f"flow-{name}", spec("w", WORKER, name=name, limits=limits)))
    for i in range(runs):
        await engine.start(TENANT, f"flow-{name}", None, {"i": i})


async def test_at_most_n_in_progress_until_one_completes(engine: Engine) -> None:
    await _queue(engine, "lim-conc", TaskLimits(max_in_progress=2))
    first = await engine.poll(TENANT, "lim-conc", worker_id="a", count=5)
    assert len(first) == 2
    assert await engine.poll(TENANT, "lim-conc", worker_id="b", count=5) == []
    assert await engine.poll(TENANT, "lim-conc", worker_id="b", count=5, timeout_ms=300) == []
    # the held-back tasks stay queued and untouched
    assert (await engine.queue_sizes(TENANT))["lim-conc"] == RUNS - 2
    assert (await engine.queue_leased(TENANT))["lim-conc"] == 2
    await engine.complete_task(first[0].id, TaskStatus.COMPLETED, output={})
    again = await engine.poll(TENANT, "lim-conc", worker_id="b", count=5)
    assert len(again) == 1 and again[0].poll_count == 1
    # a task sent back to the queue frees its slot as well
    await engine.complete_task(first[1].id, TaskStatus.IN_PROGRESS, callback_after_ms=0)
    assert len(await engine.poll(TENANT, "lim-conc", worker_id="c", count=5)) == 1


async def test_a_held_long_poll_gets_the_slot_a_completion_frees(engine: Engine) -> None:
    await _queue(engine, "lim-wake", TaskLimits(max_in_progress=1), runs=2)
    (held,) = await engine.poll(TENANT, "lim-wake", count=5)
    waiting = asyncio.ensure_future(engine.poll(TENANT, "lim-wake", count=5, timeout_ms=20_000))
    await asyncio.sleep(0.2)
    assert not waiting.done()
    await engine.complete_task(held.id, TaskStatus.COMPLETED, output={})
    got = await asyncio.wait_for(waiting, 20)
    assert len(got) == 1 and got[0].id != held.id


async def test_concurrent_pollers_share_the_limit(engine: Engine) -> None:
    await _queue(engine, "lim-race", TaskLimits(max_in_progress=2), runs=12)
    for _ in range(3):
        got = await asyncio.gather(*(engine.poll(TENANT, "lim-race", worker_id=f"p{k}", count=5) for k in range(8)))
        won = [t for batch in got for t in batch]
        assert len(won) == 2
        for t in won:
            await engine.complete_task(t.id, TaskStatus.COMPLETED, output={})


async def test_rate_limit_hands_out_n_per_window(engine: Engine) -> None:
    await _queue(engine, "lim-rate", TaskLimits(per_window=3, window_ms=2000))
    first = await engine.poll(TENANT, "lim-rate", count=5)
    assert len(first) == 3
    for t in first:  # finished at once: only the rate holds the rest back
        await engine.complete_task(t.id, TaskStatus.COMPLETED, output={})
    claimed = list(first)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while len(claimed) < RUNS and loop.time() < deadline:
        claimed += await engine.poll(TENANT, "lim-rate", count=5, timeout_ms=500)
    assert len(claimed) == RUNS
    t0 = min(t.started_ms for t in first)
    later = sorted(t.started_ms for t in claimed[3:])
    assert all(s >= t0 + 2000 for s in later)  # nothing before the window of the first three passed
    _at_most_per_window(sorted(t.started_ms for t in claimed), 3, 2000)


async def test_unlimited_names_are_not_held(engine: Engine) -> None:
    await _queue(engine, "lim-none", TaskLimits())
    assert len(await engine.poll(TENANT, "lim-none", count=10)) == RUNS


async def test_limits_survive_a_restart(make_engine: Callable[..., Engine]) -> None:
    """The limit travels with the queued task (its run's snapshot), not with the process."""
    first = make_engine()
    await first.startup()
    try:
        await _queue(first, "lim-restart", TaskLimits(max_in_progress=1), runs=3)
        assert len(await first.poll(TENANT, "lim-restart", count=5)) == 1
    finally:
        await first.stop()
    second = make_engine()
    await second.startup()
    try:
        assert await second.poll(TENANT, "lim-restart", count=5) == []
    finally:
        await second.stop()


def _at_most_per_window(starts: list[int], per: int, window_ms: int) -> None:
    for i, s in enumerate(starts):
        inside = [t for t in starts[: i + 1] if t > s - window_ms]
        assert len(inside) <= per, (starts, i)



async def test_a_retry_after_a_delay_is_held_too(engine: Engine) -> None:
    await engine.put_definition(definition("flow-lim-retry", spec(
        "w", WORKER, name="lim-retry", retries=1, retry_delay_ms=200, limits=TaskLimits(max_in_progress=1))))
    for i in range(2):
        await engine.start(TENANT, "flow-lim-retry", None, {"i": i})
    (a,) = await engine.poll(TENANT, "lim-retry", count=5)
    await engine.complete_task(a.id, TaskStatus.FAILED, reason="again")  # its retry waits 200 ms
    (b,) = await engine.poll(TENANT, "lim-retry", count=5)
    assert b.execution_id != a.execution_id
    retry = next(t for t in (await engine.get(a.execution_id)).tasks if t.status is TaskStatus.SCHEDULED)
    while now_ms() <= retry.callback_after_ms + 50:  # until the retry is due: then only the limit holds it
        await asyncio.sleep(0.05)
    assert await engine.poll(TENANT, "lim-retry", count=5, timeout_ms=300) == []
    await engine.complete_task(b.id, TaskStatus.COMPLETED, output={})
    (again,) = await engine.poll(TENANT, "lim-retry", count=5, timeout_ms=5000)
    assert again.execution_id == a.execution_id and again.attempt > a.attempt
