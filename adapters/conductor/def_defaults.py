"""The values Conductor's model classes give a definition's absent fields, as its server answers them.

The OSS server reads a definition into ``WorkflowDef`` / ``WorkflowTask`` / ``TaskDef`` (common/.../metadata),
whose field initialisers are the defaults, and writes it back with Jackson's NON_NULL inclusion: a
field without an initialiser (``description``, ``ownerEmail``, ``concurrentExecLimit``...) stays absent,
and every list/map/primitive field is present.  ``WorkflowTask``'s container lists (forkTasks,
decisionCases, defaultCase, joinOn, loopOver, defaultExclusiveJoinTask) are NON_EMPTY: absent when empty.
TaskDef's ``rateLimitPerFrequency`` and ``rateLimitFrequencyInSeconds`` answer through getters that
turn null into 0 and 1.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

# field -> default; a fresh copy of each mutable default is used per document
WORKFLOW_DEF: dict[str, Any] = {
    "version": 1,
    "inputParameters": [],
    "outputParameters": {},
    "schemaVersion": 2,
    "restartable": True,
    "workflowStatusListenerEnabled": False,
    "timeoutPolicy": "ALERT_ONLY",
    "timeoutSeconds": 0,
    "variables": {},
    "inputTemplate": {},
    "enforceSchema": True,
    "metadata": {},
    "maskedFields": [],
}
WORKFLOW_TASK: dict[str, Any] = {
    "inputParameters": {},
    "type": "SIMPLE",
    "startDelay": 0,
    "optional": False,
    "asyncComplete": False,
}
TASK_DEF: dict[str, Any] = {
    "retryCount": 3,
    "timeoutSeconds": 0,
    "inputKeys": [],
    "outputKeys": [],
    "timeoutPolicy": "TIME_OUT_WF",
    "retryLogic": "FIXED",
    "retryDelaySeconds": 60,
    "responseTimeoutSeconds": 3600,
    "inputTemplate": {},
    "rateLimitPerFrequency": 0,
    "rateLimitFrequencyInSeconds": 1,
    "backoffScaleFactor": 1,
}
# WorkflowTask lists serialised only when non-empty
_NON_EMPTY = ("decisionCases", "defaultCase", "forkTasks", "joinOn", "loopOver", "defaultExclusiveJoinTask")


def _fill(doc: dict[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in defaults.items():
        if key not in doc:
            doc[key] = copy.copy(value)
    return doc


def task_def(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A TaskDef as the server answers it (a copy; ``doc`` is not changed)."""
    out = _fill(dict(doc), TASK_DEF)
    if out.get("rateLimitPerFrequency") is None:
        out["rateLimitPerFrequency"] = 0
    if out.get("rateLimitFrequencyInSeconds") is None:
        out["rateLimitFrequencyInSeconds"] = 1
    return out


def workflow_task(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A WorkflowTask (and the tasks inside it) as the server answers it."""
    out = _fill(dict(doc), WORKFLOW_TASK)
    for key in _NON_EMPTY:
        if key in out and not out[key]:
            del out[key]
    if isinstance(out.get("forkTasks"), list):
        out["forkTasks"] = [_tasks(branch) for branch in out["forkTasks"]]
    if isinstance(out.get("decisionCases"), dict):
        out["decisionCases"] = {k: _tasks(v) for k, v in out["decisionCases"].items()}
    for key in ("defaultCase", "loopOver"):
        if isinstance(out.get(key), list):
            out[key] = _tasks(out[key])
    if isinstance(out.get("taskDefinition"), Mapping):
        out["taskDefinition"] = task_def(out["taskDefinition"])
    return out


def _tasks(items: Any) -> Any:
    if not isinstance(items, list):
        return items
    return [workflow_task(t) if isinstance(t, Mapping) else t for t in items]


def workflow_def(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A WorkflowDef (and its tasks) as the server answers it."""
    out = _fill(dict(doc), WORKFLOW_DEF)
    out["tasks"] = _tasks(out.get("tasks") or [])
    return out
