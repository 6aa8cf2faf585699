"""What a TaskDef changes in a task the gateway runs: retries, delays, timeouts and poll limits, from the
TaskDef the task runs with (its inline ``taskDefinition``, else the registered one of its name)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wfgateway.adapters.conductor import def_defaults, taskdefs
from wfgateway.adapters.conductor.durations import seconds_to_ms

from wfgateway.core.model import WORKER, TaskLimits, TaskSpec
from wfgateway.engine.codec import RULES_FROM, policy_of

_BACKOFF = {"FIXED": "fixed", "LINEAR_BACKOFF": "linear", "EXPONENTIAL_BACKOFF": "exponential"}


def effective_task_def(
    wt: Mapping[str, Any], task_defs: Mapping[str, Mapping[str, Any]]
) -> Mapping[str, Any] | None:
    """The TaskDef a task runs with: its inline ``taskDefinition`` (with TaskDef's defaults) wins over
    the registered one of its name, whole, as the server's MetadataMapperService only looks a TaskDef
    up for a task that carries none."""
    inline = wt.get("taskDefinition")
    if isinstance(inline, Mapping):
        return def_defaults.task_def(inline)
    return task_defs.get(str(wt.get("name")))


def apply_task_def(spec: TaskSpec, wt: Mapping[str, Any], task_def: Mapping[str, Any] | None) -> None:
    """Retries, delays and timeouts: workflowTask.retryCount wins over the TaskDef's (default 3);
    with no TaskDef a task is not retried automatically."""
    if wt.get("retryCount") is not None:
        spec.retries = int(wt["retryCount"])
    elif task_def is not None:
        spec.retries = int(task_def.get("retryCount", 3))
    if task_def is None:
        return
    spec.retry_delay_ms = seconds_to_ms(task_def.get("retryDelaySeconds", 60))
    spec.backoff = _BACKOFF.get(str(task_def.get("retryLogic") or "FIXED"), "fixed")
    spec.backoff_scale = float(task_def.get("backoffScaleFactor") or 1)
    timeout = seconds_to_ms(task_def.get("timeoutSeconds") or 0)
    if timeout > 0:
        spec.timeout_ms = timeout
    spec.extra["responseTimeoutSeconds"] = int(task_def.get("responseTimeoutSeconds") or 3600)
    spec.limits = poll_limits(task_def)


RULES_EVALUATOR = "conductor.taskdef_rules"
# DynamicTaskMapper's TerminateWorkflowException when the resolved name has no TaskDef ("{name}": that name)
UNKNOWN_DYNAMIC_NAME = "Invalid task specified.  Cannot find task by name {name} in the task definitions"


def dynamic_rules(wt: Mapping[str, Any]) -> dict[str, Any]:
    """The params that give a DYNAMIC task without a TaskDef of its own (inline, or registered under its
    own name) the TaskDef of the name it resolves to, looked up as it is scheduled, as the OSS
    DynamicTaskMapper does: a name with no TaskDef fails the run (its TerminateWorkflowException), the
    task never made.  Its workflowTask.retryCount still wins."""
    return {RULES_FROM: {"evaluator": RULES_EVALUATOR, "definitions_of": taskdefs.TENANT_SUFFIX,
                         "unknown_reason": UNKNOWN_DYNAMIC_NAME, "retryCount": wt.get("retryCount")}}


def rules_of_task_def(params: dict[str, Any], extra: Any) -> dict[str, Any]:
    """The evaluator ``dynamic_rules`` names: the rules of a stored TaskDef (the ``extra`` of its
    definition), with the workflowTask's retryCount in ``params``."""
    stored = extra.get(taskdefs.TASK_DEF_KEY) if isinstance(extra, Mapping) else None
    spec = TaskSpec(ref="", kind=WORKER)
    wt = {"retryCount": params["retryCount"]} if params.get("retryCount") is not None else {}
    apply_task_def(spec, wt, def_defaults.task_def(stored if isinstance(stored, Mapping) else {}))
    return policy_of(spec)


def poll_limits(task_def: Mapping[str, Any]) -> TaskLimits | None:
    """concurrentExecLimit and rateLimitPerFrequency per rateLimitFrequencyInSeconds (absent: 1 s), held
    at poll time as the OSS server does; 0 or less means no limit."""
    limits = TaskLimits(
        max_in_progress=max(_int(task_def.get("concurrentExecLimit")), 0),
        per_window=max(_int(task_def.get("rateLimitPerFrequency")), 0),
        window_ms=max(_int(task_def.get("rateLimitFrequencyInSeconds"), 1), 0) * 1000,
    )
    return limits if limits.active else None


def _int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default
