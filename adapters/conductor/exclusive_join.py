"""EXCLUSIVE_JOIN on the engine's ``compute`` kind, as the OSS server's ExclusiveJoin system task runs it.

It follows a SWITCH / DECISION whose cases end in different tasks: its output is the output of the
first task of ``joinOn`` that ran (not skipped, not on an unselected case), else of the first of
``defaultExclusiveJoinTask`` that ran; if that task did not succeed the join FAILS with the
reasons of the joinOn tasks that did not.  In this gateway the join runs once every task before it
has ended, so when none of them ran it fails (the OSS server would leave it IN_PROGRESS for good).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wfgateway.core.errors import EvaluationFailed

EVALUATOR = "conductor.exclusive_join"
_SUCCESSFUL = frozenset({"COMPLETED", "COMPLETED_WITH_ERRORS", "SKIPPED"})
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
    """The output of the task the join settles on; EvaluationFailed when it failed or none ran."""
    task_input = data if isinstance(data, Mapping) else {}
    given = params.get("tasks")
    tasks: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    join_on = [str(r) for r in task_input.get("joinOn") or []]
    defaults = [str(r) for r in task_input.get("defaultExclusiveJoinTask") or []]
    for refs, reasons_of in ((join_on, join_on), (defaults, None)):
        ran = next((tasks[r] for r in refs if isinstance(tasks.get(r), Mapping) and tasks[r].get("status") not in _NOT_RUN),
                   None)
        if ran is None:
            continue
        if ran.get("status") in _SUCCESSFUL:
            output = ran.get("output")
            return dict(output) if isinstance(output, Mapping) else {}
        if reasons_of is None:
            raise EvaluationFailed(f"{ran.get('reason')} ")
        raise EvaluationFailed(" ".join(
            str(tasks[r].get("reason")) for r in reasons_of
            if isinstance(tasks.get(r), Mapping) and tasks[r].get("status") not in _SUCCESSFUL
            and tasks[r].get("status") is not None))
    raise EvaluationFailed(f"None of the tasks the exclusive join waits on ran (joinOn: {', '.join(join_on)}"
                           + (f"; defaultExclusiveJoinTask: {', '.join(defaults)})" if defaults else ")"))
