"""Definitions, start with idempotency, search, pause/resume, terminate, task lookups, concurrency."""

from __future__ import annotations

import asyncio

import pytest

from wfgateway.core.errors import Conflict, InvalidArgument, NotFound
from wfgateway.core.model import NOOP, WORKER, RetryPolicy, TaskSpec
from wfgateway.core.statuses import ExecutionStatus as ES
from wfgateway.core.statuses import TaskStatus as TS

from .helpers import TENANT, by_ref, definition, run, spec, statuses, work


async def test_definition_versions_crud(engine):
    await engine.put_definition(definition("d", spec("a", NOOP), version=1, description="one"))
    await engine.put_definition(definition("d", spec("a", NOOP), version=2))
    await engine.put_definition(definition("other", spec("a", NOOP)))
    assert (await engine.get_definition(TENANT, "d")).version == 2
    assert (await engine.get_definition(TENANT, "d", 1)).description == "one"
    assert (await engine.get_definition(TENANT, "d", "1")).version == 1
    with pytest.raises(Conflict):
        await engine.put_definition(definition("d", spec("a", NOOP), version=1), overwrite=False)
    first = await engine.list_definitions(TENANT, limit=2)
    assert first.total == 3 and len(first.items) == 2 and first.next_cursor
    rest = await engine.list_definitions(TENANT, cursor=first.next_cursor, limit=2)
    assert [d.name for d in first.items + rest.items] == ["d", "d", "other"] and rest.next_cursor is None
    assert (await engine.list_definitions(TENANT, "d")).total == 2
    assert (await engine.list_definitions("another-tenant")).total == 0
    await engine.delete_definition(TENANT, "d", 2)
    assert (await engine.get_definition(TENANT, "d")).version == 1
    await engine.delete_definition(TENANT, "d")
    with pytest.raises(NotFound):
        await engine.get_definition(TENANT, "d")
    with pytest.raises(NotFound):
        await engine.delete_definition(TENANT, "d")
    with pytest.raises(NotFound):
        await engine.start(TENANT, "d", None, {})


@pytest.mark.parametrize(
    "tasks,message",
    [
        ([spec("a", NOOP), spec("a", NOOP)], "Duplicate"),
        ([spec("a", NOOP, "zz")], "unknown task 'zz'"),
        ([spec("a", NOOP, "b"), spec("b", NOOP, "a")], "cycle"),
        ([spec("a", "teleport")], "unknown kind"),
        ([spec("a", NOOP, input={"x": "${ghost.output.y}"})], "unknown task 'ghost'"),
        ([spec("a", NOOP, input={"x": "${workflow.nonsense}"})], "unknown workflow field"),
        ([spec("a", NOOP), spec("b", NOOP, "a", input={"x": "${a.outptu}"})], "unknown task field"),
        ([spec("a", NOOP, input={"x": "${a"})], "Unterminated"),
        ([spec("a", NOOP, input={"x": "${}"})], "Bad template"),
        ([spec("a", NOOP, retries=-1)], "retries"),
        ([spec("a", NOOP, backoff="random")], "backoff"),
        ([spec("c", "condition", params={"operator": "roughly"})], "operator"),
    ],
)
async def test_invalid_definitions_are_rejected_clearly(engine, tasks, message):
    with pytest.raises(InvalidArgument, match=message):
        await engine.put_definition(definition("bad", *tasks))
    with pytest.raises(InvalidArgument, match=message):
        await engine.start(TENANT, "bad", None, {}, definition=definition("bad", *tasks))


async def test_inline_definition_runs_without_being_stored(engine):
    e = await engine.start(TENANT, "inline", None, {"v": 1}, definition=definition("inline", spec("a", NOOP)))
    assert e.status is ES.COMPLETED
    with pytest.raises(NotFound):
        await engine.get_definition(TENANT, "inline")


async def test_idempotency_key_never_creates_two_executions(engine):
    await engine.put_definition(definition("idem", spec("w", WORKER, name="idem")))
    first = await engine.start(TENANT, "idem", None, {"a": 1}, idempotency_key="k1")
    with pytest.raises(Conflict):
        await engine.start(TENANT, "idem", None, {"a": 1}, idempotency_key="k1")
    again = await engine.start(TENANT, "idem", None, {"a": 2}, idempotency_key="k1",
                               idempotency_strategy="return_existing")
    assert again.id == first.id and again.input == {"a": 1}
    other_tenant = await engine.start("t2", "idem", None, {}, idempotency_key="k1",
                                      definition=definition("idem", spec("w", NOOP)))
    assert other_tenant.id != first.id
    racers = await asyncio.gather(*(engine.start(TENANT, "idem", None, {}, idempotency_key="race",
                                                 idempotency_strategy="return_existing") for _ in range(8)))
    assert len({e.id for e in racers}) == 1
    assert (await engine.search(TENANT, name="idem")).total == 2


async def test_execution_fields_round_trip(engine):
    await engine.put_definition(definition("fields", spec("w", WORKER, name="fields")))
    e = await engine.start(TENANT, "fields", 1, {"i": 1}, correlation_id="c-1", metadata={"m": "x"},
                           execution_id="my-id-1", priority=5, dialect="d")
    got = await engine.get("my-id-1")
    assert (got.correlation_id, got.metadata, got.priority, got.dialect, got.input) == ("c-1", {"m": "x"}, 5, "d",
                                                                                         {"i": 1})
    assert got.created_ms > 0 and got.definition.name == "fields" and got.version >= e.version
    with pytest.raises(Conflict):
        await engine.start(TENANT, "fields", 1, {}, execution_id="my-id-1")
    with pytest.raises(NotFound):
        await engine.get("my-id-1", tenant="intruder")


async def test_search_filters_and_stable_pagination(engine):
    await engine.put_definition(definition("s1", spec("w", WORKER, name="s1")))
    await engine.put_definition(definition("s2", spec("a", NOOP)))
    ids = [(await engine.start(TENANT, "s1", None, {}, correlation_id=f"c{i % 2}")).id for i in range(7)]
    await engine.start(TENANT, "s2", None, {})
    page = await engine.search(TENANT, name="s1", limit=3)
    assert page.total == 7 and len(page.items) == 3 and not page.items[0].tasks
    seen = list(page.items)
    await engine.start(TENANT, "s1", None, {})  # an insert between pages does not shift them
    while page.next_cursor:
        page = await engine.search(TENANT, name="s1", limit=3, cursor=page.next_cursor)
        seen += page.items
    assert sorted(e.id for e in seen) == sorted(ids)  # every one exactly once, newest first
    assert [(e.created_ms, e.id) for e in seen] == sorted(((e.created_ms, e.id) for e in seen), reverse=True)
    oldest = await engine.search(TENANT, name="s1", limit=2, newest_first=False)
    assert [(e.created_ms, e.id) for e in oldest.items] == sorted((e.created_ms, e.id) for e in seen)[:2]
    assert (await engine.search(TENANT, correlation_id="c1", name="s1")).total == 3
    assert (await engine.search(TENANT, statuses=[ES.COMPLETED])).total == 1
    assert (await engine.search(TENANT, statuses=[ES.RUNNING], name="s2")).total == 0
    assert (await engine.search(TENANT, name="s1", version=1)).total == 8
    assert (await engine.search(TENANT, name="s1", version=2)).total == 0
    with pytest.raises(InvalidArgument):
        await engine.search(TENANT, cursor="!!not-a-cursor")


async def test_pause_stops_scheduling_until_resume(engine):
    e = await run(engine, "pausing", spec("a", WORKER, name="pa1"), spec("b", WORKER, "a", name="pb1"))
    paused = await engine.pause(e.id)
    assert paused.status is ES.PAUSED
    await work(engine, "pa1")  # a running task still completes ...
    e = await engine.get(e.id)
    assert e.status is ES.PAUSED and statuses(e) == {"a": "COMPLETED"}  # ... but nothing new is scheduled
    assert await engine.poll(TENANT, "pb1", timeout_ms=50) == []
    with pytest.raises(Conflict):
        await engine.resume((await run(engine, "other", spec("x", WORKER, name="nobody"))).id)
    e = await engine.resume(e.id)
    assert e.status is ES.RUNNING and statuses(e) == {"a": "COMPLETED", "b": "SCHEDULED"}
    await work(engine, "pb1")
    await engine.wait_until(e.id, [ES.COMPLETED], 3)
    with pytest.raises(Conflict):
        await engine.pause(e.id)


async def test_terminate_cancels_and_keeps_the_reason(engine):
    e = await run(engine, "terms", spec("a", WORKER, name="ta"))
    e = await engine.terminate(e.id, "operator said so")
    assert e.status is ES.TERMINATED and e.reason == "operator said so" and e.ended_ms > 0
    assert statuses(e) == {"a": "CANCELED"}
    done = await run(engine, "done", spec("a", NOOP))
    with pytest.raises(Conflict) as err:
        await engine.terminate(done.id)
    assert "COMPLETED" in err.value.message


async def test_late_results_are_ignored_and_tasks_found_by_id(engine):
    e = await run(engine, "late", spec("a", WORKER, name="late"))
    task = (await engine.poll(TENANT, "late", worker_id="w9"))[0]
    assert task.worker_id == "w9" and task.status is TS.IN_PROGRESS and task.poll_count == 1
    await engine.add_task_log(task.id, "halfway")
    await engine.terminate(e.id)
    after = await engine.complete_task(task.id, TS.COMPLETED, output={"x": 1})
    assert after.status is TS.CANCELED and after.output == {}
    got = await engine.get_task(task.id)
    assert [entry["message"] for entry in got.logs] == ["halfway"]
    with pytest.raises(NotFound):
        await engine.get_task("missing")
    with pytest.raises(NotFound):
        await engine.get_task(task.id, tenant="intruder")
    with pytest.raises(NotFound):
        await engine.complete_task("missing", TS.COMPLETED)


async def test_in_progress_update_requeues_after_callback(engine):
    e = await run(engine, "cb", spec("a", WORKER, name="cb"))
    task = (await engine.poll(TENANT, "cb"))[0]
    await engine.complete_task(task.id, TS.IN_PROGRESS, callback_after_ms=200, logs=["still busy"])
    assert await engine.poll(TENANT, "cb", timeout_ms=50) == []
    again = await engine.poll(TENANT, "cb", timeout_ms=2000)
    assert again[0].id == task.id and again[0].poll_count == 2
    await engine.complete_task(task.id, TS.COMPLETED, output={"ok": 1})
    e = await engine.wait_until(e.id, [ES.COMPLETED], 3)
    assert by_ref(e)["a"].logs[0]["message"] == "still busy"


async def test_concurrent_operations_on_one_execution_never_both_apply(engine):
    e = await run(engine, "racy", spec("a", WORKER, name="racy"))
    await work(engine, "racy", fail="x")
    await engine.wait_until(e.id, [ES.FAILED], 3)
    results = await asyncio.gather(*(engine.retry(e.id, RetryPolicy()) for _ in range(5)), return_exceptions=True)
    ok = [r for r in results if not isinstance(r, Exception)]
    assert len(ok) == 1 and all(isinstance(r, Conflict) for r in results if isinstance(r, Exception))
    e = await engine.get(e.id)
    assert len(e.tasks) == 2  # exactly one retry attempt was added


async def test_poll_batches_and_never_hands_out_a_task_twice(engine):
    await engine.put_definition(definition("many", *[spec(f"t{i}", WORKER, name="many") for i in range(6)]))
    await engine.start(TENANT, "many", None, {})
    ids: list[str] = []
    for _ in range(5):  # waves of concurrent pollers until the queue is empty
        got = await asyncio.gather(*(engine.poll(TENANT, "many", count=2) for _ in range(5)))
        ids += [t.id for batch in got for t in batch]
        if len(ids) >= 6:
            break
    assert len(ids) == 6 and len(set(ids)) == 6
    assert await engine.poll(TENANT, "many", count=10) == []


async def test_long_poll_wakes_when_work_arrives(engine):
    await engine.put_definition(definition("lp", spec("a", WORKER, name="lp")))
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    waiter = asyncio.ensure_future(engine.poll(TENANT, "lp", timeout_ms=5000))
    await asyncio.sleep(0.1)
    await engine.start(TENANT, "lp", None, {})
    got = await waiter
    assert got and loop.time() - t0 < 1.0


async def test_listeners_hear_status_changes(engine):
    events = []
    engine.register_listener(lambda ev: events.append((ev.kind, ev.status, ev.task.ref if ev.task else None)))
    e = await run(engine, "heard", spec("a", NOOP), spec("b", WORKER, "a", name="heard"))
    await work(engine, "heard")
    await engine.wait_until(e.id, [ES.COMPLETED], 3)
    assert ("execution", "RUNNING", None) in events and ("execution", "COMPLETED", None) in events
    assert ("task", "COMPLETED", "a") in events and ("task", "IN_PROGRESS", "b") in events
    assert ("task", "COMPLETED", "b") in events


async def test_unknown_ids_raise_typed_errors(engine):
    for call in (engine.get("nope"), engine.terminate("nope"), engine.pause("nope"), engine.resume("nope"),
                 engine.retry("nope", RetryPolicy()), engine.restart("nope"), engine.clone("nope"),
                 engine.add_task_log("nope", "x")):
        with pytest.raises(NotFound):
            await call
    with pytest.raises(InvalidArgument):
        await engine.start(TENANT, "x", None, [1, 2])  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        await engine.complete_task("nope", TS.SCHEDULED)


def test_task_spec_kinds_are_the_model_constants():
    assert TaskSpec(ref="a", kind=NOOP).kind == "noop"


async def test_extending_a_lease_keeps_the_task_with_its_worker(engine):
    e = await run(engine, "extend", spec("a", WORKER, name="ext"))
    task = (await engine.poll(TENANT, "ext", worker_id="w1", lease_ms=300))[0]
    await asyncio.sleep(0.2)
    await engine.complete_task(task.id, TS.IN_PROGRESS, extend_lease=True)
    await asyncio.sleep(0.25)  # the first lease has run out, the extended one has not
    assert await engine.poll(TENANT, "ext", timeout_ms=0) == []
    assert (await engine.get_task(task.id)).status is TS.IN_PROGRESS
    await engine.complete_task(task.id, TS.COMPLETED)
    await engine.wait_until(e.id, [ES.COMPLETED], 3)
