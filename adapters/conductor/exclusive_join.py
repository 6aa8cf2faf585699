"""EXCLUSIVE_JOIN on the engine's ``compute`` kind, as the OSS server's ExclusiveJoin system task runs it.

It follows a SWITCH / DECISION whose cases end in different tasks.  Of ``joinOn``, the first task in
the list that was scheduled and not SKIPPED decides: when it ended well (COMPLETED, COMPLETED_WITH_ERRORS)
the join COMPLETES with that task's output; when it failed the join FAILS with the reasons of the joinOn
tasks that did not end well, space-separated.  When no joinOn task ran, the first of
``defaultExclusiveJoinTask`` that ran decides the same way (a failure's reason followed by a space).
When none of either ran -- a case that ends in no task the join names -- the join stays IN_PROGRESS, as
on the OSS server, which looks again at every decide and never finds one: the run waits for its
timeout, a terminate, or a task update that ends the join.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wfgateway.core.errors import EvaluationFailed
from wfgateway.core.model import Held

EVALUATOR = "conductor.exclusive_join"
_SUCCESSFUL = frozenset({"COMPLETED", "COMPLETED_WITH_ERRORS", "SKIPPED"})  # TaskModel.Status.isSuccessful
_NOT_RUN = (None, "SKIPPED")


def join_input(wt: Mapping[str, Any]) -> dict[str, Any]:
    """The task's input as the OSS ExclusiveJoinTaskMapper builds it."""
    out: dict[str, Any] = {"joinOn": list(wt.get("joinOn") or [])}
    if wt.get("defaultExclusiveJoinTask") is not None:
        out["defaultExclusiveJoinTask"] = list(wt.get("defaultExclusiveJoinTask") or [])
    return out


def join_params(wt: Mapping[str, Any]) -> dict[str, Any]:
    """Each candidate task's status, output and reason, resolved when the join runs."""
    refs = [str(r) for r in [*(wt.get("joinOn") or []), *(wt.get("defaultExclusiveJoinTask") or [])]]
    return {"evaluator": EVALUATOR, "tasks": {
        ref: {"status": "${" + ref + ".status}", "output": "${" + ref + ".output}", "reason": "${" + ref + ".reason}"}
        for ref in dict.fromkeys(refs)}}


def exclusive_join(params: dict[str, Any], data: Any) -> dict[str, Any]:
    """The output of the task the join settles on; EvaluationFailed when that task failed; Held (the join
    stays IN_PROGRESS) when none of its tasks ran."""
    task_input = data if isinstance(data, Mapping) else {}
    given = params.get("tasks")
    tasks: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    join_on = [str(r) for r in task_input.get("joinOn") or []]
    defaults = [str(r) for r in task_input.get("defaultExclusiveJoinTask") or []]
    for refs, reasons_of in ((join_on, join_on), (defaults, None)):
        ran = next((tasks[r] for r in refs if _status(tasks, r) not in _NOT_RUN), None)
        if ran is None:
            continue
        if ran.get("status") in _SUCCESSFUL:
            output = ran.get("output")
            return dict(output) if isinstance(output, Mapping) else {}
        if reasons_of is None:
            raise EvaluationFailed(f"{_java(ran.get('reason'))} ")
        # the OSS task joins the reasons of every joinOn task that did not end well (one that never ran
        # has no reason to give: the OSS server would stumble over it)
        raise EvaluationFailed(" ".join(_java(tasks[r].get("reason")) for r in reasons_of
                                        if _status(tasks, r) not in _SUCCESSFUL and _status(tasks, r) is not None))
    return Held()


def _status(tasks: Mapping[str, Any], ref: str) -> Any:
    task = tasks.get(ref)
    return task.get("status") if isinstance(task, Mapping) else None


def _java(reason: Any) -> str:
    """A reason as Java's string joining writes it: a missing one is "null"."""
    return "null" if reason is None else str(reason)
