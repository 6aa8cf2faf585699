"""Conductor (OSS / Orkes) dialect: the Conductor REST API at its own paths, on wfgateway's engine."""

from __future__ import annotations

from typing import Any

from adapters.conductor.dialect import ConductorDialect
from adapters.conductor.dynamic_fork import EXPANDER_NAME, expand_dynamic_fork
from wfgateway.gateway import GatewayContext


def create_dialect(settings: dict[str, Any], gateway: GatewayContext) -> ConductorDialect:
    """Build the dialect and register Conductor's FORK_JOIN_DYNAMIC expander with the engine."""
    register = getattr(gateway.engine, "register_expander", None)
    if register is not None:
        register(EXPANDER_NAME, expand_dynamic_fork)
    return ConductorDialect(settings, gateway)


__all__ = ["ConductorDialect", "create_dialect"]
