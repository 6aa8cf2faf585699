"""Cognite Data Workflows dialect (openapi/cognite.yaml): ``create_dialect(settings, gateway)``."""

from wfgateway.adapters.cognite.dialect import CogniteDialect, create_dialect

__all__ = ["CogniteDialect", "create_dialect"]
