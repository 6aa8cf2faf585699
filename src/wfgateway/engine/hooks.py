"""What adapters plug into the engine: expanders, evaluators, failure inputs, secret resolvers, listeners.

One registry object, so the unit of work and the operation modules read the hooks through a declared
type instead of reaching into the engine's private members.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from wfgateway.core.model import Execution, TaskSpec
from wfgateway.engine.events import EngineEvent

# fn(resolved_params, spec, execution) -> the specs a dynamic task runs
Expander = Callable[[dict[str, Any], TaskSpec, Execution], list[TaskSpec]]
# fn(resolved_params, data) -> value; raises EvaluationFailed to fail the task
Evaluator = Callable[[dict[str, Any], Any], Any]
# fn(failed_execution) -> input of the definition's on_failure workflow
FailureInput = Callable[[Execution], dict[str, Any]]
# fn(tenant, name) -> the secret's value, or None when this resolver does not know it; a coroutine
# when it looks the value up in a store
SecretResolver = Callable[[str, str], "str | None | Awaitable[str | None]"]
# fn(event) after each commit; may return an awaitable (scheduled, not awaited)
Listener = Callable[[EngineEvent], Any]


@dataclass
class Hooks:
    expanders: dict[str, Expander] = field(default_factory=dict)  # by dialect (or params["expander"])
    evaluators: dict[str, Evaluator] = field(default_factory=dict)  # by params["evaluator"]
    failure_inputs: dict[str, FailureInput] = field(default_factory=dict)  # by dialect
    secret_resolvers: list[SecretResolver] = field(default_factory=list)
    listeners: list[Listener] = field(default_factory=list)

    async def resolve_secret(self, tenant: str, name: str) -> str | None:
        """The first resolver's answer (they are asked in registration order)."""
        for fn in self.secret_resolvers:
            got = fn(tenant, name)
            if inspect.isawaitable(got):
                got = await got
            if got is not None:
                return got
        return None
