"""Handlers of /api/tasks: polling, task results, task lookups and logs."""

from __future__ import annotations

import functools
from typing import Any

from starlette.responses import Response
from wfgateway.adapters.conductor import errors as msg
from wfgateway.adapters.conductor.common import tenant
from wfgateway.adapters.conductor.durations import seconds_to_ms
from wfgateway.adapters.conductor.poll_data import PollDataStore
from wfgateway.adapters.conductor.render import task_json
from wfgateway.adapters.conductor.responses import empty_response, json_response, text_response
from wfgateway.adapters.conductor.secrets_api import SecretStore, reveal

from wfgateway.core.backend import TaskQueues
from wfgateway.core.errors import InvalidArgument, NotFound, NotImplementedByBackend
from wfgateway.core.model import DOMAIN, WORKER, Execution, TaskAttempt
from wfgateway.core.statuses import TaskStatus
from wfgateway.dialect import Call, Handler

MAX_LONG_POLL_MS = 5000


async def _render_many(call: Call, attempts: list[TaskAttempt]) -> list[dict[str, Any]]:
    """Task JSON for each attempt, with its execution (workflowType, correlationId, workflowTask)."""
    executions: dict[str, Execution | None] = {}
    out = []
    for attempt in attempts:
        if attempt.execution_id not in executions:
            try:
                executions[attempt.execution_id] = await call.backend.get(attempt.execution_id, tenant=tenant(call))
            except NotFound:
                executions[attempt.execution_id] = None
        out.append(task_json(attempt, executions[attempt.execution_id]))
    return out


async def _poll(call: Call, task_type: str, count: int, timeout_ms: int, worker_id: str | None,
                domain: str | None, poll_data: PollDataStore | None = None) -> list[TaskAttempt]:
    leased = await call.backend.poll(tenant(call), task_type, worker_id=worker_id, count=count,
                                     timeout_ms=timeout_ms, domain=domain or None)
    if poll_data is not None:  # as the OSS server, after the poll (a long poll's end is its last poll)
        poll_data.record(tenant(call), task_type, domain, worker_id)
    return leased


async def _for_worker(call: Call, leased: list[TaskAttempt], secrets: SecretStore | None) -> list[dict[str, Any]]:
    """Leased tasks as a worker gets them: ``${workflow.secrets.X}`` in the input holds the value
    (only here; the stored run keeps the reference)."""
    rendered = await _render_many(call, leased)
    if secrets is not None:
        for task in rendered:
            task["inputData"] = await reveal(secrets, tenant(call), task.get("inputData"))
    return rendered


async def poll_task(call: Call, secrets: SecretStore | None = None, poll_data: PollDataStore | None = None) -> Response:
    q = call.query
    leased = await _poll(call, call.path["tasktype"], 1, 0, q.get("workerid"), q.get("domain"), poll_data)
    if not leased:
        return empty_response(204)
    return json_response((await _for_worker(call, leased[:1], secrets))[0])


async def batch_poll_tasks(call: Call, secrets: SecretStore | None = None,
                           poll_data: PollDataStore | None = None) -> Response:
    q = call.query
    asked = q.get("timeout")
    timeout = int(asked if asked is not None else 100)
    if timeout > MAX_LONG_POLL_MS:
        raise InvalidArgument(msg.LONG_POLL_MESSAGE)
    leased = await _poll(call, call.path["tasktype"], int(q.get("count") or 1), timeout, q.get("workerid"),
                         q.get("domain"), poll_data)
    return json_response(await _for_worker(call, leased, secrets))


async def _complete(call: Call) -> TaskAttempt:
    return await complete_with_result(call, call.body)


async def complete_with_result(call: Call, body: dict[str, Any]) -> TaskAttempt:
    """Record a TaskResult (``taskId``, ``workflowInstanceId``, ``status``, ``outputData``, ...) as
    ``POST /api/tasks`` does: the output replaces the task's; Conductor's 404s for unknown ids."""
    task_id, workflow_id = body["taskId"], body["workflowInstanceId"]
    logs = [str(entry.get("log")) for entry in body.get("logs") or [] if isinstance(entry, dict) and entry.get("log")]
    try:
        return await call.backend.complete_task(
            task_id, TaskStatus(body["status"]), tenant=tenant(call), execution_id=workflow_id,
            output=body.get("outputData") or {}, reason=body.get("reasonForIncompletion"),
            worker_id=body.get("workerId"), extend_lease=bool(body.get("extendLease")),
            callback_after_ms=seconds_to_ms(body.get("callbackAfterSeconds") or 0), logs=logs or None,
        )
    except NotFound:
        try:
            await call.backend.get(workflow_id, tenant=tenant(call))
        except NotFound:
            raise msg.no_such_workflow(workflow_id) from None
        raise msg.no_such_task(task_id) from None


async def update_task(call: Call) -> Response:
    attempt = await _complete(call)
    return text_response(attempt.id)


async def update_task_v2(call: Call, secrets: SecretStore | None = None,
                         poll_data: PollDataStore | None = None) -> Response:
    """Record the result; once the task is done, hand the same worker the next task of the same type
    from the same domain (or 204), as the OSS server does -- an IN_PROGRESS update gets 204."""
    attempt = await _complete(call)
    if attempt.kind != WORKER or not attempt.status.terminal:
        return empty_response(204)
    domain = attempt.extra.get(DOMAIN)
    leased = await _poll(call, attempt.name, 1, 0, call.body.get("workerId"), domain, poll_data)
    if not leased:
        return empty_response(204)
    return json_response((await _for_worker(call, leased[:1], secrets))[0])


async def _task(call: Call) -> TaskAttempt:
    task_id = call.path["taskId"]
    try:
        return await call.backend.get_task(task_id, tenant=tenant(call))
    except NotFound:
        raise msg.task_not_found_for_id(task_id) from None


async def get_task(call: Call) -> Response:
    attempt = await _task(call)
    return json_response((await _render_many(call, [attempt]))[0])


async def log_task(call: Call) -> Response:
    task_id = call.path["taskId"]
    try:
        await call.backend.add_task_log(task_id, str(call.body), tenant=tenant(call))
    except NotFound:
        raise msg.task_not_found_for_id(task_id) from None
    return empty_response()


async def get_task_logs(call: Call) -> Response:
    attempt = await _task(call)
    out = []
    for entry in attempt.logs:
        text = entry.get("log", entry.get("message")) if isinstance(entry, dict) else entry
        created = entry.get("createdTime", entry.get("created_ms", entry.get("ts", 0))) if isinstance(entry, dict) else 0
        out.append({"log": str(text), "taskId": attempt.id, "createdTime": int(created or 0)})
    return json_response(out)


def _queues(call: Call) -> TaskQueues:
    if not isinstance(call.backend, TaskQueues):
        raise NotImplementedByBackend("task queues are kept by the gateway's engine; this backend keeps none")
    return call.backend


def queue_name(task_type: str, domain: str | None) -> str:
    """The OSS server's queue name (QueueUtils.getQueueName): ``<domain>:<taskType>``, or the bare type
    for the queue without a domain -- each domain is a queue of its own."""
    return task_type if domain is None else f"{domain}:{task_type}"


async def _named_sizes(call: Call) -> dict[str, int]:
    by_queue = await _queues(call).domain_queue_sizes(tenant(call))
    return {queue_name(name, domain): count for (name, domain), count in by_queue.items()}


async def get_task_queue_sizes(call: Call) -> Response:
    """Each asked name's queue depth, the name read as a queue name as the OSS server does: ``X`` is the
    type's queue without a domain, ``D:X`` its queue in domain D; a queue with nothing queued is 0."""
    sizes = await _named_sizes(call)
    return json_response({name: sizes.get(name, 0) for name in call.query.get("taskType") or []})


async def get_all_queue_details(call: Call) -> Response:
    return json_response(dict(sorted((await _named_sizes(call)).items())))


async def get_task_queue_size(call: Call) -> Response:
    """The depth of the type's queue in ``domain`` (without one: its queue without a domain); 0 with none
    queued. An isolation group or execution namespace names a queue the engine never fills: 0."""
    sizes = await _named_sizes(call)
    if (call.query.get("isolationGroupId") or "").strip() or (call.query.get("executionNamespace") or "").strip():
        return json_response(0)
    domain = (call.query.get("domain") or "").strip() or None
    return json_response(sizes.get(queue_name(call.query["taskType"], domain), 0))


async def get_all_queue_verbose(call: Call) -> Response:
    """Each queue with a queued or polled-and-unfinished task: ``{"a": {"size": queued, "uacked":
    polled}}`` (the OSS server's PostgreSQL queue names its one shard ``a``), by queue name."""
    queues = _queues(call)
    sizes = await _named_sizes(call)
    leased = {queue_name(name, domain): count
              for (name, domain), count in (await queues.domain_queue_leased(tenant(call))).items()}
    return json_response({name: {"a": {"size": sizes.get(name, 0), "uacked": leased.get(name, 0)}}
                          for name in sorted({*sizes, *leased})})


async def requeue_pending_tasks(call: Call) -> Response:
    """How many pending tasks of the type had to be put back in its queue: the engine's queue is its
    SCHEDULED tasks themselves, so none is ever missing from it and the answer is "0" (as the OSS
    server answers when every pending task is still queued)."""
    _queues(call)
    return text_response("0")


async def get_poll_data(call: Call, poll_data: PollDataStore) -> Response:
    return json_response(await poll_data.of_type(tenant(call), call.query["taskType"]))


async def get_all_poll_data(call: Call, poll_data: PollDataStore) -> Response:
    return json_response(await poll_data.everything(tenant(call)))


def handlers(secrets: SecretStore, poll_data: PollDataStore | None = None) -> dict[str, Handler]:
    """The handlers, with the secret store the hand-off to a worker reads ``${workflow.secrets.X}`` from
    and the store polls are recorded in (PollData)."""
    out: dict[str, Handler] = {
        "pollTask": functools.partial(poll_task, secrets=secrets, poll_data=poll_data),
        "batchPollTasks": functools.partial(batch_poll_tasks, secrets=secrets, poll_data=poll_data),
        "updateTask": update_task,
        "updateTaskV2": functools.partial(update_task_v2, secrets=secrets, poll_data=poll_data),
        "getTask": get_task,
        "logTask": log_task,
        "getTaskLogs": get_task_logs,
        "getTaskQueueSizes": get_task_queue_sizes,
        "getAllQueueDetails": get_all_queue_details,
        "getTaskQueueSize": get_task_queue_size,
        "getAllQueueDetailsVerbose": get_all_queue_verbose,
        "requeuePendingTasks": requeue_pending_tasks,
    }
    if poll_data is not None:
        out["getPollData"] = functools.partial(get_poll_data, poll_data=poll_data)
        out["getAllPollData"] = functools.partial(get_all_poll_data, poll_data=poll_data)
    return out
