"""CDF's Data Workflows limits (docs: "Limits and restrictions"): 50 concurrent executions per
project, a workflow's own ``maxConcurrentExecutions`` within that (values above it are capped, as
the SDK documents), 200 tasks in one execution counting those dynamic tasks generate, and 24 hours
for an execution.

CDF does not document its answer to a run past the concurrency limit; the gateway answers 429 (the
status CDF gives for requests that conflict with concurrent work), which the SDK retries with
backoff, so a run waits for a free slot for as long as the SDK's retries last.  A trigger that fires
past the limit records the refusal in its history.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wfgateway.adapters.cognite.errors import bad_request
from wfgateway.adapters.cognite.state import KeyValue, key

from wfgateway.core.backend import Backend
from wfgateway.core.errors import InvalidArgument, NotImplementedByBackend, TooManyRequests
from wfgateway.core.statuses import ExecutionStatus

PROJECT_CONCURRENT_EXECUTIONS = 50
MAX_TASKS = 200
MAX_EXECUTION_MS = 24 * 60 * 60 * 1000
WORKFLOWS = "workflow"  # the workflow rows' namespace (handlers/workflows.py writes them)
ACTIVE = [ExecutionStatus.RUNNING, ExecutionStatus.PAUSED]


async def running_count(backend: Backend, project: str, workflow: str | None, at_most: int) -> int:
    """Top-level executions (not subworkflow children) RUNNING in the project, or of one workflow."""
    page = await backend.search(project, name=workflow, statuses=ACTIVE, limit=max(at_most, 1) * 4,
                                count=False)
    return sum(1 for e in page.items if e.parent_execution_id is None)


async def check_concurrency(backend: Backend, kv: KeyValue, project: str, workflow: str) -> None:
    """429 when starting another execution of ``workflow`` would pass its or the project's limit.

    A backend that cannot count running executions (another vendor's upstream that lists the runs of one
    workflow at a time) keeps its own limits: the run is passed on, not refused for a count it cannot give."""
    row = await kv.get(WORKFLOWS, key(project, workflow)) or {}
    cap = min(int(row.get("maxConcurrentExecutions") or PROJECT_CONCURRENT_EXECUTIONS),
              PROJECT_CONCURRENT_EXECUTIONS)
    try:
        await _check_counts(backend, project, workflow, cap)
    except NotImplementedByBackend:
        return


async def _check_counts(backend: Backend, project: str, workflow: str, cap: int) -> None:
    if await running_count(backend, project, workflow, cap) >= cap:
        raise TooManyRequests(f"Workflow '{workflow}' already has {cap} running executions, the maximum "
                              "concurrent executions allowed for it")
    if await running_count(backend, project, None, PROJECT_CONCURRENT_EXECUTIONS) >= PROJECT_CONCURRENT_EXECUTIONS:
        raise TooManyRequests(f"The project already has {PROJECT_CONCURRENT_EXECUTIONS} running workflow "
                              "executions, the maximum allowed")


def definition_task_count(tasks: list[Mapping[str, Any]]) -> int:
    """Tasks in a Cognite definition, counting the tasks of inline subworkflows."""
    total = 0
    for t in tasks:
        total += 1
        inline = ((t.get("parameters") or {}).get("subworkflow") or {}).get("tasks")
        if isinstance(inline, list):
            total += definition_task_count(inline)
    return total


def definition_refs(tasks: list[Mapping[str, Any]]) -> list[str]:
    out = []
    for t in tasks:
        out.append(t["externalId"])
        inline = ((t.get("parameters") or {}).get("subworkflow") or {}).get("tasks")
        if isinstance(inline, list):
            out.extend(definition_refs(inline))
    return out


def check_definition_size(tasks: list[Mapping[str, Any]]) -> None:
    count = definition_task_count(tasks)
    if count > MAX_TASKS:
        raise bad_request(f"The workflow definition has {count} tasks (inline subworkflow tasks included); "
                          f"at most {MAX_TASKS} are allowed")


def check_expansion(execution: Any, new_tasks: int) -> None:
    """A dynamic task may not take the execution past 200 tasks (counting what earlier dynamic tasks
    generated); the dynamic task then fails with this reason."""
    definition = getattr(execution, "definition", None)
    static = (definition.extra.get("cognite", {}).get("workflowDefinition", {}).get("tasks") or []
              if definition is not None else [])
    static_refs = set(definition_refs(static))
    generated = {a.ref for a in getattr(execution, "tasks", []) if a.parent_attempt_id and a.ref not in static_refs}
    total = definition_task_count(static) + len(generated) + new_tasks
    if total > MAX_TASKS:
        raise InvalidArgument(f"The execution would have {total} tasks, counting those dynamic tasks generate; "
                              f"at most {MAX_TASKS} are allowed")
