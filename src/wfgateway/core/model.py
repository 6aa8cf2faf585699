"""The canonical data model: definitions (a DAG of task specs), executions and task attempts.

Adapters translate vendor definitions into these types and render these types back into vendor
JSON.  Vendor-only details that the engine does not interpret travel in ``extra`` dicts so that a
definition or an execution round-trips through its own dialect without loss.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wfgateway.core.statuses import ExecutionStatus, TaskStatus

# Task kinds the engine runs.  Adapters map vendor task types onto these.
# queued; an external worker polls by ``name``, leases, completes or fails it.  With params.name (a template) the
# queue is named when the task is scheduled; resolving to no name fails it (reason params.missing_name_reason, or
# what the evaluator params.missing_name_from makes of the task's input).  With params.unresolved_ends_run it is
# not kept instead: the run ends FAILED with that reason (as for a name with no stored rules, below).
# With params.rules_from (engine/codec.py RULES_FROM) the attempt then takes the rules (retries, delays, timeout,
# limits) of the name it resolved to, read from the stored definition of that name; a name with none fails it
WORKER = "worker"
HTTP = "http"  # the engine calls params {method, url, headers, body, timeout_ms}
SUBWORKFLOW = "subworkflow"  # params {name, version, input}: a child execution the task follows
DYNAMIC = "dynamic"  # params {tasks, expander}: fan-out expanded at run time, then joined
SWITCH = "switch"  # params {value, cases}: branch = value if in cases else "default"
CONDITION = "condition"  # params {left, operator, right}: branch "true" / "false"
WAIT = "wait"  # params {duration_ms?, until_ms?}: until signalled (complete_task) or the timer fires
NOOP = "noop"  # completes at once with its input as output
SET = "set"  # params {variables}: merged into the execution's variables
TERMINATE = "terminate"  # params {status, reason, output}: ends the execution
# params {evaluator, ...}: the output is what the evaluator the adapter registered under that name
# computes from (params, input) -- an inline script, a query; its EvaluationFailed fails the task.  With
# params.hold true (or an output of type Held) it does not complete: it stays IN_PROGRESS with that output until complete_task ends it
COMPUTE = "compute"
# runs its ``body`` (a DAG of its own) as iterations 1, 2, ... for as long as the evaluator its params
# name (``params["evaluator"]``, asked after each iteration) says true; params.max_iterations bounds it.
# Output: {"iteration": n, "1": {ref: output, ...}, "2": ...}; a failed iteration fails the loop.
LOOP = "loop"
# params {name, version?, input?, correlation_id?, priority?, metadata?, missing_reason?, output_key?}, or
# {evaluator, output_key?, ...}: the registered evaluator computes those fields from (params, input).  Starts an
# execution of that stored definition (or of ``definition``, one given inline, as a sub-workflow's) on its own -- no parent link, nothing waits for it -- and completes at
# once with output {output_key (default "execution_id"): its id}; a definition that does not exist fails the
# task (its reason ``missing_reason`` when given).  With ``definition_from`` {evaluator, definitions_of, names}
# the inline definition is the one that evaluator makes, when the execution starts, of the extra of the stored
# definitions ``names`` lists that exist (in the run's tenant + definitions_of), by name
START = "start"
ITERATION = "iteration"  # engine-made: one pass of a loop, the container of that pass's attempts
DELAY = WAIT  # Altostrat's delay is a timed wait

TASK_KINDS = frozenset({WORKER, HTTP, SUBWORKFLOW, DYNAMIC, SWITCH, CONDITION, WAIT, NOOP, SET, TERMINATE, COMPUTE,
                        LOOP, START})
CONTAINER_KINDS = frozenset({DYNAMIC, LOOP, ITERATION})
# ``TaskAttempt.extra`` key of a SKIPPED attempt a caller asked for (``TaskControl.skip_task``): unlike a
# task on a dead branch, its downstream runs (once the skipped task's own upstream has finished)
SKIPPED_ON_REQUEST = "skipped_on_request"
# ``Execution.metadata`` key: {worker task name or "*": domain}, the queue partition the run's worker tasks
# join (a comma list: the first one polled lately, else the last, "NO_DOMAIN" being none; engine/domains.py);
# the attempt carries it as ``extra[DOMAIN]`` and only a poll naming that domain gets it.  Sub-workflows
# inherit the map.
TASK_DOMAINS = "task_domains"
DOMAIN = "domain"


class Held(dict[str, Any]):
    """An evaluator's output that leaves its compute task IN_PROGRESS (as params.hold does) until a
    complete_task ends it -- for a task that found nothing to settle on yet."""


@dataclass(frozen=True)
class Edge:
    """A dependency on task ``ref``; with ``branch`` it holds only when ``ref`` selected that branch.

    A task runs when every dependency is terminal and at least one incoming edge is live.  When
    every incoming edge is dead (its source SKIPPED, or its branch not selected) the task is
    SKIPPED, and so on downstream.  ``branch="error"`` follows a failed task whose spec has
    ``continue_on_error``.
    """

    ref: str
    branch: str | None = None


@dataclass(frozen=True)
class TaskLimits:
    """How many attempts of one worker task name the engine hands to pollers (0 = no limit): at most
    ``max_in_progress`` IN_PROGRESS at once, and at most ``per_window`` claims in any ``window_ms``.
    Counted per (tenant, task name) across every run and every process sharing the store."""

    max_in_progress: int = 0
    per_window: int = 0
    window_ms: int = 0

    @property
    def active(self) -> bool:
        return self.max_in_progress > 0 or (self.per_window > 0 and self.window_ms > 0)


@dataclass
class TaskSpec:
    """One node of a definition's DAG.

    ``input`` and ``params`` are templates: strings like ``${workflow.input.x}``,
    ``${ref.output.y}``, ``${ref.input.z}``, ``${workflow.variables.v}``, ``${secrets.name}`` are
    resolved when the task is scheduled (a whole-string template keeps the value's JSON type).
    """

    ref: str
    kind: str
    name: str = ""
    depends_on: list[Edge] = field(default_factory=list)
    input: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    retries: int = 0
    retry_delay_ms: int = 0
    backoff: str = "fixed"  # fixed | linear | exponential
    backoff_scale: float = 1.0
    timeout_ms: int | None = None
    optional: bool = False  # a final failure ends COMPLETED_WITH_ERRORS and the workflow goes on
    continue_on_error: bool = False  # a final failure takes the "error" branch
    # what a TIMED_OUT attempt means: "retry" -- retried like a failure while ``retries`` last, and
    # once final it ends its scope (the execution or container) TIMED_OUT; "fail" -- final at once
    # (no automatic retry) and it ends its scope FAILED.  ``optional`` and ``continue_on_error`` apply
    # to either.
    timeout_policy: str = "retry"
    extra: dict[str, Any] = field(default_factory=dict)
    body: list[TaskSpec] = field(default_factory=list)  # a loop's tasks (their own DAG)
    limits: TaskLimits | None = None  # a worker task's poll limits, as the run started with them


@dataclass
class WorkflowDefinition:
    tenant: str
    name: str
    version: int | str
    tasks: list[TaskSpec]
    description: str | None = None
    timeout_ms: int | None = None
    output: dict[str, Any] = field(default_factory=dict)  # output templates; empty = last tasks' output
    dialect: str = ""  # the dialect that wrote it; used to pick the dynamic-task expander
    restartable: bool = True
    extra: dict[str, Any] = field(default_factory=dict)  # vendor JSON kept for round trips
    # {"name", "version"?, "output_key"?}: a workflow started when an execution fails by itself (a task
    # failure, its timeout, a terminate task ending it FAILED; not an API terminate).  ``name`` may be
    # a template; its input comes from the failure-input builder registered for the dialect, and the
    # started execution's id is written to the failed execution's output under ``output_key``.
    on_failure: dict[str, Any] | None = None
    created_ms: int = 0
    updated_ms: int = 0


@dataclass
class TaskAttempt:
    """One attempt of one task.  Rows are never rewritten into other attempts; history only grows.

    ``visible`` is False for attempts superseded by a rerun or restart (kept as history);
    ``retried`` is True for an attempt a later attempt of the same ref retried.  Attempts inside a loop
    carry ``extra["iteration"]`` (1, 2, ...) and ``extra["loop_id"]`` (the loop attempt's id).
    """

    id: str
    execution_id: str
    ref: str
    name: str
    kind: str
    status: TaskStatus
    seq: int = 0
    attempt: int = 0  # 0 for the first attempt, +1 per retry
    input: dict[str, Any] = field(default_factory=dict)
    output: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    worker_id: str | None = None
    retried_from: str | None = None  # id of the attempt this one retried
    retried: bool = False
    visible: bool = True
    parent_attempt_id: str | None = None  # the dynamic container this attempt belongs to
    subworkflow_id: str | None = None
    branch: str | None = None  # the branch a switch / condition selected
    poll_count: int = 0
    scheduled_ms: int = 0
    started_ms: int = 0
    ended_ms: int = 0
    updated_ms: int = 0
    lease_until_ms: int = 0
    callback_after_ms: int = 0
    logs: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Execution:
    id: str
    tenant: str
    definition_name: str
    definition_version: int | str
    status: ExecutionStatus
    input: dict[str, Any] = field(default_factory=dict)
    output: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    correlation_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    parent_execution_id: str | None = None
    parent_task_id: str | None = None
    cloned_from: str | None = None  # the execution a clone (Altostrat rerun / resume-from) came from
    idempotency_key: str | None = None
    dialect: str = ""
    priority: int = 0
    created_ms: int = 0
    started_ms: int = 0
    ended_ms: int = 0
    updated_ms: int = 0
    last_retried_ms: int = 0
    version: int = 0  # optimistic concurrency
    definition: WorkflowDefinition | None = None  # the definition snapshot the execution runs
    tasks: list[TaskAttempt] = field(default_factory=list)  # visible attempts in seq order
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RetryPolicy:
    """A vendor's rules for ``retry``.

    - ``skip_optional``: optional (skipTask) tasks are not retried (Cognite).
    - ``extra_attempt_past_limit``: a retried task gets one attempt even past its retry limit (Cognite).
    - ``resume_subworkflows``: retry the failed tasks inside failed children in place instead of
      starting a new child (Conductor's resumeSubworkflowTasks; Cognite always).
    - ``retryable``: latest-attempt statuses that are retried.
    """

    skip_optional: bool = False
    extra_attempt_past_limit: bool = True
    resume_subworkflows: bool = True
    retryable: frozenset[TaskStatus] = frozenset(
        {TaskStatus.FAILED, TaskStatus.FAILED_WITH_TERMINAL_ERROR, TaskStatus.TIMED_OUT, TaskStatus.CANCELED}
    )


@dataclass
class Page:
    """A page of a listing with an opaque cursor for the next page (None at the end)."""

    items: list[Any]
    next_cursor: str | None = None
    total: int | None = None
