"""Definitions and task specs to plain JSON-able dicts and back (for the store and snapshots)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from wfgateway.core.model import Edge, TaskLimits, TaskSpec, WorkflowDefinition

LIMITS = "limits"  # the key of a worker attempt's params that holds its spec's limits (limits_from)
# the key of a name-resolved worker spec's params: {evaluator, definitions_of, unknown_reason, ...} -- when the
# attempt is scheduled it takes the rules (spec_with_policy) that the evaluator makes of the extra of the stored
# definition named like the task, in the run's tenant + definitions_of (the rules' extra is kept on the attempt's
# extra too, for what shows the attempt); no such definition fails the attempt (params.unresolved_ends_run: the run)
RULES_FROM = "rules_from"
_POLICY_FIELDS = ("retries", "retry_delay_ms", "backoff", "backoff_scale", "timeout_ms")


def spec_to_dict(spec: TaskSpec) -> dict[str, Any]:
    d = _spec_dict(spec)
    if spec.body:  # only loops have one; leaving it out keeps other snapshots' digests unchanged
        d["body"] = [spec_to_dict(b) for b in spec.body]
    if spec.timeout_policy != "retry":  # likewise only when not the default
        d["timeout_policy"] = spec.timeout_policy
    if spec.limits is not None and spec.limits.active:  # likewise only when set
        d[LIMITS] = [spec.limits.max_in_progress, spec.limits.per_window, spec.limits.window_ms]
    return d


def _spec_dict(spec: TaskSpec) -> dict[str, Any]:
    return {
        "ref": spec.ref,
        "kind": spec.kind,
        "name": spec.name,
        "depends_on": [[e.ref, e.branch] for e in spec.depends_on],
        "input": spec.input,
        "params": spec.params,
        "retries": spec.retries,
        "retry_delay_ms": spec.retry_delay_ms,
        "backoff": spec.backoff,
        "backoff_scale": spec.backoff_scale,
        "timeout_ms": spec.timeout_ms,
        "optional": spec.optional,
        "continue_on_error": spec.continue_on_error,
        "extra": spec.extra,
    }


def spec_from_dict(d: dict[str, Any]) -> TaskSpec:
    return TaskSpec(
        ref=d["ref"],
        kind=d["kind"],
        name=d.get("name", ""),
        depends_on=[Edge(e[0], e[1]) for e in d.get("depends_on", ())],
        input=d.get("input") or {},
        params=d.get("params") or {},
        retries=d.get("retries", 0),
        retry_delay_ms=d.get("retry_delay_ms", 0),
        backoff=d.get("backoff", "fixed"),
        backoff_scale=d.get("backoff_scale", 1.0),
        timeout_ms=d.get("timeout_ms"),
        optional=d.get("optional", False),
        continue_on_error=d.get("continue_on_error", False),
        timeout_policy=d.get("timeout_policy", "retry"),
        extra=d.get("extra") or {},
        body=[spec_from_dict(b) for b in d.get("body") or ()],
        limits=limits_from(d.get(LIMITS)),
    )


def spec_with_policy(spec: TaskSpec, policy: dict[str, Any]) -> TaskSpec:
    """``spec`` with the rules (retries, delays, timeout, limits, extra) ``policy`` gives."""
    extra = policy.get("extra")
    return replace(
        spec, **{f: policy[f] for f in _POLICY_FIELDS if f in policy},
        limits=limits_from(policy.get(LIMITS)),
        extra={**spec.extra, **extra} if isinstance(extra, dict) else spec.extra,
    )


def policy_of(spec: TaskSpec) -> dict[str, Any]:
    """The policy that gives a spec the rules ``spec`` has (see spec_with_policy)."""
    policy: dict[str, Any] = {f: getattr(spec, f) for f in _POLICY_FIELDS}
    if spec.limits is not None and spec.limits.active:
        policy[LIMITS] = [spec.limits.max_in_progress, spec.limits.per_window, spec.limits.window_ms]
    if spec.extra:
        policy["extra"] = spec.extra
    return policy


def limits_from(value: Any) -> TaskLimits | None:
    """``[max_in_progress, per_window, window_ms]`` (as a spec or an attempt's params hold it) or None."""
    if not isinstance(value, list) or len(value) != 3 or not all(isinstance(v, int) for v in value):
        return None
    limits = TaskLimits(value[0], value[1], value[2])
    return limits if limits.active else None


def definition_to_dict(d: WorkflowDefinition) -> dict[str, Any]:
    out = _definition_dict(d)
    if d.on_failure:  # only when set, so other snapshots keep their digests
        out["on_failure"] = d.on_failure
    return out


def _definition_dict(d: WorkflowDefinition) -> dict[str, Any]:
    return {
        "tenant": d.tenant,
        "name": d.name,
        "version": d.version,
        "tasks": [spec_to_dict(t) for t in d.tasks],
        "description": d.description,
        "timeout_ms": d.timeout_ms,
        "output": d.output,
        "dialect": d.dialect,
        "restartable": d.restartable,
        "extra": d.extra,
        "created_ms": d.created_ms,
        "updated_ms": d.updated_ms,
    }


def definition_from_dict(d: dict[str, Any]) -> WorkflowDefinition:
    return WorkflowDefinition(
        tenant=d["tenant"],
        name=d["name"],
        version=d["version"],
        tasks=[spec_from_dict(t) for t in d.get("tasks", ())],
        description=d.get("description"),
        timeout_ms=d.get("timeout_ms"),
        output=d.get("output") or {},
        dialect=d.get("dialect", ""),
        restartable=d.get("restartable", True),
        extra=d.get("extra") or {},
        created_ms=d.get("created_ms", 0),
        updated_ms=d.get("updated_ms", 0),
        on_failure=d.get("on_failure") or None,
    )
