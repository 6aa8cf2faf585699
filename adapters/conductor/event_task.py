"""EVENT on the engine's ``compute`` kind, as the OSS server's Event system task runs it.

The task's output is its input plus the run's workflowInstanceId, workflowType, workflowVersion,
correlationId and taskToDomain, and ``event_produced``: the queue the event goes to.  A ``conductor``
sink is the server's own event queue (``conductor:<workflow name>:<task reference>``, or
``conductor:<workflow name>:<queue>`` for ``conductor:<queue>``), which is always there: the task
COMPLETES; the tenant's event handlers (``/api/event``) consume what is published (event_queue.py).
Any other sink (sqs, amqp, kafka, nats, ...) names a queue provider this gateway does not have: the task
FAILS as on an OSS server where that provider is not configured (``Error loading queue:<sink>, for
task:<id>, error: Unknown queue type <type>``), with the payload and ``event_produced`` in its output.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wfgateway.core.errors import EvaluationFailed

EVALUATOR = "conductor.event"
_OWN_QUEUES = "conductor"


def event_input(wt: Mapping[str, Any]) -> dict[str, Any]:
    """The task's input as the OSS EventTaskMapper builds it: inputParameters with sink and asyncComplete."""
    return {**dict(wt.get("inputParameters") or {}), "sink": wt.get("sink"),
            "asyncComplete": bool(wt.get("asyncComplete") or False)}


def event_params(ref: str) -> dict[str, Any]:
    """What the evaluator needs of the run and the task (resolved when the task is scheduled)."""
    return {"evaluator": EVALUATOR, "ref": ref, "task_id": "${self.id}",
            "workflow": {"workflowInstanceId": "${workflow.workflowId}", "workflowType": "${workflow.name}",
                         "workflowVersion": "${workflow.version}", "correlationId": "${workflow.correlationId}",
                         "taskToDomain": "${workflow.metadata.taskToDomain}"}}


def publish(params: dict[str, Any], data: Any) -> dict[str, Any]:
    """The task's output once its event is published; EvaluationFailed (with that output) when the sink
    cannot be published to here."""
    task_input = dict(data) if isinstance(data, Mapping) else {}
    given = params.get("workflow")
    run: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    payload = {**task_input, **run, "taskToDomain": run.get("taskToDomain") or {}}
    sink = task_input.get("sink")
    if not isinstance(sink, str):
        raise EvaluationFailed(f"Invalid / Unsupported sink specified: {'null' if sink is None else sink}",
                               output=payload)
    queue = sink
    if sink.startswith(_OWN_QUEUES):
        if sink == _OWN_QUEUES:
            queue = f"{_OWN_QUEUES}:{run.get('workflowType')}:{params.get('ref')}"
        elif sink.startswith(_OWN_QUEUES + ":"):
            queue = f"{_OWN_QUEUES}:{run.get('workflowType')}:{sink.replace(_OWN_QUEUES + ':', '')}"
        else:
            raise EvaluationFailed(f"Invalid / Unsupported sink specified: {sink}", output=payload)
    output = {**payload, "event_produced": queue}
    kind, colon, _ = queue.partition(":")
    if not colon:
        why = f"Illegal event {queue}"
    elif kind != _OWN_QUEUES:
        why = f"Unknown queue type {kind}"
    else:
        return output
    raise EvaluationFailed(f"Error loading queue:{queue}, for task:{params.get('task_id')}, error: {why}",
                           output=output)
