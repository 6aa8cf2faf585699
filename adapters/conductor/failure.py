"""The input Conductor gives a failure workflow (WorkflowDef ``failureWorkflow``).

Conductor starts it with the failed workflow's input plus ``workflowId``, ``reason``,
``failureStatus``, ``failureTaskId`` (when a task caused the failure) and ``failedWorkflow`` (the
failed workflow as its Workflow JSON), under the failed workflow's correlation id.
"""

from __future__ import annotations

from typing import Any

from wfgateway.adapters.conductor.render import incompletion_reason, workflow_json

from wfgateway.core.model import Execution


def failure_input(execution: Execution) -> dict[str, Any]:
    out: dict[str, Any] = dict(execution.input or {})
    out["workflowId"] = execution.id
    out["reason"] = incompletion_reason(execution)
    out["failureStatus"] = str(execution.status)
    failed_task = execution.extra.get("failed_task") or execution.extra.get("terminated_by") or {}
    if failed_task.get("id"):
        out["failureTaskId"] = failed_task["id"]
    out["failedWorkflow"] = workflow_json(execution)
    return out
