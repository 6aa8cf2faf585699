"""/api/metadata beyond storing definitions: checking a WorkflowDef without registering it
(POST /api/metadata/workflow/validate, as the OSS server's MetadataResource.validate)."""

from __future__ import annotations

from starlette.responses import Response
from wfgateway.adapters.conductor.common import tenant
from wfgateway.adapters.conductor.metadata_api import translate
from wfgateway.adapters.conductor.responses import empty_response

from wfgateway.core.backend import DefinitionChecks
from wfgateway.dialect import Call


async def validate_workflow_def(call: Call) -> Response:
    """200 with no body when registering the definition would be accepted; otherwise the 400 the
    registration answers (the spec's constraint violations, then the translation's and the engine's
    checks).  Nothing is stored, and a name and version that exist are no conflict."""
    definition = await translate(call.backend, tenant(call), call.body)
    if isinstance(call.backend, DefinitionChecks):
        await call.backend.check_definition(definition)
    return empty_response()


HANDLERS = {
    "validateWorkflowDef": validate_workflow_def,
}
