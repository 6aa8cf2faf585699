"""What a START_WORKFLOW runs for a ``workflowDef`` given inline: its tasks take the TaskDefs registered
under their names when the run starts, as the OSS server's WorkflowExecutor does for every start
(MetadataMapperService.populateTaskDefinitions) -- a task with a ``taskDefinition`` of its own keeps it.

The START_WORKFLOW evaluator cannot read the store, so it hands the engine the definition without
TaskDefs (to check it at once) and a ``definition_from`` naming the TaskDefs to look up; the engine
reads those when it starts the run and asks ``with_task_defs`` for the definition they give."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wfgateway.adapters.conductor import taskdefs
from wfgateway.adapters.conductor.definitions import inline_body, referenced_task_names

EVALUATOR = "conductor.inline_workflow_def"


def inline_request(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The start request's fields for an inline WorkflowDef (InvalidArgument / ValidationFailed when it
    cannot be translated): ``definition`` as given, ``definition_from`` when a task may take a TaskDef."""
    out: dict[str, Any] = {"definition": inline_body(doc)}
    names = sorted(referenced_task_names(doc))
    if names:
        out["definition_from"] = {"evaluator": EVALUATOR, "definitions_of": taskdefs.TENANT_SUFFIX,
                                  "names": names, "doc": dict(doc)}
    return out


def with_task_defs(params: dict[str, Any], found: Any) -> dict[str, Any]:
    """The evaluator ``definition_from`` names: the inline WorkflowDef (``params["doc"]``) translated with
    the TaskDefs found (``found``: the extra of each stored TaskDef definition, by name)."""
    defs = {}
    for name, extra in (found.items() if isinstance(found, Mapping) else ()):
        stored = extra.get(taskdefs.TASK_DEF_KEY) if isinstance(extra, Mapping) else None
        if isinstance(stored, Mapping):
            defs[str(name)] = stored
    return inline_body(params["doc"], defs)

