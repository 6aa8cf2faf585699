"""The unified engine: the Backend every dialect talks to when a route points at the embedded engine.

Every operation is one unit of work (``unit.Unit``): read, decide in memory, commit one transaction
checked by ``row_version``; on a conflict the operation is re-run from a fresh read.  After a commit the
engine wakes what the commit made runnable: long-polling workers, HTTP tasks, the timer loop, waiters
and listeners.  Nothing is acknowledged before it is committed.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from wfgateway.core.errors import Conflict, InvalidArgument, NotFound
from wfgateway.core.model import Execution, Page, RetryPolicy, TaskAttempt, TaskSpec, WorkflowDefinition
from wfgateway.core.statuses import ExecutionStatus, TaskStatus
from wfgateway.engine import events, ops_replay, ops_retry, tasks
from wfgateway.engine.codec import definition_from_dict, definition_to_dict
from wfgateway.engine.decider import cancel_open, end_execution
from wfgateway.engine.http_task import HttpRunner
from wfgateway.engine.state import ExecRec, ExecState
from wfgateway.engine.store.base import (
    EXEC_COLS,
    ClaimLost,
    DuplicateKey,
    SearchFilter,
    Store,
    VersionConflict,
)
from wfgateway.engine.timers import TimerLoop
from wfgateway.engine.unit import Unit
from wfgateway.engine.util import Signal, dumps, loads, new_id, now_ms
from wfgateway.engine.validation import validate_definition

log = logging.getLogger("wfgateway.engine")
Expander = Callable[[dict[str, Any], TaskSpec, Execution], list[TaskSpec]]
Evaluator = Callable[[dict[str, Any], Any], Any]
FailureInput = Callable[[Execution], dict[str, Any]]
SecretResolver = Callable[[str, str], "str | None"]
_DEF_HASH = EXEC_COLS.index("def_hash")


def _digest(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()[:32]


def _vnum(version: int | str) -> int | None:
    if isinstance(version, bool):
        return None
    if isinstance(version, int):
        return version
    return int(version) if isinstance(version, str) and version.isdigit() and len(version) < 18 else None


class Engine:
    name = "engine"

    def __init__(
        self, store: Store, *, http_allow: list[str] | None = None, http_timeout_ms: int = 30000,
        worker_lease_ms: int = 60000, recover_inflight: bool | None = None, close_store: bool = True,
    ) -> None:
        self.store = store
        self.http_timeout_ms = http_timeout_ms
        self.worker_lease_ms = worker_lease_ms
        self.recover_inflight = store.single_process if recover_inflight is None else recover_inflight
        self.close_store = close_store
        self.instance_id = new_id()
        self._expanders: dict[str, Expander] = {}
        self._evaluators: dict[str, Evaluator] = {}
        self._failure_inputs: dict[str, FailureInput] = {}
        self._secret_resolvers: list[SecretResolver] = []
        self._listeners: list[Callable[[events.EngineEvent], Any]] = []
        self._snapshots: dict[str, WorkflowDefinition] = {}
        self._known_snapshots: set[str] = set()
        self._bodies: dict[str, tuple[str, WorkflowDefinition]] = {}
        self._queues: dict[tuple[str, str], Signal] = {}
        self._watchers: dict[str, Signal] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self.http = HttpRunner(self, http_allow if http_allow is not None else ["127.0.0.0/8", "::1/128", "localhost"],
                               http_timeout_ms)
        self.timers = TimerLoop(self)
        self._started = False

    # -- registration ------------------------------------------------------------------------
    def register_expander(self, dialect: str, fn: Expander) -> None:
        self._expanders[dialect] = fn

    def register_evaluator(self, name: str, fn: Evaluator) -> None:
        """``fn(resolved_params, data) -> value`` for compute tasks, switch values and loop conditions
        whose params name it (``params["evaluator"]``); it raises EvaluationFailed to fail the task.
        It runs inside the decider, so it must bound its own time."""
        self._evaluators[name] = fn

    def register_failure_input(self, dialect: str, fn: FailureInput) -> None:
        """``fn(failed_execution) -> input`` of the on_failure workflow of the dialect's definitions
        (the execution comes with its attempts; treat it as read-only)."""
        self._failure_inputs[dialect] = fn

    def register_secret_resolver(self, fn: SecretResolver) -> None:
        self._secret_resolvers.append(fn)

    def register_listener(self, fn: Callable[[events.EngineEvent], Any]) -> None:
        self._listeners.append(fn)

    def resolve_secret(self, tenant: str, name: str) -> str | None:
        for fn in self._secret_resolvers:
            got = fn(tenant, name)
            if got is not None:
                return got
        return None

    # -- lifecycle ---------------------------------------------------------------------------
    async def startup(self) -> None:
        """Open the store (migrations), start the timer loop, re-dispatch work a stopped process left.
        ``await engine.start()`` with no arguments does the same."""
        if self._started:
            return
        await self.store.open()
        self._started = True
        await self.http.open()
        self.timers.start()
        await self.http.recover()

    async def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        await self.timers.stop()
        for t in list(self._background):
            t.cancel()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        await self.http.close()
        if self.close_store:
            await self.store.close()

    def spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- the unit-of-work runner -------------------------------------------------------------
    async def run(self, op: Callable[[Unit], Awaitable[Any]], *, attempts: int = 60) -> Any:
        """Run ``op`` in a unit of work, settle, commit; re-run it from scratch on a version conflict.
        If ``op`` returns a callable, its result (computed after settling) is returned."""
        for n in range(attempts):
            unit = Unit(self)
            try:
                result = await op(unit)
                await unit.settle()
                cs = unit.changeset()
                if not cs.empty():
                    await self.store.commit(cs)
            except VersionConflict:
                await asyncio.sleep(0 if n < 3 else min(0.001 * n, 0.02))
                continue
            except ClaimLost:
                return None
            self.after_commit(unit)
            return result() if callable(result) else result
        raise Conflict("The execution is being changed concurrently; try again", details={"reason": "contention"})

    def after_commit(self, unit: Unit) -> None:
        earliest: int | None = None
        for st in unit.states.values():
            if st.removed:
                self.changed(st.e.id)  # waiters see it gone
                continue
            for key in st.dispatch:
                self.spawn(self.http.run(key))
            for q in st.notify:
                self.notify_queue(*q)
            for t in st.timers:
                if earliest is None or t[0] < earliest:
                    earliest = t[0]
            sig = self._watchers.pop(st.e.id, None)
            if sig is not None:
                sig.fire()
        if earliest is not None:
            self.timers.arm(earliest)
        if self._listeners:
            events.deliver(self._listeners, events.collect(unit))

    def notify_queue(self, tenant: str, name: str) -> None:
        sig = self._queues.pop((tenant, name), None)
        if sig is not None:
            sig.fire()

    def queue_signal(self, tenant: str, name: str) -> Signal:
        sig = self._queues.get((tenant, name))
        if sig is None:
            sig = self._queues[(tenant, name)] = Signal()
        return sig

    def changed(self, execution_id: str) -> None:
        sig = self._watchers.pop(execution_id, None)
        if sig is not None:
            sig.fire()

    # -- definitions -------------------------------------------------------------------------
    async def snapshot(self, digest: str) -> WorkflowDefinition:
        d = self._snapshots.get(digest)
        if d is None:
            body = await self.store.snapshot_get(digest)
            if body is None:
                raise NotFound(f"Definition snapshot {digest} is missing")
            d = definition_from_dict(loads(body))
            self._snapshots[digest] = d
            self._known_snapshots.add(digest)
        return d

    def _from_body(self, body: str) -> tuple[str, WorkflowDefinition]:
        got = self._bodies.get(body)
        if got is None:
            digest = _digest(body)
            d = self._snapshots.get(digest) or definition_from_dict(loads(body))
            self._snapshots[digest] = d
            if len(self._bodies) > 4096:
                self._bodies.clear()
            got = self._bodies[body] = (digest, d)
        return got

    def register_snapshot(self, unit: Unit, body: str) -> tuple[str, WorkflowDefinition]:
        digest, d = self._from_body(body)
        if digest not in self._known_snapshots:
            unit.snapshots.append((digest, body))
            self._known_snapshots.add(digest)  # harmless if the commit fails: inserts are idempotent
        return digest, d

    async def _definition_body(self, tenant: str, name: str, version: int | str | None) -> str:
        body = await self.store.def_get(tenant, name, None if version is None else str(version))
        if body is None:
            what = f"{name}" if version is None else f"{name} version {version}"
            raise NotFound(f"No such workflow definition: {what}")
        return body

    async def child_definition(self, parent: ExecState, params: dict[str, Any], unit: Unit
                               ) -> tuple[WorkflowDefinition, str]:
        inline = params.get("definition")
        if isinstance(inline, dict):
            d = definition_from_dict({"tenant": parent.e.tenant, "version": 1, **inline})
            validate_definition(d)
            body = dumps(definition_to_dict(d))
        else:
            body = await self._definition_body(parent.e.tenant, str(params.get("name")), params.get("version"))
        digest, d = self.register_snapshot(unit, body)
        return d, digest

    async def put_definition(self, definition: WorkflowDefinition, *, overwrite: bool = True) -> WorkflowDefinition:
        validate_definition(definition)
        now = now_ms()
        existing = await self.store.def_get(definition.tenant, definition.name, str(definition.version))
        if existing is not None and not overwrite:
            raise Conflict(f"Workflow {definition.name} version {definition.version} already exists")
        created = loads(existing).get("created_ms", now) if existing else now
        d = WorkflowDefinition(**{**definition.__dict__, "created_ms": created, "updated_ms": now})
        d.__dict__.pop("_wfg_graph", None)
        body = dumps(definition_to_dict(d))
        try:
            await self.store.def_put(d.tenant, d.name, str(d.version), _vnum(d.version), body, now, overwrite)
        except DuplicateKey:
            raise Conflict(f"Workflow {d.name} version {d.version} already exists") from None
        return definition_from_dict(loads(body))

    async def get_definition(self, tenant: str, name: str, version: int | str | None = None) -> WorkflowDefinition:
        return definition_from_dict(loads(await self._definition_body(tenant, name, version)))

    async def list_definitions(self, tenant: str, name: str | None = None, *, cursor: str | None = None,
                               limit: int = 1000) -> Page:
        offset = _decode_offset(cursor)
        bodies, total = await self.store.def_list(tenant, name, offset, limit)
        nxt = str(offset + limit) if offset + len(bodies) < total and bodies else None
        return Page([definition_from_dict(loads(b)) for b in bodies], _encode(nxt) if nxt else None, total)

    async def delete_definition(self, tenant: str, name: str, version: int | str | None = None) -> None:
        if await self.store.def_delete(tenant, name, None if version is None else str(version)) == 0:
            what = f"{name}" if version is None else f"{name} version {version}"
            raise NotFound(f"No such workflow definition: {what}")

    # -- executions --------------------------------------------------------------------------
    async def start(  # type: ignore[override]
        self, tenant: str | None = None, name: str | None = None, version: int | str | None = None,
        input: dict[str, Any] | None = None, *,
        correlation_id: str | None = None, metadata: dict[str, Any] | None = None, execution_id: str | None = None,
        idempotency_key: str | None = None, idempotency_strategy: str = "fail", priority: int = 0,
        dialect: str = "", definition: WorkflowDefinition | None = None,
    ) -> Execution:
        """Backend.start: create and start an execution.  Called with no arguments at all it is the
        engine's own start-up (``startup``)."""
        if tenant is None and name is None and definition is None:
            await self.startup()
            return None  # type: ignore[return-value]
        if tenant is None or (name is None and definition is None):
            raise InvalidArgument("start needs a tenant and a workflow name")
        if input is not None and not isinstance(input, dict):
            raise InvalidArgument("The workflow input must be a JSON object")
        if idempotency_strategy not in ("fail", "return_existing"):
            raise InvalidArgument(f"Unknown idempotency strategy '{idempotency_strategy}'")
        if definition is not None:
            validate_definition(definition)
            body = dumps(definition_to_dict(definition))
        else:
            body = await self._definition_body(tenant, name or "", version)
        if idempotency_key:
            existing = await self._by_key(tenant, idempotency_key, idempotency_strategy)
            if existing is not None:
                return existing

        async def op(unit: Unit) -> Any:
            digest, d = self.register_snapshot(unit, body)
            st = unit.new_execution(
                tenant=tenant, definition=d, def_hash=digest, input=input or {}, execution_id=execution_id,
                correlation_id=correlation_id, metadata=metadata, dialect=dialect, priority=priority,
                idempotency_key=idempotency_key or None,
            )
            return st.execution

        try:
            return await self.run(op)  # type: ignore[no-any-return]
        except DuplicateKey:
            if idempotency_key:
                existing = await self._by_key(tenant, idempotency_key, idempotency_strategy)
                if existing is not None:
                    return existing
            raise Conflict(f"Execution {execution_id} already exists") from None

    async def _by_key(self, tenant: str, key: str, strategy: str) -> Execution | None:
        row = await self.store.exec_by_idempotency(tenant, key)
        if row is None:
            return None
        if strategy == "fail":
            raise Conflict(f"An execution with idempotency key '{key}' already exists",
                           details={"execution_id": row[0], "reason": "duplicate_idempotency_key"})
        return await self.get(row[0], tenant=tenant)

    async def load_for(self, unit: Unit, execution_id: str, tenant: str | None, *,
                       include_hidden: bool = False, attempts: bool = True) -> ExecState:
        st = await unit.load(execution_id, include_hidden=include_hidden, attempts=attempts)
        if st is None or (tenant is not None and st.e.tenant != tenant):
            raise NotFound("No such execution", details={"execution_id": execution_id})
        return st

    async def get(self, execution_id: str, *, tenant: str | None = None, include_history: bool = False) -> Execution:
        unit = Unit(self)
        st = await self.load_for(unit, execution_id, tenant, include_hidden=include_history)
        return st.execution(include_history)

    async def search(
        self, tenant: str, *, name: str | None = None, version: int | str | None = None,
        statuses: list[ExecutionStatus] | None = None, correlation_id: str | None = None,
        created_from_ms: int | None = None, created_to_ms: int | None = None,
        parent_execution_id: str | None = None, cursor: str | None = None, limit: int = 100,
        newest_first: bool = True,
    ) -> Page:
        if limit <= 0:
            raise InvalidArgument("limit must be positive")
        flt = SearchFilter(
            tenant=tenant, name=name, def_version=None if version is None else str(version),
            statuses=[str(s) for s in statuses] if statuses else None, correlation_id=correlation_id,
            created_from_ms=created_from_ms, created_to_ms=created_to_ms, parent_execution_id=parent_execution_id,
        )
        rows, total = await self.store.exec_search(flt, _decode_position(cursor), limit + 1, newest_first)
        more = len(rows) > limit
        rows = rows[:limit]
        items = []
        for row in rows:
            items.append(ExecRec.from_row(row, await self.snapshot(row[_DEF_HASH])).e)
        nxt = _encode(f"{items[-1].created_ms}|{items[-1].id}") if more and items else None
        return Page(items, nxt, total)

    async def terminate(self, execution_id: str, reason: str | None = None, *, tenant: str | None = None) -> Execution:
        async def op(unit: Unit) -> Any:
            st = await self.load_for(unit, execution_id, tenant)
            s = st.e.status
            if s is ExecutionStatus.COMPLETED:
                raise Conflict(f"Execution {execution_id} is COMPLETED and cannot be terminated",
                               details={"status": s.value})
            if s is not ExecutionStatus.TERMINATED:
                cancel_open(st, unit)
                end_execution(st, unit, ExecutionStatus.TERMINATED, reason)
            return st.execution

        return await self.run(op)  # type: ignore[no-any-return]

    async def delete_execution(self, execution_id: str, *, tenant: str | None = None) -> None:
        """Backend.delete_execution: the execution, its attempts (with their logs) and its timers go in
        one transaction.  A running one is terminated in that same transaction first, so its running
        children are terminated and a waiting parent's sub-workflow task is settled, exactly as a
        terminate would; those executions stay (each is removed by its own id)."""

        async def op(unit: Unit) -> Any:
            st = await self.load_for(unit, execution_id, tenant)
            if not st.e.status.terminal:
                cancel_open(st, unit)
                end_execution(st, unit, ExecutionStatus.TERMINATED, "Removed")
            unit.remove(st)
            return None

        await self.run(op)

    async def pause(self, execution_id: str, *, tenant: str | None = None) -> Execution:
        async def op(unit: Unit) -> Any:
            st = await self.load_for(unit, execution_id, tenant)
            s = st.e.status
            if s.terminal:
                raise Conflict(f"Execution {execution_id} is {s.value} and cannot be paused", details={"status": s.value})
            st.e.status = ExecutionStatus.PAUSED
            return st.execution

        return await self.run(op)  # type: ignore[no-any-return]

    async def resume(self, execution_id: str, *, tenant: str | None = None) -> Execution:
        async def op(unit: Unit) -> Any:
            st = await self.load_for(unit, execution_id, tenant)
            s = st.e.status
            if s is not ExecutionStatus.PAUSED:
                raise Conflict(f"Execution {execution_id} is {s.value}, not PAUSED", details={"status": s.value})
            st.e.status = ExecutionStatus.RUNNING
            st.needs_decide = True
            return st.execution

        return await self.run(op)  # type: ignore[no-any-return]

    async def rerun(self, execution_id: str, *, tenant: str | None = None, from_task_id: str | None = None,
                    task_input: dict[str, Any] | None = None, workflow_input: dict[str, Any] | None = None,
                    correlation_id: str | None = None) -> Execution:
        return await ops_replay.rerun(self, execution_id, tenant, from_task_id, task_input, workflow_input,
                                      correlation_id)

    async def retry(self, execution_id: str, policy: RetryPolicy, *, tenant: str | None = None) -> Execution:
        return await ops_retry.retry(self, execution_id, policy, tenant)

    async def restart(self, execution_id: str, *, tenant: str | None = None,
                      use_latest_definition: bool = False) -> Execution:
        return await ops_replay.restart(self, execution_id, tenant, use_latest_definition)

    async def clone(self, execution_id: str, *, tenant: str | None = None, resume_from_ref: str | None = None,
                    execution_id_new: str | None = None, input: dict[str, Any] | None = None) -> Execution:
        return await ops_replay.clone(self, execution_id, tenant, resume_from_ref, execution_id_new, input)

    # -- tasks -------------------------------------------------------------------------------
    async def poll(self, tenant: str, task_name: str, *, worker_id: str | None = None, count: int = 1,
                   timeout_ms: int = 0, lease_ms: int | None = None, domain: str | None = None) -> list[TaskAttempt]:
        return await tasks.poll(self, tenant, task_name, worker_id, count, timeout_ms, lease_ms, domain)

    async def complete_task(
        self, task_id: str, status: TaskStatus, *, tenant: str | None = None, execution_id: str | None = None,
        output: dict[str, Any] | None = None, reason: str | None = None, worker_id: str | None = None,
        extend_lease: bool = False, callback_after_ms: int = 0, logs: list[str] | None = None,
    ) -> TaskAttempt:
        return await tasks.complete(self, task_id, status, tenant, execution_id, output, reason, worker_id,
                                    extend_lease, callback_after_ms, logs)

    async def get_task(self, task_id: str, *, tenant: str | None = None) -> TaskAttempt:
        return await tasks.get_task(self, task_id, tenant)

    async def add_task_log(self, task_id: str, message: str, *, tenant: str | None = None) -> None:
        await tasks.add_log(self, task_id, message, tenant)

    # -- test and adapter helper -------------------------------------------------------------
    async def wait_until(
        self, execution_id: str, predicate_or_statuses: Any, timeout_s: float = 10.0, *,
        include_history: bool = False,
    ) -> Execution:
        """Wait until the execution satisfies ``predicate_or_statuses`` (a callable on Execution, a status
        or a collection of statuses); TimeoutError naming the last status otherwise."""
        if callable(predicate_or_statuses):
            pred = predicate_or_statuses
        else:
            wanted = ({str(predicate_or_statuses)} if isinstance(predicate_or_statuses, str)
                      else {str(s) for s in predicate_or_statuses})

            def pred(e: Execution) -> bool:
                return str(e.status) in wanted

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            sig = self._watchers.get(execution_id)
            if sig is None:
                sig = self._watchers[execution_id] = Signal()
            fut = sig.waiter()
            try:
                e = await self.get(execution_id, include_history=include_history)
            except BaseException:
                sig.discard(fut)
                raise
            if pred(e):
                sig.discard(fut)
                return e
            remaining = deadline - loop.time()
            if remaining <= 0:
                sig.discard(fut)
                raise TimeoutError(f"execution {execution_id} still {e.status} after {timeout_s}s")
            await sig.wait(fut, min(remaining, 0.5))


def _encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except Exception:
        raise InvalidArgument("Malformed cursor") from None


def _decode_offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    text = _decode(cursor)
    if not text.isdigit():
        raise InvalidArgument("Malformed cursor")
    return int(text)


def _decode_position(cursor: str | None) -> tuple[int, str] | None:
    if not cursor:
        return None
    text = _decode(cursor)
    created, sep, eid = text.partition("|")
    if not sep or not created.isdigit():
        raise InvalidArgument("Malformed cursor")
    return int(created), eid
