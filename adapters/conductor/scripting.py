"""Conductor's evaluators on the engine: javascript / graaljs (QuickJS), value-param and jq.

The engine runs ``compute`` tasks, evaluated SWITCH values and loop conditions by calling the evaluator
a task's params name (``params["evaluator"]``) with the task's resolved input.  These are Conductor's:

- ``conductor.inline``: INLINE -- ``{"result": <value>}`` of ``expression`` under ``evaluatorType``,
  with ``$`` bound to the whole task input, as Conductor's Inline task does.
- ``conductor.switch``: the value a SWITCH (evaluatorType javascript / graaljs) branches on.
- ``conductor.loop``: a DO_WHILE ``loopCondition``, true to run another iteration.
- ``conductor.lambda``: LAMBDA -- ``{"result": <value>}`` of ``scriptExpression`` run as the body of a
  function (so it ``return``s its value), with ``$`` bound to the whole task input, as the OSS server's
  Lambda task wraps it.
- ``conductor.jq``: JSON_JQ_TRANSFORM -- ``{"result": first, "resultList": all}`` of ``queryExpression``
  applied to the whole task input.

Each script runs in a fresh QuickJS context with a CPU-time, memory and stack limit, and each jq query in
a worker process with the same time limit and a memory cap (``jq_sandbox.py``), so a runaway or hostile
expression fails its task (EvaluationFailed, the error as the reason) instead of stalling the gateway.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import orjson
import quickjs
from wfgateway.adapters.conductor.jq_sandbox import JqSandbox

from wfgateway.core.errors import EvaluationFailed
from wfgateway.exact_json import dumps_text

INLINE = "conductor.inline"
SWITCH = "conductor.switch"
LOOP = "conductor.loop"
JQ = "conductor.jq"
LAMBDA = "conductor.lambda"
JS_EVALUATORS = frozenset({"javascript", "graaljs"})
INLINE_EVALUATORS = JS_EVALUATORS | {"value-param"}
DEFAULT_TIMEOUT_MS = 2000
_MEMORY_LIMIT = 64 * 1024 * 1024
_STACK_LIMIT = 1024 * 1024


class Scripts:
    """The evaluators, bound to one time limit (the dialect's ``script_timeout_ms``)."""

    def __init__(self, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
        self.timeout_s = max(int(timeout_ms), 1) / 1000
        self.jq = JqSandbox(self.timeout_s)

    def evaluators(self) -> dict[str, Callable[[dict[str, Any], Any], Any]]:
        return {INLINE: self.inline, SWITCH: self.switch, LOOP: self.loop, JQ: self.jq_transform, LAMBDA: self.lambda_script}

    def inline(self, params: dict[str, Any], data: Any) -> dict[str, Any]:
        """Conductor's Inline task: evaluatorType and expression come from the (resolved) input; a
        failure also puts its message in the output's ``error``."""
        try:
            return self._inline(data)
        except EvaluationFailed as exc:
            raise EvaluationFailed(exc.message, output={"error": exc.message}) from None

    def _inline(self, data: Any) -> dict[str, Any]:
        task_input = data if isinstance(data, Mapping) else {}
        evaluator = task_input.get("evaluatorType")
        expression = task_input.get("expression")
        if not isinstance(evaluator, str) or not evaluator.strip():
            raise EvaluationFailed("Empty 'evaluatorType' in Inline task's input parameters. "
                                   "A non-empty String value must be provided.")
        if evaluator not in INLINE_EVALUATORS:
            raise EvaluationFailed(f"Unknown evaluator '{evaluator}' in Inline task.")
        if not isinstance(expression, str) or not expression.strip():
            raise EvaluationFailed("Empty 'expression' in Inline task's input parameters. "
                                   "A non-empty String value must be provided.")
        if evaluator == "value-param":
            return {"result": task_input.get(expression)}
        return {"result": self.run(expression, task_input)}

    def lambda_script(self, params: dict[str, Any], data: Any) -> dict[str, Any]:
        """The OSS server's (deprecated) Lambda task: ``scriptExpression`` is the body of a function the
        script then calls; a script error also puts its message in the output's ``error``."""
        task_input = data if isinstance(data, Mapping) else {}
        script = task_input.get("scriptExpression")
        if not isinstance(script, str) or not script.strip():
            raise EvaluationFailed("Empty 'scriptExpression' in Lambda task's input parameters. "
                                   "A non-empty String value must be provided.")
        try:
            return {"result": self.run("function scriptFun(){" + script + "} scriptFun();", task_input)}
        except EvaluationFailed as exc:
            raise EvaluationFailed(exc.message, output={"error": exc.message}) from None

    def switch(self, params: dict[str, Any], data: Any) -> Any:
        return self.run(str(params.get("expression") or ""), data if isinstance(data, Mapping) else {})

    def loop(self, params: dict[str, Any], data: Any) -> bool:
        """DO_WHILE: ``$`` is the loop's input plus each loop task's latest output (and the loop's own
        output under its reference name); true or a positive number runs another iteration."""
        condition = params.get("condition")
        if not isinstance(condition, str) or not condition.strip():
            return False
        bindings = dict(data.get("input") or {}) if isinstance(data, Mapping) else {}
        if isinstance(data, Mapping):
            bindings.update(data.get("tasks") or {})
            bindings[str(params.get("ref"))] = data.get("output") or {}
        try:
            value = self.run(condition, bindings)
        except EvaluationFailed as exc:
            raise EvaluationFailed(f"Unable to evaluate condition {condition}, exception {exc.message}") from None
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)):
            return value > 0
        return False

    def jq_transform(self, params: dict[str, Any], data: Any) -> dict[str, Any]:
        """Conductor's JSON_JQ_TRANSFORM: the query runs over the whole task input (in the jq sandbox, under
        the same time limit as a script)."""
        task_input = data if isinstance(data, Mapping) else {}
        query = task_input.get("queryExpression")
        if not isinstance(query, str):
            raise EvaluationFailed("Missing 'queryExpression' in input parameters")
        results = self.jq.run(query, task_input)
        return {"result": results[0] if results else None, "resultList": results}

    def run(self, expression: str, bindings: Mapping[str, Any]) -> Any:
        """Evaluate ``expression`` with ``$`` = ``bindings``; the value of its last statement, as JSON."""
        ctx = quickjs.Context()
        ctx.set_time_limit(self.timeout_s)
        ctx.set_memory_limit(_MEMORY_LIMIT)
        ctx.set_max_stack_size(_STACK_LIMIT)
        try:
            ctx.set("$", ctx.parse_json(dumps_text(bindings)))
            value = ctx.eval(expression)
            if isinstance(value, quickjs.Object):
                text = value.json()
                value = None if text is None else orjson.loads(text)
        except quickjs.JSException as exc:
            raise EvaluationFailed(_js_message(exc, self.timeout_s)) from None
        except quickjs.StackOverflow:
            raise EvaluationFailed("RangeError: Maximum call stack size exceeded") from None
        except MemoryError:
            raise EvaluationFailed("RangeError: out of memory") from None
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            return None  # not representable in JSON
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            return int(value)
        return value


def _js_message(exc: Exception, timeout_s: float) -> str:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    if first == "InternalError: interrupted":
        return f"Script execution timed out after {int(timeout_s * 1000)} ms"
    return first
