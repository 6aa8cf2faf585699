"""Altostrat SDX Workflows: the ``/workflows`` API on wfgateway's engine."""

from __future__ import annotations

from typing import Any

from wfgateway.adapters.altostrat.console import console_vocabulary

from wfgateway.gateway import GatewayContext


def create_dialect(settings: dict[str, Any], gateway: GatewayContext) -> Any:
    from wfgateway.adapters.altostrat.dialect import AltostratDialect

    return AltostratDialect(settings, gateway)


__all__ = ["console_vocabulary", "create_dialect"]
