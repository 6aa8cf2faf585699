"""The unified engine: the Backend every dialect talks to when a route points at the embedded engine.

A façade: each operation is one call into the module that implements it (ops_*.py, tasks.py), on the
``Runtime`` that runs units of work and wakes what a commit made runnable (runtime.py).  Adapters plug
their vocabulary in through the ``register_*`` methods (hooks.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from wfgateway.core.model import Execution, Page, RetryPolicy, TaskAttempt, WorkflowDefinition
from wfgateway.core.statuses import ExecutionStatus, TaskStatus
from wfgateway.engine import (
    ops_control,
    ops_definitions,
    ops_executions,
    ops_read,
    ops_replay,
    ops_retry,
    ops_watch,
    tasks,
)
from wfgateway.engine.hooks import Evaluator, Expander, FailureInput, Listener, SecretResolver
from wfgateway.engine.http_task import HttpRunner
from wfgateway.engine.ops_read import Awaited
from wfgateway.engine.runtime import Runtime
from wfgateway.engine.sandbox import copy_children, new_store, share_hooks
from wfgateway.engine.store.base import Store


class Engine:
    name = "engine"

    def __init__(
        self, store: Store, *, http_allow: list[str] | None = None, http_timeout_ms: int = 30000,
        worker_lease_ms: int = 60000, recover_inflight: bool | None = None, close_store: bool = True,
        definition_cache: int = 512,
    ) -> None:
        self._rt = Runtime(
            store, http_allow=http_allow, http_timeout_ms=http_timeout_ms, worker_lease_ms=worker_lease_ms,
            recover_inflight=store.single_process if recover_inflight is None else recover_inflight,
            definition_cache=definition_cache,
        )
        self.close_store = close_store
        self._started = False

    @property
    def store(self) -> Store:
        return self._rt.store

    @property
    def http(self) -> HttpRunner:
        return self._rt.http

    # -- registration ------------------------------------------------------------------------
    def register_expander(self, dialect: str, fn: Expander) -> None:
        self._rt.hooks.expanders[dialect] = fn

    def register_evaluator(self, name: str, fn: Evaluator) -> None:
        """``fn(resolved_params, data) -> value`` for compute tasks, switch values and loop conditions
        whose params name it (``params["evaluator"]``); it raises EvaluationFailed to fail the task.
        It runs inside the decider, so it must bound its own time."""
        self._rt.hooks.evaluators[name] = fn

    def register_failure_input(self, dialect: str, fn: FailureInput) -> None:
        """``fn(failed_execution) -> input`` of the on_failure workflow of the dialect's definitions
        (the execution comes with its attempts; treat it as read-only)."""
        self._rt.hooks.failure_inputs[dialect] = fn

    def register_secret_resolver(self, fn: SecretResolver) -> None:
        self._rt.hooks.secret_resolvers.append(fn)

    def register_listener(self, fn: Listener) -> None:
        self._rt.hooks.listeners.append(fn)

    async def resolve_secret(self, tenant: str, name: str) -> str | None:
        return await self._rt.hooks.resolve_secret(tenant, name)

    # -- lifecycle ---------------------------------------------------------------------------
    async def startup(self) -> None:
        """Open the store (migrations), start the timer loop, re-dispatch work a stopped process left."""
        if self._started:
            return
        await self.store.open()
        self._started = True
        await self._rt.start()

    async def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        await self._rt.close(close_store=self.close_store)

    # -- definitions -------------------------------------------------------------------------
    async def put_definition(self, definition: WorkflowDefinition, *, overwrite: bool = True) -> WorkflowDefinition:
        return await ops_definitions.put(self._rt, definition, overwrite)

    async def check_definition(self, definition: WorkflowDefinition) -> None:
        """DefinitionChecks.check_definition: the checks ``put_definition`` makes, storing nothing."""
        ops_definitions.check(definition)

    async def get_definition(self, tenant: str, name: str, version: int | str | None = None) -> WorkflowDefinition:
        return await ops_definitions.get(self._rt, tenant, name, version)

    async def list_definitions(self, tenant: str, name: str | None = None, *, cursor: str | None = None,
                               limit: int = 1000) -> Page:
        return await ops_definitions.list_page(self._rt, tenant, name, cursor, limit)

    async def delete_definition(self, tenant: str, name: str, version: int | str | None = None) -> None:
        await ops_definitions.delete(self._rt, tenant, name, version)

    # -- executions --------------------------------------------------------------------------
    async def start(
        self, tenant: str, name: str | None = None, version: int | str | None = None,
        input: dict[str, Any] | None = None, *,
        correlation_id: str | None = None, metadata: dict[str, Any] | None = None, execution_id: str | None = None,
        idempotency_key: str | None = None, idempotency_strategy: str = "fail", priority: int = 0,
        dialect: str = "", definition: WorkflowDefinition | None = None,
    ) -> Execution:
        """Backend.start: create and start an execution (the engine's own start-up is ``startup``)."""
        return await ops_executions.start(
            self._rt, tenant, name, version, input, correlation_id=correlation_id, metadata=metadata,
            execution_id=execution_id, idempotency_key=idempotency_key, idempotency_strategy=idempotency_strategy,
            priority=priority, dialect=dialect, definition=definition,
        )

    async def get(self, execution_id: str, *, tenant: str | None = None, include_history: bool = False) -> Execution:
        return await ops_read.get(self._rt, execution_id, tenant, include_history)

    async def get_if_changed(self, execution_id: str, known: tuple[int, int] | None, *,
                             tenant: str | None = None) -> Execution | None:
        """VersionedReads: None while the execution's (created_ms, row_version) equals ``known``."""
        return await ops_read.get_if_changed(self._rt, execution_id, known, tenant)

    async def search(
        self, tenant: str, *, name: str | None = None, version: int | str | None = None,
        statuses: list[ExecutionStatus] | None = None, correlation_id: str | None = None,
        created_from_ms: int | None = None, created_to_ms: int | None = None,
        parent_execution_id: str | None = None, cursor: str | None = None, limit: int = 100,
        newest_first: bool = True, count: bool = True, dialect: str | None = None,
        workflows: list[tuple[str, str | None]] | None = None, skip: int = 0,
    ) -> Page:
        """A keyset page of the tenant's runs; every filter (``dialect`` too: the web console's) walks an
        index, so a page costs the same at 10^3 and 10^6 stored runs."""
        return await ops_read.search(
            self._rt, tenant, name=name, version=version, statuses=statuses, correlation_id=correlation_id,
            created_from_ms=created_from_ms, created_to_ms=created_to_ms, parent_execution_id=parent_execution_id,
            cursor=cursor, limit=limit, newest_first=newest_first, count=count, dialect=dialect, workflows=workflows,
            skip=skip,
        )

    async def search_ids(
        self, tenant: str, *, name: str | None = None, version: int | str | None = None,
        statuses: list[ExecutionStatus] | None = None, created_from_ms: int | None = None,
        created_to_ms: int | None = None,
    ) -> list[str]:
        """IdSearch.search_ids: read from an index alone, no run decoded."""
        return await ops_read.search_ids(self._rt, tenant, name=name, version=version, statuses=statuses,
                                         created_from_ms=created_from_ms, created_to_ms=created_to_ms)

    async def count(
        self, tenant: str, *, name: str | None = None, statuses: list[ExecutionStatus] | None = None,
        created_from_ms: int | None = None, created_to_ms: int | None = None,
    ) -> int:
        """ExactCounts.count: a sum of the run counts the store keeps, whatever the number of runs."""
        return await ops_read.count(self._rt, tenant, name=name, statuses=statuses, created_from_ms=created_from_ms,
                                    created_to_ms=created_to_ms)

    async def terminate(self, execution_id: str, reason: str | None = None, *, tenant: str | None = None) -> Execution:
        return await ops_executions.terminate(self._rt, execution_id, reason, tenant)

    async def watch_execution(self, execution_id: str) -> None:
        """Publish the changes of a running execution and of its sub-workflows to every replica from
        now on (engine/watched.py): what a caller does before it waits on one not started watched."""
        await ops_watch.watch_execution(self._rt, execution_id)

    async def delete_execution(self, execution_id: str, *, tenant: str | None = None) -> None:
        """Backend.delete_execution (see ops_executions.delete)."""
        await ops_executions.delete(self._rt, execution_id, tenant)

    async def pause(self, execution_id: str, *, tenant: str | None = None) -> Execution:
        return await ops_executions.pause(self._rt, execution_id, tenant)

    async def resume(self, execution_id: str, *, tenant: str | None = None) -> Execution:
        return await ops_executions.resume(self._rt, execution_id, tenant)

    async def rerun(self, execution_id: str, *, tenant: str | None = None, from_task_id: str | None = None,
                    task_input: dict[str, Any] | None = None, workflow_input: dict[str, Any] | None = None,
                    correlation_id: str | None = None) -> Execution:
        return await ops_replay.rerun(self._rt, execution_id, tenant, from_task_id, task_input, workflow_input,
                                      correlation_id)

    async def retry(self, execution_id: str, policy: RetryPolicy, *, tenant: str | None = None) -> Execution:
        return await ops_retry.retry(self._rt, execution_id, policy, tenant)

    async def restart(self, execution_id: str, *, tenant: str | None = None,
                      use_latest_definition: bool = False) -> Execution:
        return await ops_replay.restart(self._rt, execution_id, tenant, use_latest_definition)

    async def clone(self, execution_id: str, *, tenant: str | None = None, resume_from_ref: str | None = None,
                    execution_id_new: str | None = None, input: dict[str, Any] | None = None) -> Execution:
        return await ops_replay.clone(self._rt, execution_id, tenant, resume_from_ref, execution_id_new, input)

    async def skip_task(self, execution_id: str, ref: str, *, tenant: str | None = None,
                        input: dict[str, Any] | None = None, output: dict[str, Any] | None = None) -> Execution:
        """TaskControl.skip_task: ``ref``, not scheduled yet, becomes SKIPPED and the run goes on past it."""
        return await ops_control.skip_task(self._rt, execution_id, ref, tenant, input, output)

    async def reset_callbacks(self, execution_id: str, *, tenant: str | None = None) -> list[str]:
        """TaskControl.reset_callbacks: delayed queued worker tasks become pollable now."""
        return await ops_control.reset_callbacks(self._rt, execution_id, tenant)

    async def set_variables(self, execution_id: str, variables: dict[str, Any], *,
                            tenant: str | None = None) -> Execution:
        """VariableControl.set_variables: merged into a running execution's variables."""
        return await ops_control.set_variables(self._rt, execution_id, variables, tenant)

    @asynccontextmanager
    async def sandbox(self, definition: WorkflowDefinition) -> AsyncIterator[Engine]:
        """Sandboxes.sandbox: a private engine in memory for runs of ``definition`` that the gateway
        never stores (engine/sandbox.py); closed, with everything run in it, on leaving."""
        box = Engine(new_store(), http_allow=[], worker_lease_ms=self._rt.worker_lease_ms, recover_inflight=False)
        box._rt.dispatch_http = False  # HTTP tasks wait for complete_task, as worker tasks do
        share_hooks(self._rt.hooks, box._rt.hooks)
        await box.startup()
        try:
            await copy_children(self, box, definition)
            yield box
        finally:
            await box.stop()

    # -- tasks -------------------------------------------------------------------------------
    async def poll(self, tenant: str, task_name: str, *, worker_id: str | None = None, count: int = 1,
                   timeout_ms: int = 0, lease_ms: int | None = None, domain: str | None = None) -> list[TaskAttempt]:
        return await tasks.poll(self._rt, tenant, task_name, worker_id, count, timeout_ms, lease_ms, domain)

    async def queue_sizes(self, tenant: str) -> dict[str, int]:
        """How many tasks of each worker task name wait to be polled, its domains together (names with
        none are left out)."""
        return _per_name(await self.domain_queue_sizes(tenant))

    async def queue_leased(self, tenant: str) -> dict[str, int]:
        """How many tasks of each worker task name are polled and not finished (names with none are left out)."""
        return _per_name(await self.domain_queue_leased(tenant))

    async def domain_queue_sizes(self, tenant: str) -> dict[tuple[str, str | None], int]:
        """How many tasks wait to be polled in each (task name, domain) queue (None: no domain)."""
        return {(str(n), None if d is None else str(d)): int(c) for n, d, c in await self._rt.store.queue_sizes(tenant)}

    async def domain_queue_leased(self, tenant: str) -> dict[tuple[str, str | None], int]:
        """How many polled, unfinished tasks each (task name, domain) queue has (None: no domain)."""
        return {(str(n), None if d is None else str(d)): int(c) for n, d, c in await self._rt.store.queue_leased(tenant)}

    async def search_tasks(
        self, tenant: str, *, name: str | None = None, statuses: list[TaskStatus] | None = None,
        execution_ids: list[str] | None = None, task_ids: list[str] | None = None,
        scheduled_from_ms: int | None = None, scheduled_to_ms: int | None = None,
        cursor: str | None = None, limit: int = 100, newest_first: bool = True, count: bool = True,
    ) -> Page:
        """TaskSearch.search_tasks: a keyset page of visible task attempts; each filter walks an index."""
        return await ops_read.search_tasks(
            self._rt, tenant, name=name, statuses=statuses, execution_ids=execution_ids, task_ids=task_ids,
            scheduled_from_ms=scheduled_from_ms, scheduled_to_ms=scheduled_to_ms, cursor=cursor, limit=limit,
            newest_first=newest_first, count=count)

    async def complete_task(
        self, task_id: str, status: TaskStatus, *, tenant: str | None = None, execution_id: str | None = None,
        output: dict[str, Any] | None = None, reason: str | None = None, worker_id: str | None = None,
        extend_lease: bool = False, callback_after_ms: int = 0, logs: list[str] | None = None,
    ) -> TaskAttempt:
        return await tasks.complete(self._rt, task_id, status, tenant, execution_id, output, reason, worker_id,
                                    extend_lease, callback_after_ms, logs)

    async def get_task(self, task_id: str, *, tenant: str | None = None) -> TaskAttempt:
        return await tasks.get_task(self._rt, task_id, tenant)

    async def add_task_log(self, task_id: str, message: str, *, tenant: str | None = None) -> None:
        await tasks.add_log(self._rt, task_id, message, tenant)

    # -- test and adapter helper -------------------------------------------------------------
    async def wait_until(self, execution_id: str, predicate_or_statuses: Awaited, timeout_s: float = 10.0, *,
                         include_history: bool = False) -> Execution:
        """Wait until the execution satisfies ``predicate_or_statuses`` (a callable on Execution, a status
        or a collection of statuses); TimeoutError naming the last status otherwise."""
        return await ops_read.wait_until(self._rt, execution_id, predicate_or_statuses, timeout_s, include_history)


def _per_name(by_queue: dict[tuple[str, str | None], int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for (name, _domain), count in by_queue.items():
        out[name] = out.get(name, 0) + count
    return out
