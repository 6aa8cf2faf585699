"""Small helpers the Conductor handlers share."""

from __future__ import annotations

import uuid
from typing import Protocol

from wfgateway.adapters.conductor.errors import no_such_workflow

from wfgateway.core.backend import Backend
from wfgateway.core.errors import NotFound
from wfgateway.core.model import Execution
from wfgateway.dialect import Call, Principal


class Caller(Protocol):
    """What a start needs of its call: a request's Call, or the scheduler starting a schedule's run."""

    @property
    def backend(self) -> Backend: ...

    @property
    def principal(self) -> Principal: ...


def tenant(call: Caller) -> str:
    return call.principal.tenant


def new_workflow_id() -> str:
    """Conductor ids are UUIDv4 strings."""
    return str(uuid.uuid4())


async def load_execution(call: Call, workflow_id: str, *, include_history: bool = False) -> Execution:
    """The execution, or Conductor's 404 ``No such workflow found by id: <id>``."""
    try:
        return await call.backend.get(workflow_id, tenant=tenant(call), include_history=include_history)
    except NotFound:
        raise no_such_workflow(workflow_id) from None

