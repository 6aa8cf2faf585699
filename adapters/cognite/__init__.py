"""Cognite Data Workflows dialect (openapi/cognite.yaml): ``create_dialect(settings, gateway)``."""

from wfgateway.adapters.cognite.console import console_vocabulary
from wfgateway.adapters.cognite.dialect import CogniteDialect, create_dialect

__all__ = ["CogniteDialect", "console_vocabulary", "create_dialect"]
