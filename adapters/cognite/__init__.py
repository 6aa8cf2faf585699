"""Cognite Data Workflows dialect (openapi/cognite.yaml)."""

from wfgateway.adapters.cognite import client, route_keys
from wfgateway.adapters.cognite.console import console_vocabulary
from wfgateway.adapters.cognite.dialect import CogniteDialect, create_dialect

from wfgateway.adapter import Adapter, ClientHalf

ADAPTER = Adapter(
    create_dialect=create_dialect,
    route_keys=route_keys.ROUTE_KEYS,
    backend_operations=route_keys.BACKEND_OPERATIONS,
    client=ClientHalf(client.create_client, client.CAPABILITIES),
    console=console_vocabulary,
)

__all__ = ["ADAPTER", "CogniteDialect", "console_vocabulary", "create_dialect"]
