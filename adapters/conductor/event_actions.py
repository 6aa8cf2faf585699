"""What an event handler does with one event, as the OSS server's DefaultEventProcessor and
SimpleActionProcessor do it.

* The ``condition`` is evaluated over the event's payload (JSON strings in its objects expanded first,
  as the server's JsonUtils.expand does): ``value-param`` reads the payload's field of that name, any
  other evaluatorType (or none) runs it as JavaScript with ``$`` bound to the payload; true or a positive
  number lets the handler's actions run.
* Action parameters take ``${path}`` from the payload (a JsonPath: ``${workflowInstanceId}``,
  ``${$.order.id}``, ``${items[0]}``); a parameter that is exactly one ``${...}`` keeps the value's JSON
  type, one inside longer text is written as Java's ``String.valueOf`` would; an unknown path is null.
  ``expandInlineJSON`` expands JSON strings of the payload for the action too.
* ``start_workflow`` starts ``name``/``version`` with ``input`` plus ``conductor.event.messageId`` and
  ``conductor.event.name``; the run's ``event`` is the event.  ``complete_task`` / ``fail_task`` end the
  task ``taskId`` names, else the one ``workflowId`` + ``taskRefName`` name (the latest iteration inside a
  DO_WHILE), with the substituted parameters as its output.  ``terminate_workflow`` terminates
  ``workflowId`` with ``terminationReason``; ``update_workflow_variables`` merges ``variables`` into
  ``workflowId``'s (``appendArray``: a list variable is appended to).  These two are Orkes' actions: the
  OSS server's processor answers "Action not supported" for them.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from wfgateway.adapters.conductor.java_text import java_text
from wfgateway.adapters.conductor.render import listed, local_name, reference_name
from wfgateway.adapters.conductor.schedules import ScheduledCaller
from wfgateway.adapters.conductor.workflow_api import start_from_request

from wfgateway.core.backend import Backend, VariableControl
from wfgateway.core.errors import NotFound
from wfgateway.core.model import Execution, TaskAttempt
from wfgateway.core.statuses import TaskStatus
from wfgateway.dialect import Principal

MESSAGE_ID, EVENT_NAME = "conductor.event.messageId", "conductor.event.name"
_TEMPLATE = re.compile(r"(?<!\$)\$\{([^{}]*)\}")
_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")
_IDS = uuid.UUID("6f1c3f4e-2b7a-4f0e-9d35-0c7e1b5a9e21")  # names the runs events start (uuid5)

Script = Callable[[str, Mapping[str, Any]], Any]  # (expression, $) -> value: the dialect's JavaScript


# -- payload ------------------------------------------------------------------------------------
def expand(value: Any) -> Any:
    """JsonUtils.expand: strings of an object that hold a JSON object or array become that JSON (the
    server's list walk expands nothing, and neither does this)."""
    if isinstance(value, Mapping):
        return {k: _expanded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v) if isinstance(v, (Mapping, list)) else v for v in value]
    return _expanded(value)


def _expanded(value: Any) -> Any:
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return expand(value) if isinstance(value, (Mapping, list)) else value


def read_path(doc: Any, path: str) -> Any:
    """A JsonPath of the forms event handlers use; None when any step is missing."""
    text = path.strip()
    if text.startswith("$"):
        text = text[1:]
    if text and not text.startswith((".", "[")):
        text = "." + text
    value, pos = doc, 0
    while pos < len(text):
        m = _STEP.match(text, pos)
        if m is None:
            return None
        key, index = m.group(1) or m.group(3) or m.group(4), m.group(2)
        if index is not None:
            if not isinstance(value, list) or int(index) >= len(value):
                return None
            value = value[int(index)]
        elif isinstance(value, Mapping) and key in value:
            value = value[key]
        else:
            return None
        pos = m.end()
    return value


def substitute(value: Any, payload: Any) -> Any:
    """ParametersUtils.replace of an action's parameters against the payload."""
    if isinstance(value, str):
        return _text(value, payload)
    if isinstance(value, Mapping):
        return {k: substitute(v, payload) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, payload) for v in value]
    return value


def _text(text: str, payload: Any) -> Any:
    found = list(_TEMPLATE.finditer(text))
    if len(found) == 1 and found[0].span() == (0, len(text)):
        path = found[0].group(1)
        return "" if not path.strip() else read_path(payload, path)
    out = _TEMPLATE.sub(lambda m: java_text(read_path(payload, m.group(1))) if m.group(1).strip() else "", text)
    return out.replace("$${", "${")


def condition_holds(handler: Mapping[str, Any], payload: Any, script: Script) -> bool:
    """The handler's condition over the (expanded) payload; no condition holds.  EvaluationFailed when
    the script cannot be evaluated."""
    condition = handler.get("condition")
    if not isinstance(condition, str) or not condition:
        return True
    doc = expand(payload)
    if handler.get("evaluatorType") == "value-param":
        result = doc.get(condition) if isinstance(doc, Mapping) else None
    else:
        result = script(condition, doc if isinstance(doc, Mapping) else {})
    if isinstance(result, bool):
        return result
    return isinstance(result, (int, float)) and result > 0


# -- actions ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Delivery:
    """One event as an action sees it."""

    tenant: str
    event: str
    message_id: str
    payload: Any


class ActionFailed(Exception):
    """The action cannot be carried out (the server's non-transient failure): recorded, not retried."""


class Actions:
    """Runs a handler's actions on the embedded engine."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    async def run(self, action: Mapping[str, Any], delivery: Delivery, slot: str) -> dict[str, Any]:
        """The action's output; ``slot`` (message, handler, action) names what it starts, so a delivery
        repeated after a restart finds the run it started the first time."""
        kind = action.get("action")
        payload = expand(delivery.payload) if action.get("expandInlineJSON") else delivery.payload
        runs: dict[str, Callable[[], Awaitable[dict[str, Any]]]] = {
            "start_workflow": lambda: self.start_workflow(action.get("start_workflow") or {}, payload, delivery, slot),
            "complete_task": lambda: self.end_task(action.get("complete_task") or {}, payload, delivery,
                                                   TaskStatus.COMPLETED),
            "fail_task": lambda: self.end_task(action.get("fail_task") or {}, payload, delivery, TaskStatus.FAILED),
            "terminate_workflow": lambda: self.terminate(action.get("terminate_workflow") or {}, payload, delivery),
            "update_workflow_variables": lambda: self.update_variables(
                action.get("update_workflow_variables") or {}, payload, delivery),
        }
        if kind not in runs:
            raise ActionFailed(f"Action not supported {kind} for event {delivery.event}")
        return await runs[kind]()

    async def start_workflow(self, params: Mapping[str, Any], payload: Any, delivery: Delivery,
                             slot: str) -> dict[str, Any]:
        workflow_id = str(uuid.uuid5(_IDS, f"{delivery.tenant}/{slot}"))
        try:
            await self.backend.get(workflow_id, tenant=delivery.tenant)
            return {"workflowId": workflow_id}  # started before a restart cut the delivery short
        except NotFound:
            pass
        given = params.get("input")
        workflow_input = substitute(dict(given) if isinstance(given, Mapping) else {}, payload)
        workflow_input[MESSAGE_ID], workflow_input[EVENT_NAME] = delivery.message_id, delivery.event
        given_correlation = params.get("correlationId")
        correlation = None if given_correlation is None else substitute(given_correlation, payload)
        if correlation is None:  # a path the payload lacks: the server keeps the parameter as written
            correlation = given_correlation
        domains = params.get("taskToDomain") or substitute("${taskToDomain}", payload)
        body = {"name": params.get("name"), "version": params.get("version"), "input": workflow_input,
                "correlationId": None if correlation is None else java_text(correlation),
                "taskToDomain": domains if isinstance(domains, Mapping) and domains else None}
        caller = ScheduledCaller(self.backend, Principal(tenant=delivery.tenant, subject="event-handler"))
        started = await start_from_request(caller, body, {"event": delivery.event}, execution_id=workflow_id)
        return {"workflowId": started}

    async def end_task(self, details: Mapping[str, Any], payload: Any, delivery: Delivery,
                       status: TaskStatus) -> dict[str, Any]:
        given = details.get("output")
        params = {"workflowId": details.get("workflowId"), "taskId": details.get("taskId"),
                  "taskRefName": details.get("taskRefName"),
                  "reasonForIncompletion": details.get("reasonForIncompletion"),
                  **(dict(given) if isinstance(given, Mapping) else {})}
        replaced = substitute(params, payload)
        task = await self._task(replaced, delivery.tenant)
        if isinstance(task, str):
            return {**_no_nulls(replaced), "error": task}
        reason = replaced.get("reasonForIncompletion")
        output = {**_no_nulls(replaced), MESSAGE_ID: delivery.message_id, EVENT_NAME: delivery.event}
        try:
            await self.backend.complete_task(
                task.id, status, tenant=delivery.tenant, execution_id=task.execution_id, output=output,
                reason=None if status == TaskStatus.COMPLETED or reason is None else java_text(reason))
        except NotFound as exc:
            raise ActionFailed(exc.message) from None
        return _no_nulls(replaced)

    async def _task(self, params: Mapping[str, Any], tenant: str) -> TaskAttempt | str:
        """The task to end, or the server's message when there is none."""
        task_id, workflow_id, ref = params.get("taskId"), params.get("workflowId"), params.get("taskRefName")
        if isinstance(task_id, str) and task_id:
            try:
                return await self.backend.get_task(task_id, tenant=tenant)
            except NotFound:
                pass
        elif isinstance(workflow_id, str) and workflow_id and isinstance(ref, str) and ref:
            try:
                execution = await self.backend.get(workflow_id, tenant=tenant)
            except NotFound:
                return f"No workflow found with ID: {workflow_id}"
            found = by_reference(execution, ref)
            if found is not None:
                return found
        return (f"No task found with taskId: {java_text(task_id)}, reference name: {java_text(ref)}, "
                f"workflowId: {java_text(workflow_id)}")

    async def terminate(self, params: Mapping[str, Any], payload: Any, delivery: Delivery) -> dict[str, Any]:
        replaced = substitute(dict(params), payload)
        workflow_id = replaced.get("workflowId")
        if not isinstance(workflow_id, str) or not workflow_id:
            raise ActionFailed("workflowId is required to terminate a workflow")
        reason = replaced.get("terminationReason")
        try:
            await self.backend.terminate(workflow_id, None if reason is None else java_text(reason),
                                         tenant=delivery.tenant)
        except NotFound:
            raise ActionFailed(f"No such workflow found by id: {workflow_id}") from None
        return _no_nulls(replaced)

    async def update_variables(self, params: Mapping[str, Any], payload: Any, delivery: Delivery) -> dict[str, Any]:
        """Merge ``variables`` into the run's; with ``appendArray`` a value for a variable holding a list
        is appended to that list (read just before the merge)."""
        replaced = substitute(dict(params), payload)
        workflow_id, given = replaced.get("workflowId"), replaced.get("variables")
        if not isinstance(workflow_id, str) or not workflow_id:
            raise ActionFailed("workflowId is required to update a workflow's variables")
        if not isinstance(self.backend, VariableControl):
            raise ActionFailed(f"Action not supported update_workflow_variables for event {delivery.event}")
        variables = dict(given) if isinstance(given, Mapping) else {}
        try:
            if replaced.get("appendArray") is True:
                current = (await self.backend.get(workflow_id, tenant=delivery.tenant)).variables
                variables = {k: current[k] + (v if isinstance(v, list) else [v]) if isinstance(current.get(k), list)
                             else v for k, v in variables.items()}
            await self.backend.set_variables(workflow_id, variables, tenant=delivery.tenant)
        except NotFound:
            raise ActionFailed(f"No such workflow found by id: {workflow_id}") from None
        return _no_nulls(replaced)


def by_reference(execution: Execution, ref: str) -> TaskAttempt | None:
    """WorkflowModel.getTaskByRefName, and inside a DO_WHILE the task's latest iteration."""
    tasks = sorted(listed(execution.tasks), key=lambda t: t.seq)
    looped = [t for t in tasks if local_name(t) == ref and t.extra.get("iteration")]
    if looped:
        return max(looped, key=lambda t: (int(t.extra.get("iteration") or 0), t.seq))
    named = [t for t in tasks if reference_name(t) == ref]
    return named[-1] if named else None


def _no_nulls(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if v is not None}

