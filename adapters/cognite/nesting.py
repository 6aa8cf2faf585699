"""Cognite's nesting rule across subworkflow references.

A subworkflow task's tasks cannot be dynamic or subworkflow tasks.  For an inline subworkflow the
translator checks that; for a reference ``{workflowExternalId, version}`` the tasks are those of the
referenced version, which may be written before or after the referencing one.  So the rule is checked
when a version is written (against the versions it references that exist then) and again when an
execution starts (against what they are now).  It also means a version can never reach itself
through its references: nesting stays one level deep.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from wfgateway.adapters.cognite.errors import bad_request
from wfgateway.adapters.cognite.translate import NESTED_FORBIDDEN

from wfgateway.core.backend import Backend
from wfgateway.core.errors import NotFound
from wfgateway.core.model import WorkflowDefinition


def cognite_tasks(d: WorkflowDefinition) -> list[dict[str, Any]]:
    """The Cognite task definitions of a stored version ([] for another dialect's definition)."""
    return list(d.extra.get("cognite", {}).get("workflowDefinition", {}).get("tasks") or [])


def references(tasks: Sequence[Mapping[str, Any]]) -> Iterator[tuple[str, str, str]]:
    """(task externalId, referenced workflow, referenced version) of every subworkflow reference."""
    for t in tasks:
        sub = (t.get("parameters") or {}).get("subworkflow") if t.get("type") == "subworkflow" else None
        if isinstance(sub, Mapping) and "workflowExternalId" in sub:
            yield t["externalId"], str(sub["workflowExternalId"]), str(sub["version"])


async def check_references(backend: Backend, project: str, workflow_xid: str, version: str,
                           tasks: Sequence[Mapping[str, Any]]) -> None:
    """400 when a subworkflow task of ``workflow_xid``/``version`` references a version (itself
    included) that has dynamic or subworkflow tasks.  Versions that do not exist are left to the
    run, whose subworkflow task then fails."""
    for task_xid, wf, ver in references(tasks):
        if (wf, ver) == (workflow_xid, version):
            nested: Sequence[Mapping[str, Any]] = list(tasks)
        else:
            try:
                nested = cognite_tasks(await backend.get_definition(project, wf, ver))
            except NotFound:
                continue
        bad = [t["externalId"] for t in nested if t.get("type") in NESTED_FORBIDDEN]
        if bad:
            raise bad_request(
                f"Task '{task_xid}': the subworkflow it references ('{wf}' version '{ver}') has dynamic or "
                f"subworkflow tasks ({', '.join(bad)}); a subworkflow's tasks cannot be dynamic or subworkflow tasks")
