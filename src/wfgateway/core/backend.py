"""The operations every backend offers: the embedded engine, or an upstream vendor through an adapter's client half.

Dialect handlers call these, never a concrete backend, so that config.yaml can route a call to the
engine or to any vendor.  A backend that cannot express an operation (or one of its arguments)
raises ``NotImplementedByBackend`` naming what cannot be translated; it never drops a field.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, runtime_checkable

from wfgateway.core.model import Execution, Page, RetryPolicy, TaskAttempt, WorkflowDefinition
from wfgateway.core.statuses import ExecutionStatus, TaskStatus


class Backend(Protocol):
    name: str

    # -- definitions -------------------------------------------------------------------------
    async def put_definition(self, definition: WorkflowDefinition, *, overwrite: bool = True) -> WorkflowDefinition:
        """Store a definition version.  Conflict if it exists and ``overwrite`` is False;
        InvalidArgument for cycles, unknown refs, unknown kinds or templates that point nowhere."""

    async def get_definition(self, tenant: str, name: str, version: int | str | None = None) -> WorkflowDefinition:
        """The given version, or the latest when ``version`` is None.  NotFound otherwise."""

    async def list_definitions(
        self, tenant: str, name: str | None = None, *, cursor: str | None = None, limit: int = 1000
    ) -> Page:
        """Definitions (every version), oldest first, optionally of one name."""

    async def delete_definition(self, tenant: str, name: str, version: int | str | None = None) -> None:
        """Delete one version, or every version when ``version`` is None.  NotFound if none."""

    # -- executions --------------------------------------------------------------------------
    async def start(
        self,
        tenant: str,
        name: str,
        version: int | str | None,
        input: dict[str, Any],
        *,
        correlation_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        execution_id: str | None = None,
        idempotency_key: str | None = None,
        idempotency_strategy: str = "fail",
        priority: int = 0,
        dialect: str = "",
        definition: WorkflowDefinition | None = None,
    ) -> Execution:
        """Create and start an execution, committed before this returns.

        ``execution_id`` lets the dialect choose the id format.  With ``idempotency_key`` a second
        start with the same key and tenant never creates a second execution: strategy ``fail``
        raises Conflict, ``return_existing`` returns the first execution.  ``definition`` runs an
        inline definition that is not stored.
        """

    async def get(self, execution_id: str, *, tenant: str | None = None, include_history: bool = False) -> Execution:
        """The execution with its visible task attempts (and superseded ones with
        ``include_history``).  NotFound if unknown or of another tenant."""

    async def search(
        self,
        tenant: str,
        *,
        name: str | None = None,
        version: int | str | None = None,
        statuses: list[ExecutionStatus] | None = None,
        correlation_id: str | None = None,
        created_from_ms: int | None = None,
        created_to_ms: int | None = None,
        parent_execution_id: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
        newest_first: bool = True,
        count: bool = True,
        workflows: list[tuple[str, str | None]] | None = None,
        skip: int = 0,
    ) -> Page:
        """Executions without their tasks, with a cursor; ``workflows`` matches runs of any of those
        (name, version) pairs (version None: any version) instead of ``name``/``version``; ``skip`` passes
        over that many matches before the page (an offset: Conductor's ``start``); ``total`` counts the matches up to a bound
        (a store counts at most 10,000), or is None without ``count`` (a caller whose answer has no
        total: counting is the one part of a search that grows with the matches)."""

    async def terminate(self, execution_id: str, reason: str | None = None, *, tenant: str | None = None) -> Execution:
        """Non-terminal tasks become CANCELED, the execution TERMINATED with ``reason`` kept.
        Conflict for a COMPLETED execution."""

    async def delete_execution(self, execution_id: str, *, tenant: str | None = None) -> None:
        """Remove the execution for good: it, its task attempts and their logs, and anything scheduled
        for it.  A non-terminal execution is terminated first (as ``terminate``: running children
        terminated, a waiting parent settled).  Executions linked to it (children, parent) are kept.
        NotFound if unknown or of another tenant; afterwards ``get`` raises NotFound."""

    async def pause(self, execution_id: str, *, tenant: str | None = None) -> Execution: ...

    async def resume(self, execution_id: str, *, tenant: str | None = None) -> Execution: ...

    async def rerun(
        self,
        execution_id: str,
        *,
        tenant: str | None = None,
        from_task_id: str | None = None,
        task_input: dict[str, Any] | None = None,
        workflow_input: dict[str, Any] | None = None,
        correlation_id: str | None = None,
    ) -> Execution:
        """Rerun in place (same id).  From the start, or from ``from_task_id`` (an attempt id, also one
        inside a sub-workflow child: the child reruns in place and the parent resumes).  The task
        and everything downstream run again; upstream outputs are kept; superseded attempts stay in
        history.  Conflict if not terminal; InvalidArgument ``Task <id> not found``."""

    async def retry(self, execution_id: str, policy: RetryPolicy, *, tenant: str | None = None) -> Execution:
        """Retry in place: a new attempt (``retried_from`` set) of every task whose latest attempt is
        retryable under ``policy``; inside children and dynamic tasks only the failed nested tasks.
        Conflict if not terminal, or if nothing is retryable."""

    async def restart(
        self, execution_id: str, *, tenant: str | None = None, use_latest_definition: bool = False
    ) -> Execution:
        """All tasks anew, same id and input; earlier attempts kept as history.  Conflict if not terminal."""

    async def clone(
        self,
        execution_id: str,
        *,
        tenant: str | None = None,
        resume_from_ref: str | None = None,
        execution_id_new: str | None = None,
        input: dict[str, Any] | None = None,
    ) -> Execution:
        """A new execution of the same definition snapshot and input.  With ``resume_from_ref`` (a
        task that COMPLETED in the original) the tasks upstream of it and itself are copied as
        COMPLETED with their outputs and only what follows runs."""

    # -- tasks -------------------------------------------------------------------------------
    async def poll(
        self,
        tenant: str,
        task_name: str,
        *,
        worker_id: str | None = None,
        count: int = 1,
        timeout_ms: int = 0,
        lease_ms: int | None = None,
        domain: str | None = None,
    ) -> list[TaskAttempt]:
        """Lease up to ``count`` queued worker tasks of ``task_name``, waiting up to ``timeout_ms``
        for one to appear.  Leased tasks become IN_PROGRESS; an expired lease re-queues them."""

    async def complete_task(
        self,
        task_id: str,
        status: TaskStatus,
        *,
        tenant: str | None = None,
        execution_id: str | None = None,
        output: dict[str, Any] | None = None,
        reason: str | None = None,
        worker_id: str | None = None,
        extend_lease: bool = False,
        callback_after_ms: int = 0,
        logs: list[str] | None = None,
    ) -> TaskAttempt:
        """Report a task's result (worker, wait, or asynchronously completed tasks).  IN_PROGRESS
        re-queues a worker task after ``callback_after_ms``; ``extend_lease`` only extends the lease.
        An update of a terminal task or execution is ignored and returns the task as it is."""

    async def get_task(self, task_id: str, *, tenant: str | None = None) -> TaskAttempt: ...

    async def add_task_log(self, task_id: str, message: str, *, tenant: str | None = None) -> None: ...


@runtime_checkable
class TaskQueues(Protocol):
    """A backend that keeps worker task queues itself (the engine) and can say how deep they are."""

    async def queue_sizes(self, tenant: str) -> dict[str, int]:
        """Queued (SCHEDULED, not yet polled) tasks per worker task name; names with none are left out."""

    async def queue_leased(self, tenant: str) -> dict[str, int]:
        """Polled, unfinished (IN_PROGRESS) worker tasks per task name; names with none are left out."""

    async def domain_queue_sizes(self, tenant: str) -> dict[tuple[str, str | None], int]:
        """Queued worker tasks per (task name, domain) queue (None: no domain); empty queues left out."""

    async def domain_queue_leased(self, tenant: str) -> dict[tuple[str, str | None], int]:
        """Polled, unfinished worker tasks per (task name, domain) queue; empty queues left out."""


@runtime_checkable
class TaskControl(Protocol):
    """A backend that can act on single tasks of a running execution (the engine)."""

    async def skip_task(self, execution_id: str, ref: str, *, tenant: str | None = None,
                        input: dict[str, Any] | None = None, output: dict[str, Any] | None = None) -> Execution:
        """Mark the top-level task ``ref``, not scheduled yet, SKIPPED (``extra[SKIPPED_ON_REQUEST]``, with
        ``input``/``output``): the tasks after it run once its own upstream has finished, as if it
        had completed.  Conflict (``details.reason``) when the execution is not RUNNING
        (``not_running``), ``ref`` is no task of its definition (``unknown_ref``), is nested in a loop
        or dynamic task (``nested_ref``) or already has an attempt (``already_processed``)."""

    async def reset_callbacks(self, execution_id: str, *, tenant: str | None = None) -> list[str]:
        """Queued worker tasks held back by a callback delay (a retry delay, a worker's
        callback-after) become pollable now; the ids of those tasks.  Conflict when terminal."""


@runtime_checkable
class VariableControl(Protocol):
    """A backend that can change the variables of an execution that is still running (the engine)."""

    async def set_variables(self, execution_id: str, variables: dict[str, Any], *,
                            tenant: str | None = None) -> Execution:
        """Merge ``variables`` into the execution's variables (the execution as it is then);
        Conflict (``details.reason`` ``terminal``) once it has ended."""


@runtime_checkable
class DefinitionChecks(Protocol):
    """A backend that can check a definition without storing it (the engine)."""

    async def check_definition(self, definition: WorkflowDefinition) -> None:
        """InvalidArgument naming what ``put_definition`` would refuse (cycles, unknown refs, unknown
        kinds, templates that point nowhere); nothing is stored either way."""


@runtime_checkable
class TaskSearch(Protocol):
    """A backend that can search task attempts across executions (the engine)."""

    async def search_tasks(
        self, tenant: str, *, name: str | None = None, statuses: list[TaskStatus] | None = None,
        execution_ids: list[str] | None = None, task_ids: list[str] | None = None,
        scheduled_from_ms: int | None = None, scheduled_to_ms: int | None = None,
        cursor: str | None = None, limit: int = 100, newest_first: bool = True, count: bool = True,
    ) -> Page:
        """Visible task attempts (the latest of each task, and the ones a retry kept), newest scheduled
        first unless ``newest_first`` is False; ``total`` counts up to a bound as ``search`` does."""


@runtime_checkable
class IdSearch(Protocol):
    """A backend that can list the ids of every matching execution without reading the executions (the
    engine): an answer that is every id (Conductor's running workflows) costs an index walk, not a
    decoded run per id."""

    async def search_ids(
        self, tenant: str, *, name: str | None = None, version: int | str | None = None,
        statuses: list[ExecutionStatus] | None = None, created_from_ms: int | None = None,
        created_to_ms: int | None = None,
    ) -> list[str]:
        """The ids of every execution ``search`` would find with these filters, oldest first."""


@runtime_checkable
class ExactCounts(Protocol):
    """A backend that keeps run counts (the engine): the exact number of matches, where ``search``'s
    ``total`` stops at a bound (10,000, as a search index does) -- for a dialect whose answer counts
    every run (a paginator's total, a success rate)."""

    async def count(
        self, tenant: str, *, name: str | None = None, statuses: list[ExecutionStatus] | None = None,
        created_from_ms: int | None = None, created_to_ms: int | None = None,
    ) -> int:
        """How many executions ``search`` would find with these filters, exactly."""


@runtime_checkable
class Sandboxes(Protocol):
    """A backend that can run a definition where nothing is kept (the engine)."""

    def sandbox(self, definition: WorkflowDefinition) -> AbstractAsyncContextManager[Any]:
        """A private Backend for runs of ``definition`` (and the sub-workflows it names): never seen
        by this backend's store, workers, listeners or searches, gone on leaving.  Its HTTP tasks
        are not sent; like worker tasks they wait for ``complete_task``."""


@runtime_checkable
class VersionedReads(Protocol):
    """A backend that can tell cheaply whether an execution changed since it was read (the engine),
    so that a dialect may keep an answer it rendered and serve it again while it is current."""

    async def get_if_changed(self, execution_id: str, known: tuple[int, int] | None, *,
                             tenant: str | None = None) -> Execution | None:
        """None when the execution's stamp as stored now still equals ``known`` (one narrow read,
        nothing decoded); otherwise the execution as ``get`` reads it, whose ``stamp_of`` changes
        with any change to the execution or to any of its tasks, by any process sharing the store.
        NotFound as ``get``."""


def stamp_of(execution: Execution) -> tuple[int, int]:
    """The stamp (see ``VersionedReads``) of an execution a VersionedReads backend answered."""
    return execution.created_ms, execution.version


@runtime_checkable
class ExecutionSplitter(Protocol):
    """The router, as a bulk handler sees it (``GatewayContext.splitter``)."""

    async def split(self, target: Any, call: Any, execution_ids: list[str]) -> list[tuple[Any, list[str]]]:
        """(binding, ids) groups: each id with the backend that owns it.  A binding is a Backend for
        the handler, or a ``pipeline.Forwarding`` when the owner is the dialect's own vendor (the
        handler forwards its request, narrowed to those ids)."""
