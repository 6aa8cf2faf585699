"""Conductor (OSS / Orkes) dialect: the Conductor REST API at its own paths, on wfgateway's engine."""

from __future__ import annotations

from typing import Any

from wfgateway.adapters.conductor.console import console_vocabulary
from wfgateway.adapters.conductor.definitions import DIALECT
from wfgateway.adapters.conductor.dialect import ConductorDialect
from wfgateway.adapters.conductor.dynamic_fork import EXPANDER_NAME, expand_dynamic_fork
from wfgateway.adapters.conductor.failure import failure_input
from wfgateway.adapters.conductor.scripting import DEFAULT_TIMEOUT_MS, Scripts

from wfgateway.engine.watch import shared_watch
from wfgateway.gateway import GatewayContext


def create_dialect(settings: dict[str, Any], gateway: GatewayContext) -> ConductorDialect:
    """Build the dialect and register with the engine Conductor's FORK_JOIN_DYNAMIC expander, its
    script / jq evaluators (``script_timeout_ms`` bounds one script's CPU time) and the input of
    failure workflows."""
    register = getattr(gateway.engine, "register_expander", None)
    if register is not None:
        register(EXPANDER_NAME, expand_dynamic_fork)
    register_evaluator = getattr(gateway.engine, "register_evaluator", None)
    if register_evaluator is not None:
        scripts = Scripts(int(settings.get("script_timeout_ms") or DEFAULT_TIMEOUT_MS))
        for name, fn in scripts.evaluators().items():
            register_evaluator(name, fn)
    register_failure = getattr(gateway.engine, "register_failure_input", None)
    if register_failure is not None:
        register_failure(DIALECT, failure_input)
    return ConductorDialect(settings, gateway, shared_watch(gateway.state, gateway.engine))


__all__ = ["ConductorDialect", "console_vocabulary", "create_dialect"]
