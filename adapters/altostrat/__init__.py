"""Altostrat SDX Workflows: the ``/workflows`` API on wfgateway's engine."""

from wfgateway.adapters.altostrat import client, route_keys
from wfgateway.adapters.altostrat.console import console_vocabulary
from wfgateway.adapters.altostrat.dialect import AltostratDialect

from wfgateway.adapter import Adapter, ClientHalf

ADAPTER = Adapter(
    create_dialect=AltostratDialect,
    route_keys=route_keys.ROUTE_KEYS,
    backend_operations=route_keys.BACKEND_OPERATIONS,
    cross_vendor=route_keys.CROSS_VENDOR,
    client=ClientHalf(client.create_client, client.CAPABILITIES),
    console=console_vocabulary,
)

__all__ = ["ADAPTER", "AltostratDialect", "console_vocabulary"]
