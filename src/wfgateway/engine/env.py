"""What the decider's helpers see of the unit of work (``Env``) and the one way they call an evaluator."""

from __future__ import annotations

from typing import Any, Protocol

from wfgateway.core.errors import EvaluationFailed
from wfgateway.engine.domains import Pollers
from wfgateway.engine.hooks import Evaluator, Expander


class Env(Protocol):
    now: int
    expanders: dict[str, Expander]
    evaluators: dict[str, Evaluator]
    pollers: Pollers  # recent worker polls per domain (which domain of a list a task joins)


def evaluate(env: Env, params: dict[str, Any], data: Any) -> Any:
    """Run the evaluator ``params["evaluator"]`` names; every failure is an EvaluationFailed."""
    name = params.get("evaluator")
    fn = env.evaluators.get(name) if isinstance(name, str) else None
    if fn is None:
        raise EvaluationFailed(f"No evaluator registered for '{name}'")
    try:
        return fn(params, data)
    except EvaluationFailed:
        raise
    except Exception as exc:  # the evaluator is adapter code: its bug fails the task, not the engine
        raise EvaluationFailed(f"{type(exc).__name__}: {exc}") from exc
