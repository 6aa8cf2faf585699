"""Conductor (OSS / Orkes) dialect: the Conductor REST API at its own paths, on wfgateway's engine."""

from __future__ import annotations

from typing import Any

from wfgateway.adapters.conductor import client, route_keys, start_workflow, upstream_auth
from wfgateway.adapters.conductor.console import console_vocabulary
from wfgateway.adapters.conductor.definitions import DIALECT
from wfgateway.adapters.conductor.dialect import ConductorDialect
from wfgateway.adapters.conductor.dynamic_fork import EXPANDER_NAME, expand_dynamic_fork
from wfgateway.adapters.conductor.event_task import EVALUATOR as EVENT
from wfgateway.adapters.conductor.event_task import publish
from wfgateway.adapters.conductor.exclusive_join import EVALUATOR as EXCLUSIVE_JOIN
from wfgateway.adapters.conductor.exclusive_join import exclusive_join
from wfgateway.adapters.conductor.failure import failure_input
from wfgateway.adapters.conductor.inline_start import EVALUATOR as INLINE_DEF
from wfgateway.adapters.conductor.inline_start import inline_request, with_task_defs
from wfgateway.adapters.conductor.scripting import DEFAULT_TIMEOUT_MS, Scripts
from wfgateway.adapters.conductor.start_workflow import EVALUATOR as START_WORKFLOW
from wfgateway.adapters.conductor.task_def_rules import RULES_EVALUATOR, rules_of_task_def
from wfgateway.adapters.conductor.task_params import UNMAPPED_EVALUATOR, unmapped_reason

from wfgateway.adapter import Adapter, ClientHalf
from wfgateway.gateway import GatewayContext


def create_dialect(settings: dict[str, Any], gateway: GatewayContext) -> ConductorDialect:
    """Build the dialect and register with the engine Conductor's FORK_JOIN_DYNAMIC expander, its
    script / jq evaluators (``script_timeout_ms`` bounds one script's CPU time), the reader of a
    START_WORKFLOW's request, the EVENT publisher (the dialect's event handlers consume what it publishes),
    the EXCLUSIVE_JOIN, the rules of a DYNAMIC task's TaskDef
    and the input of failure workflows."""
    gateway.hooks.register_expander(EXPANDER_NAME, expand_dynamic_fork)
    scripts = Scripts(int(settings.get("script_timeout_ms") or DEFAULT_TIMEOUT_MS))
    for name, fn in scripts.evaluators().items():
        gateway.hooks.register_evaluator(name, fn)
    gateway.hooks.register_evaluator(START_WORKFLOW, start_workflow.evaluator(inline_request))
    gateway.hooks.register_evaluator(INLINE_DEF, with_task_defs)
    gateway.hooks.register_evaluator(EVENT, publish)
    gateway.hooks.register_evaluator(EXCLUSIVE_JOIN, exclusive_join)
    gateway.hooks.register_evaluator(RULES_EVALUATOR, rules_of_task_def)
    gateway.hooks.register_evaluator(UNMAPPED_EVALUATOR, unmapped_reason)
    gateway.hooks.register_failure_input(DIALECT, failure_input)
    return ConductorDialect(settings, gateway, scripts.run)


ADAPTER = Adapter(
    create_dialect=create_dialect,
    route_keys=route_keys.ROUTE_KEYS,
    backend_operations=route_keys.BACKEND_OPERATIONS,
    client=ClientHalf(client.create_client, client.CAPABILITIES),
    upstream_auth=upstream_auth.create_upstream_auth,
    console=console_vocabulary,
)

__all__ = ["ADAPTER", "ConductorDialect", "console_vocabulary", "create_dialect"]
