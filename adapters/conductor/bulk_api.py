"""Handlers of /api/workflow/bulk: pause, resume, restart, retry, terminate, remove, terminate-remove.

As the Conductor server's WorkflowBulkService: the body is a JSON array of workflow ids (at most
1,000; none is a 400); each id is applied on its own -- its own transaction, the single operation's
checks and messages -- so one bad id never blocks the others; the answer is a BulkResponse with the
ids that succeeded in order and each failed id's own message.  Ids owned by different backends (the
run registry knows) are applied where they live: a same-vendor upstream gets the same bulk request
narrowed to its ids, and its BulkResponse is merged into the answer.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.responses import Response
from wfgateway.adapters.conductor import workflow_api as single
from wfgateway.adapters.conductor.responses import json_response

from wfgateway.core.errors import GatewayError, ValidationFailed, Violation
from wfgateway.dialect import Call
from wfgateway.pipeline import Forwarding

log = logging.getLogger("wfgateway.conductor")

MAX_REQUEST_ITEMS = 1000
BULK_MESSAGE = "Bulk Request has been processed."
PerId = Callable[[Call, str], Awaitable[Any]]


class BulkResult:
    """Conductor's BulkResponse<String>: successes in order, the last error message per id."""

    def __init__(self) -> None:
        self.successes: list[str] = []
        self.errors: dict[str, str] = {}

    def merge(self, document: Any) -> None:
        if isinstance(document, dict):
            self.successes.extend(str(i) for i in document.get("bulkSuccessfulResults") or [])
            self.errors.update({str(k): str(v) for k, v in (document.get("bulkErrorResults") or {}).items()})

    def json(self) -> dict[str, Any]:
        return {"bulkErrorResults": self.errors, "bulkSuccessfulResults": self.successes, "message": BULK_MESSAGE}


def _ids(call: Call, method: str) -> list[str]:
    ids = [str(i) for i in call.body or []]
    problem = None
    if not ids:
        problem = "WorkflowIds list cannot be null."
    elif len(ids) > MAX_REQUEST_ITEMS:
        problem = f"Cannot process more than {MAX_REQUEST_ITEMS} workflows. Please use multiple requests."
    if problem:
        raise ValidationFailed(problem, violations=[Violation(method, "workflowIds", problem)])
    return ids


async def _apply(call: Call, method: str, steps: list[PerId]) -> Response:
    """Every id through ``steps`` (each step's success and failure recorded, as Conductor does),
    on the backend that owns the id."""
    ids = _ids(call, method)
    splitter = call.gateway.splitter
    groups = (await splitter.split(call.target, call, ids) if splitter is not None
              and call.target is not None else [(call.backend, ids)])
    result = BulkResult()
    for binding, group in groups:
        if isinstance(binding, Forwarding):
            await _forward(binding, call, group, result)
            continue
        here = dataclasses.replace(call, backend=binding)
        for workflow_id in group:
            for step in steps:
                try:
                    await step(here, workflow_id)
                except GatewayError as exc:
                    result.errors[workflow_id] = exc.message
                except Exception as exc:  # one id's failure never blocks the others
                    log.exception("bulk %s of %s failed", method, workflow_id)
                    result.errors[workflow_id] = f"Internal error: {type(exc).__name__}"
                else:
                    result.successes.append(workflow_id)
    return json_response(result.json())


async def _forward(forwarder: Forwarding, call: Call, ids: list[str], result: BulkResult) -> None:
    """The same bulk request, narrowed to ``ids``, to the same-vendor upstream that owns them."""
    narrowed = dataclasses.replace(call, body=ids, raw_body=orjson.dumps(ids))
    message: Any  # the upstream's error text, as it sent it
    try:
        response = await forwarder.forward(call.target, narrowed)
        body = getattr(response, "body", b"")
        document = orjson.loads(body) if body else None
    except GatewayError as exc:
        document, response = None, None
        message = exc.message
    else:
        message = (document or {}).get("message") if isinstance(document, dict) else None
    if response is not None and response.status_code == 200 and isinstance(document, dict):
        result.merge(document)
        return
    for workflow_id in ids:
        result.errors[workflow_id] = str(message or f"upstream answered {getattr(response, 'status_code', '?')}")


async def bulk_pause(call: Call) -> Response:
    return await _apply(call, "pauseWorkflow", [single.pause_one])


async def bulk_resume(call: Call) -> Response:
    return await _apply(call, "resumeWorkflow", [single.resume_one])


async def bulk_restart(call: Call) -> Response:
    use_latest = bool(call.query.get("useLatestDefinitions", False))
    return await _apply(call, "restart", [lambda c, i: single.restart_one(c, i, use_latest)])


async def bulk_retry(call: Call) -> Response:
    return await _apply(call, "retry", [lambda c, i: single.retry_one(c, i, False)])


async def bulk_terminate(call: Call) -> Response:
    reason = call.query.get("reason")
    return await _apply(call, "terminate", [lambda c, i: single.terminate_one(c, i, reason)])


async def bulk_remove(call: Call) -> Response:
    archive = bool(call.query.get("archiveWorkflow", True))
    return await _apply(call, "deleteWorkflow", [lambda c, i: single.remove_one(c, i, archive)])


async def bulk_terminate_remove(call: Call) -> Response:
    """Conductor terminates, then removes, recording each step: an id that ends both steps well is
    listed twice among the successes, and one that was already over (terminate refused) is listed
    with that error *and* as removed."""
    reason = call.query.get("reason")
    archive = bool(call.query.get("archiveWorkflow", True))
    return await _apply(call, "terminateRemove", [lambda c, i: single.terminate_one(c, i, reason),
                                                 lambda c, i: single.remove_one(c, i, archive)])


HANDLERS = {
    "bulkPauseWorkflows": bulk_pause,
    "bulkResumeWorkflows": bulk_resume,
    "bulkRestartWorkflows": bulk_restart,
    "bulkRetryWorkflows": bulk_retry,
    "bulkTerminateWorkflows": bulk_terminate,
    "bulkRemoveWorkflows": bulk_remove,
    "bulkTerminateRemoveWorkflows": bulk_terminate_remove,
}
