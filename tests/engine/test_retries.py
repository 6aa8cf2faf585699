"""Automatic retries with delays and backoff, task timeouts, optional and continue-on-error tasks."""

from __future__ import annotations

import asyncio
import uuid

from wfgateway.core.model import DYNAMIC, HTTP, NOOP, WAIT, WORKER, TaskSpec
from wfgateway.core.statuses import ExecutionStatus as ES
from wfgateway.core.statuses import TaskStatus as TS
from wfgateway.engine.attempts import retry_delay

from .helpers import TENANT, by_ref, run, spec, statuses, work


async def test_failed_worker_task_is_retried_with_new_attempts(engine):
    e = await run(engine, "retries", spec("w", WORKER, name="flaky", retries=2))
    await work(engine, "flaky", fail="one")
    await work(engine, "flaky", fail="two")
    await work(engine, "flaky", {"ok": 1})
    e = await engine.wait_until(e.id, [ES.COMPLETED], 3)
    attempts = [t for t in e.tasks if t.ref == "w"]
    assert [t.attempt for t in attempts] == [0, 1, 2]
    assert [t.status for t in attempts] == [TS.FAILED, TS.FAILED, TS.COMPLETED]
    assert [t.retried for t in attempts] == [True, True, False]
    assert attempts[1].retried_from == attempts[0].id and attempts[2].retried_from == attempts[1].id
    assert len({t.id for t in attempts}) == 3


async def test_retry_limit_exhausted_fails_the_execution(engine):
    e = await run(engine, "exhaust", spec("w", WORKER, name="bad", retries=1), spec("after", WORKER, "w", name="x"))
    await work(engine, "bad", fail="a")
    await work(engine, "bad", fail="b")
    e = await engine.wait_until(e.id, [ES.FAILED], 3)
    assert e.reason == "b"
    assert "after" not in statuses(e)


def test_backoff_formulas():
    from wfgateway.core.model import TaskSpec

    fixed = TaskSpec(ref="a", kind=WORKER, retry_delay_ms=100)
    linear = TaskSpec(ref="a", kind=WORKER, retry_delay_ms=100, backoff="linear", backoff_scale=2.0)
    expo = TaskSpec(ref="a", kind=WORKER, retry_delay_ms=100, backoff="exponential")
    assert [retry_delay(fixed, n) for n in range(3)] == [100, 100, 100]
    assert [retry_delay(linear, n) for n in range(3)] == [200, 400, 600]
    assert [retry_delay(expo, n) for n in range(3)] == [100, 200, 400]


async def test_retry_delay_holds_the_task_back(engine):
    await run(engine, "delayed", spec("w", WORKER, name="later", retries=1, retry_delay_ms=300))
    await work(engine, "later", fail="first")
    assert await engine.poll(TENANT, "later", timeout_ms=100) == []
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    got = await engine.poll(TENANT, "later", timeout_ms=2000)
    assert got and got[0].attempt == 1
    assert loop.time() - t0 > 0.1  # the long poll really waited for the timer to release it


async def test_exponential_backoff_on_http(engine, http_server):
    e = await run(engine, "httpretry", spec("h", HTTP, params={"url": f"{http_server.base_url}/flaky/{uuid.uuid4().hex}?fail=2"},
                                            retries=2, retry_delay_ms=100, backoff="exponential"))
    e = await engine.wait_until(e.id, [ES.COMPLETED], 5)
    attempts = [t for t in e.tasks if t.ref == "h"]
    assert [t.status for t in attempts] == [TS.FAILED, TS.FAILED, TS.COMPLETED]
    gap1 = attempts[1].started_ms - attempts[0].ended_ms
    gap2 = attempts[2].started_ms - attempts[1].ended_ms
    assert gap1 >= 90 and gap2 >= 190


async def test_task_timeout_times_out_the_execution(engine):
    e = await run(engine, "tmo", spec("w", WAIT, timeout_ms=150))
    e = await engine.wait_until(e.id, [ES.TIMED_OUT], 3)
    w = by_ref(e)["w"]
    assert w.status is TS.TIMED_OUT and "timed out" in w.reason
    assert e.extra["failed_task"]["status"] == "TIMED_OUT"


async def test_timeout_policy_fail_is_not_retried_and_fails_the_execution(engine):
    e = await run(engine, "tmofail", spec("w", WAIT, timeout_ms=150, retries=3, timeout_policy="fail"),
                  spec("after", NOOP, "w"))
    e = await engine.wait_until(e.id, [ES.FAILED, ES.TIMED_OUT], 3)
    assert e.status is ES.FAILED and [t.status for t in e.tasks if t.ref == "w"] == [TS.TIMED_OUT]
    assert "after" not in statuses(e) and "timed out" in e.reason


async def test_timeout_policy_fail_inside_a_container_fails_the_container(engine):
    def expand(params, spec_, execution):
        return [TaskSpec(ref="slow", kind=WAIT, timeout_ms=150, retries=2, timeout_policy="fail")]

    engine.register_expander("tmodialect", expand)
    e = await run(engine, "tmofan", spec("dyn", DYNAMIC, params={}), dialect="tmodialect")
    e = await engine.wait_until(e.id, [ES.FAILED, ES.TIMED_OUT], 3)
    assert e.status is ES.FAILED and by_ref(e)["dyn"].status is TS.FAILED
    assert [t.status for t in e.tasks if t.ref == "dyn:slow"] == [TS.TIMED_OUT]


def test_timeout_policy_survives_the_store():
    from wfgateway.engine.codec import spec_from_dict, spec_to_dict

    kept = spec_from_dict(spec_to_dict(spec("w", WAIT, timeout_policy="fail")))
    assert kept.timeout_policy == "fail"
    assert "timeout_policy" not in spec_to_dict(spec("w", WAIT))  # the default leaves digests as they were


async def test_worker_timeout_counts_from_the_poll_and_retries(engine):
    e = await run(engine, "wtmo", spec("w", WORKER, name="sleepy", timeout_ms=150, retries=1))
    first = (await engine.poll(TENANT, "sleepy", timeout_ms=1000))[0]
    second = (await engine.poll(TENANT, "sleepy", timeout_ms=2000))[0]
    assert second.retried_from == first.id
    assert (await engine.get_task(first.id)).status is TS.TIMED_OUT
    await engine.complete_task(second.id, TS.COMPLETED)
    await engine.wait_until(e.id, [ES.COMPLETED], 3)


async def test_a_retry_that_waited_out_a_delay_times_out_too(engine):
    """The timeout travels with the retry's attempt also when the retry waits out retry_delay_ms first."""
    e = await run(engine, "wdtmo", spec("w", WORKER, name="sleepy-later", timeout_ms=150, retries=2,
                                        retry_delay_ms=100))
    first = (await engine.poll(TENANT, "sleepy-later", timeout_ms=1000))[0]
    await engine.complete_task(first.id, TS.FAILED, reason="once")
    second = (await engine.poll(TENANT, "sleepy-later", timeout_ms=3000))[0]
    assert second.retried_from == first.id
    third = (await engine.poll(TENANT, "sleepy-later", timeout_ms=3000))[0]  # after the second timed out
    assert third.retried_from == second.id
    assert (await engine.get_task(second.id)).status is TS.TIMED_OUT
    await engine.complete_task(third.id, TS.COMPLETED)
    await engine.wait_until(e.id, [ES.COMPLETED], 3)


async def test_execution_timeout(engine):
    e = await run(engine, "wftmo", spec("w", WORKER, name="never-polled"), timeout_ms=150)
    e = await engine.wait_until(e.id, [ES.TIMED_OUT], 3)
    assert statuses(e) == {"w": "CANCELED"}
    assert "timed out" in e.reason


async def test_optional_task_failure_completes_with_errors(engine):
    e = await run(engine, "opt", spec("w", WORKER, name="opt-work", optional=True), spec("after", NOOP, "w"))
    await work(engine, "opt-work", fail="meh")
    e = await engine.wait_until(e.id, [ES.COMPLETED], 3)
    assert statuses(e) == {"w": "COMPLETED_WITH_ERRORS", "after": "COMPLETED"}
    assert by_ref(e)["w"].reason == "meh"


async def test_continue_on_error_takes_the_error_branch(engine):
    e = await run(engine, "coe", spec("w", WORKER, name="coe-work", continue_on_error=True),
                  spec("ok", NOOP, "w"), spec("handler", NOOP, ("w", "error"), input={"why": "${w.reason}"}))
    await work(engine, "coe-work", fail="bad input")
    e = await engine.wait_until(e.id, [ES.COMPLETED], 3)
    assert statuses(e) == {"w": "FAILED", "ok": "SKIPPED", "handler": "COMPLETED"}
    assert by_ref(e)["handler"].output == {"why": "bad input"}


async def test_failure_cancels_running_siblings(engine):
    e = await run(engine, "siblings", spec("a", WORKER, name="sa"), spec("b", WORKER, name="sb"),
                  spec("c", NOOP, "a", "b"))
    await work(engine, "sa", fail="a broke")
    e = await engine.wait_until(e.id, [ES.FAILED], 3)
    assert statuses(e) == {"a": "FAILED", "b": "CANCELED"}
    assert await engine.poll(TENANT, "sb") == []
