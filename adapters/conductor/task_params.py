"""The engine params of each Conductor system task type, read from its workflowTask (and its input
parameters) at registration: what a SWITCH branches on, an INLINE / JSON_JQ_TRANSFORM's evaluator, an
HTTP task's request, a WAIT's duration, an EVENT's sink, a DYNAMIC task's name; and the rewrite of
templates that read an HTTP task's output into the engine's shape."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from wfgateway.adapters.conductor import event_task, scripting
from wfgateway.adapters.conductor.durations import BadDuration, parse_duration_ms, parse_until_ms
from wfgateway.adapters.conductor.java_text import java_text

from wfgateway.core.errors import InvalidArgument, ValidationFailed, Violation


def switch_params(wt: Mapping[str, Any]) -> dict[str, Any]:
    """What the SWITCH branches on: value-param (and DECISION's caseValueParam) name an input parameter
    (a template, resolved when the switch runs); javascript / graaljs evaluate ``expression`` with ``$``
    bound to the switch's input."""
    inp = dict(wt.get("inputParameters") or {})
    if wt.get("type") == "DECISION" and wt.get("caseValueParam"):
        return {"value": inp.get(wt["caseValueParam"])}
    evaluator = str(wt.get("evaluatorType") or "value-param")
    expression = str(wt.get("expression") or wt.get("caseExpression") or "")
    if evaluator == "value-param":
        return {"value": inp.get(expression)}
    if evaluator in scripting.JS_EVALUATORS:
        if not expression.strip():
            raise InvalidArgument(f"SWITCH task {wt.get('taskReferenceName')}: evaluatorType {evaluator} needs "
                                  "an expression")
        return {"evaluator": scripting.SWITCH, "expression": expression}
    raise InvalidArgument(
        f"SWITCH task {wt.get('taskReferenceName')}: evaluatorType {evaluator} is not supported by this gateway "
        "(use value-param, javascript or graaljs)"
    )


def inline_params(wt: Mapping[str, Any], inp: Mapping[str, Any]) -> dict[str, Any]:
    """INLINE reads evaluatorType and expression from its own (resolved) input, as Conductor does."""
    ref = wt.get("taskReferenceName")
    evaluator, expression = inp.get("evaluatorType"), inp.get("expression")
    if not isinstance(evaluator, str) or not evaluator.strip():
        raise InvalidArgument(f"INLINE task {ref}: inputParameters.evaluatorType is required "
                              "(javascript, graaljs or value-param)")
    if "${" not in evaluator and evaluator not in scripting.INLINE_EVALUATORS:
        raise InvalidArgument(f"INLINE task {ref}: evaluatorType {evaluator} is not supported "
                              "(javascript, graaljs or value-param)")
    if not isinstance(expression, str) or not expression.strip():
        raise InvalidArgument(f"INLINE task {ref}: inputParameters.expression is required")
    return {"evaluator": scripting.INLINE}


def event_params(wt: Mapping[str, Any]) -> dict[str, Any]:
    """EVENT needs a sink (the OSS server's WorkflowTaskTypeConstraint); asyncComplete keeps it IN_PROGRESS
    once published, until a task update ends it."""
    if wt.get("sink") is None:
        raise ValidationFailed("EVENT task without a sink", violations=[Violation(
            "body", "tasks", f"sink field is required for taskType: EVENT taskName: {wt.get('name')}", None)])
    params = event_task.event_params(str(wt.get("taskReferenceName")))
    if wt.get("asyncComplete") is True:
        params["hold"] = True
    return params


def dynamic_params(wt: Mapping[str, Any], inp: Mapping[str, Any]) -> dict[str, Any]:
    """DYNAMIC: the task's name is the input parameter its dynamicTaskNameParam names (the OSS server's
    WorkflowTaskTypeConstraint requires that field; its DynamicTaskMapper reads the name when scheduling)."""
    param = wt.get("dynamicTaskNameParam")
    if param is None:
        raise ValidationFailed("DYNAMIC task without dynamicTaskNameParam", violations=[Violation(
            "body", "tasks", f"dynamicTaskNameParam field is required for taskType: DYNAMIC taskName: {wt.get('name')}",
            None)])
    return {"name": inp.get(str(param)), "missing_name_from": {"evaluator": UNMAPPED_EVALUATOR, "param": str(param)},
            "unresolved_ends_run": True}


UNMAPPED_EVALUATOR = "conductor.dynamic_unmapped"


def unmapped_reason(params: dict[str, Any], task_input: Any) -> str:
    """The TerminateWorkflowException reason of DynamicTaskMapper.getDynamicTaskName: the parameter and the
    task's input (as Java writes the map)."""
    return (f"Cannot map a dynamic task based on the parameter and input. Parameter= {params.get('param')}, "
            f"input= {java_text(task_input if isinstance(task_input, dict) else {})}")


def jq_params(wt: Mapping[str, Any], inp: Mapping[str, Any]) -> dict[str, Any]:
    query = inp.get("queryExpression")
    if not isinstance(query, str) or not query.strip():
        raise InvalidArgument(f"JSON_JQ_TRANSFORM task {wt.get('taskReferenceName')}: "
                              "inputParameters.queryExpression is required")
    return {"evaluator": scripting.JQ}


def http_params(wt: Mapping[str, Any], inp: Mapping[str, Any]) -> dict[str, Any]:
    nested = inp.get("http_request")
    request: Mapping[str, Any] = nested if isinstance(nested, dict) else inp
    url = request.get("uri") or request.get("url")
    if not url:
        raise InvalidArgument(f"HTTP task {wt.get('taskReferenceName')} needs inputParameters.http_request.uri")
    headers = dict(request.get("headers") or {})
    if request.get("accept"):
        headers.setdefault("Accept", request["accept"])
    if request.get("contentType"):
        headers.setdefault("Content-Type", request["contentType"])
    params: dict[str, Any] = {"method": str(request.get("method") or "GET").upper(), "url": url, "headers": headers,
                              "body": request.get("body")}
    timeout = request.get("readTimeOut") or request.get("connectionTimeOut")
    if isinstance(timeout, int) and timeout > 0:
        params["timeout_ms"] = timeout
    return params


def wait_params(wt: Mapping[str, Any], inp: Mapping[str, Any]) -> dict[str, Any]:
    try:
        duration, until = inp.get("duration"), inp.get("until")
        if isinstance(duration, str) and "${" not in duration:
            return {"duration_ms": parse_duration_ms(duration)}
        if isinstance(until, str) and "${" not in until:
            return {"until_ms": parse_until_ms(until)}
    except BadDuration as exc:
        raise InvalidArgument(f"WAIT task {wt.get('taskReferenceName')}: {exc}") from None
    return {}


_HTTP_FIELDS = {"body": "body", "statusCode": "status", "headers": "headers"}


def rewrite_http_templates(value: Any, http_refs: set[str]) -> Any:
    """Conductor's HTTP task output is ``{response: {body, statusCode, headers, reasonPhrase}}``; the
    engine's is ``{status, headers, body}``.  Templates that read an HTTP task's output are rewritten
    to the engine's shape (Task JSON shows Conductor's shape again, see render.py)."""
    if isinstance(value, str) and "${" in value:
        def swap(match: re.Match[str]) -> str:
            ref, rest = match.group(1), match.group(2) or ""
            if ref not in http_refs:
                return match.group(0)
            field, _, tail = rest.partition(".")
            mapped = _HTTP_FIELDS.get(field) if field else None
            if field and mapped is None:
                return match.group(0)
            path = ".".join(p for p in (mapped, tail) if p)
            return "${" + ref + ".output" + ("." + path if path else "") + "}"
        return _HTTP_TEMPLATE.sub(swap, value)
    if isinstance(value, dict):
        return {k: rewrite_http_templates(v, http_refs) for k, v in value.items()}
    if isinstance(value, list):
        return [rewrite_http_templates(v, http_refs) for v in value]
    return value


_HTTP_TEMPLATE = re.compile(r"\$\{\s*([^.{}\s]+)\.output\.response(?:\.([^{}\s]*))?\s*\}")
