"""The handlers of openapi/cognite.yaml, by operationId."""

from __future__ import annotations

from typing import Any

from wfgateway.adapters.cognite.handlers import executions, sessions, triggers, versions, workflows
from wfgateway.adapters.cognite.service import CogniteService


def all_handlers(svc: CogniteService) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for module in (sessions, workflows, versions, executions, triggers):
        out.update(module.handlers(svc))
    return out
