"""Run listings answer the same bytes as before their rendering was made cheaper.

tests/fixtures/listing_answers.json holds, for a matrix of stored runs (every status, reasons, a failed
task's record and a failed sub-workflow's, correlation ids, a parent run, taskToDomain, an idempotency
key, millisecond values 0 / 1 / 999 and ended / updated 0, non-ASCII input, tasks failed and retried),
the JSON text each listing renderer gave for them at commit f345bff (Conductor's WorkflowSummary and
search-v2 Workflow, Cognite's executions/list item, Altostrat's run of a listing page).  The runs are
built from store rows as a search page loads them (``ExecRec.listed``) and, with their tasks, as a
single read does (``ExecRec.from_row``).  Regenerate the file only when an
answer is meant to change: ``.venv/bin/python -m tests.crossdialect.test_listing_answers --write``.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st
from wfgateway.adapters.altostrat import render as altostrat
from wfgateway.adapters.altostrat.timefmt import iso as altostrat_iso
from wfgateway.adapters.altostrat.translate import translate
from wfgateway.adapters.cognite import render as cognite
from wfgateway.adapters.conductor import render as conductor
from wfgateway.adapters.conductor.definitions import to_definition

from tests.altostrat.graphs import branching
from wfgateway.core.model import WORKER, Execution, TaskAttempt, WorkflowDefinition
from wfgateway.core.statuses import TaskStatus
from wfgateway.core.utc_text import FAST_RANGE_END_MS
from wfgateway.engine.state import ExecRec
from wfgateway.engine.store.base import EXEC_COLS

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "listing_answers.json"
STATUSES = ("RUNNING", "PAUSED", "COMPLETED", "FAILED", "TIMED_OUT", "TERMINATED")
T0 = 1_761_912_000_000  # 2025-10-31T12:00:00.000Z
FLOW = {"name": "order_flow", "version": 3, "timeoutSeconds": 60, "description": "orders",
        "tasks": [{"name": "charge", "taskReferenceName": "charge_ref", "type": "SIMPLE"},
                  {"name": "child", "taskReferenceName": "child_ref", "type": "SUB_WORKFLOW",
                   "subWorkflowParam": {"name": "child_flow", "version": 1}},
                  {"name": "ship", "taskReferenceName": "ship_ref", "type": "SIMPLE"}]}
TIMES = (  # (created, started, ended, updated) -- ended and updated 0 on open runs
    (T0, T0, T0 + 4321, T0 + 4321),
    (T0 + 999, T0 + 999, T0 + 86_399_999, T0 + 86_400_000),  # .999 and a run ending on the day's last ms
    (1, 1, 999, 1000),  # the epoch's first second
    (T0 + 1, 0, 0, 0),  # never started: startTime is the creation time
    (4_102_444_799_999, 4_102_444_799_999, 4_102_444_800_000, 4_102_444_800_000),  # 2099-12-31T23:59:59.999
    (951_782_400_000, 951_782_400_000, 951_868_799_000, 0),  # 2000-02-29 (a leap day), updated 0
)


def _row(i: int, status: str, times: tuple[int, int, int, int]) -> tuple[Any, ...]:
    created, started, ended, updated = times
    failed = status in ("FAILED", "TIMED_OUT", "TERMINATED")
    reason = {"FAILED": f"card {i} declined", "TIMED_OUT": "Workflow timed out", "TERMINATED": "stopped by ops"}
    extra: dict[str, Any] = {}
    if status == "FAILED" and i // 6 % 3 == 1:
        extra = {"failed_task": {"id": f"t{i}", "ref": "charge_ref", "status": "FAILED", "reason": reason[status]}}
    elif status == "FAILED" and i // 6 % 3 == 2:  # its sub-workflow failed: the child is named in the reason
        child = {"id": f"child{i}", "name": "child_flow", "version": "1", "status": "FAILED", "reason": "boom",
                 "failed_task": {"id": f"c{i}", "ref": "inner", "status": "FAILED", "reason": "boom"}}
        extra = {"failed_task": {"id": f"t{i}", "ref": "child_ref", "status": "FAILED", "reason": reason[status],
                                 "child": child}}
    row: dict[str, Any] = dict.fromkeys(EXEC_COLS)
    row.update(
        id=f"run-{i:03d}", tenant="default", name="order_flow", def_version="3", status=status,
        input=orjson.dumps({"order": i, "note": "ünïcode ✓", "items": [1, 2.5, None]}).decode() if i % 4 else "{}",
        output=orjson.dumps({"ok": status == "COMPLETED"}).decode() if i % 2 else "{}",
        variables='{"v":1}' if i % 5 == 0 else "{}",
        correlation_id=f"corr-{i // 3}" if i % 7 else None,
        metadata=orjson.dumps({"taskToDomain": {"charge": "eu"}, "trigger_type": "manual",
                               "original_run_id": f"run-{i - 1:03d}" if i % 9 == 4 else None}).decode()
        if i % 6 == 5 else "{}",
        reason=reason.get(status) if failed or i % 8 == 3 else None,
        parent_execution_id=f"run-{i - 1:03d}" if i % 10 == 9 else None,
        parent_task_id=f"t{i - 1}" if i % 10 == 9 else None, cloned_from=f"run-{i - 2:03d}" if i % 11 == 10 else None,
        idempotency_key=f"key-{i}" if i % 4 == 2 else None, dialect="conductor", priority=i % 5,
        created_ms=created, started_ms=started, ended_ms=ended if failed or status == "COMPLETED" else 0,
        updated_ms=updated, last_retried_ms=created + 10 if i % 12 == 7 else 0, row_version=1, def_hash="h",
        extra=orjson.dumps(extra).decode(), next_seq=0, deadline_ms=0,
    )
    return tuple(row[c] for c in EXEC_COLS)


def _tasks(i: int, execution_id: str, status: str, created: int) -> list[TaskAttempt]:
    """Attempts as a search by tasks or a bulk read loads them: a retried failure, a failed task."""
    if i % 4 != 1:
        return []
    def attempt(n: int, ref: str, task_status: TaskStatus, **kw: Any) -> TaskAttempt:
        return TaskAttempt(id=f"{execution_id}-a{n}", execution_id=execution_id, ref=ref, name=ref.removesuffix("_ref"),
                           kind=WORKER, status=task_status, seq=n, scheduled_ms=created + n, updated_ms=created + 2 * n,
                           ended_ms=created + 3 * n if task_status.terminal else 0, **kw)
    return [attempt(1, "charge_ref", TaskStatus.FAILED, reason="declined", retried=True),
            attempt(2, "charge_ref", TaskStatus.COMPLETED, attempt=1, retried_from=f"{execution_id}-a1"),
            attempt(3, "ship_ref", TaskStatus.FAILED if status == "FAILED" else TaskStatus.IN_PROGRESS)]


def runs(definition: WorkflowDefinition, with_tasks: bool) -> list[Execution]:
    out = []
    for i in range(36):
        status = STATUSES[i % len(STATUSES)]
        row = _row(i, status, TIMES[i // len(STATUSES) % len(TIMES)])
        if with_tasks:  # read whole, as a search by tasks or a bulk search reads each run
            execution = ExecRec.from_row(row, definition).e
            execution.tasks = _tasks(i, execution.id, status, execution.created_ms)
        else:  # as a search page loads it
            execution = ExecRec.listed(row, definition)
        out.append(execution)
    return out


def answers() -> dict[str, list[str]]:
    """Each listing renderer's JSON text for every run of the matrix."""
    flow = to_definition(FLOW, "default")
    flow.created_ms, flow.updated_ms = T0 - 5000, T0 - 999  # registered before the runs (not now)
    graph = translate(branching("http://h")["nodes"], branching("http://h")["edges"])
    nodes = WorkflowDefinition(tenant="default", name="fl_1", version=1, tasks=graph.tasks, dialect="altostrat")
    out: dict[str, list[str]] = {}
    for with_tasks in (False, True):
        suffix = " (with tasks)" if with_tasks else ""
        found = runs(flow, with_tasks)
        out["conductor summary" + suffix] = [orjson.dumps(conductor.summary_json(e)).decode() for e in found]
        out["conductor search-v2" + suffix] = [orjson.dumps(d).decode() for d in conductor.workflows_json(found)]
        if with_tasks:  # bulk search, correlated runs with includeTasks
            out["conductor workflows with their tasks"] = [
                orjson.dumps(d).decode() for d in conductor.workflows_json(found, include_tasks=True)]
        out["cognite executions/list" + suffix] = [orjson.dumps(cognite.execution(e)).decode() for e in found]
        out["altostrat run listing" + suffix] = [orjson.dumps(altostrat.run(e, with_logs=False)).decode()
                                                 for e in runs(nodes, with_tasks)]
    return out


def test_every_listing_answers_the_bytes_it_answered_before() -> None:
    expected = orjson.loads(GOLDEN.read_bytes())
    got = answers()
    assert list(got) == list(expected)
    for listing, texts in got.items():
        assert len(texts) == len(expected[listing])
        for n, (text, before) in enumerate(zip(texts, expected[listing], strict=True)):
            assert text == before, f"{listing}, run {n}"


def _conductor_before(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _altostrat_before(ms: int) -> str | None:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if ms else None


EDGES = [0, 1, 999, 1000, 1001, 59_999, 60_000, 86_399_999, 86_400_000, T0, T0 + 999, 951_782_400_000,
         4_102_444_799_999, 2**31 * 1000 - 1, 2**32 * 1000 - 1, 2**32 * 1000, 2**33 * 1000 + 123,
         253_402_300_799_999, -1, -999, -1000, -86_400_001]


def _same(fast: Any, before: Any, ms: int) -> None:
    try:
        expected = before(ms)
    except (ValueError, OverflowError, OSError) as exc:
        try:
            fast(ms)
        except type(exc):
            return
        raise AssertionError(f"{ms}: the old formatting raised {type(exc).__name__}") from None
    assert fast(ms) == expected, ms


def test_timestamps_read_as_before_at_the_edges() -> None:
    for ms in EDGES:
        _same(conductor.iso, _conductor_before, ms)
        _same(altostrat_iso, _altostrat_before, ms)


@given(st.one_of(st.integers(min_value=0, max_value=FAST_RANGE_END_MS + 10**6),  # the range written fast
                 st.integers(min_value=-10**13, max_value=3 * 10**14)))
def test_timestamps_read_as_before(ms: int) -> None:
    _same(conductor.iso, _conductor_before, ms)
    _same(altostrat_iso, _altostrat_before, ms)


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    GOLDEN.write_bytes(orjson.dumps(answers(), option=orjson.OPT_INDENT_2) + b"\n")
