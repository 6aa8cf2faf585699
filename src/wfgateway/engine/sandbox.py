"""A sandbox: a private engine on a store of its own in memory, sharing the task kinds adapters plugged
into the engine it comes from (expanders, evaluators, failure inputs, secret resolvers).

What runs there is never seen by the gateway's store, its workers, its listeners or its searches, and
is gone when the sandbox closes.  Its HTTP tasks are not sent: like worker tasks they wait for
``complete_task`` -- a sandbox is for runs whose outside work a caller supplies (test runs with mocked
task outputs).  Sub-workflow definitions the seeded definition names (by a fixed name) are copied in
from the engine it comes from, so children start there as they would outside.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from wfgateway.core.errors import NotFound
from wfgateway.core.model import SUBWORKFLOW, TaskSpec, WorkflowDefinition
from wfgateway.engine.hooks import Hooks
from wfgateway.engine.store.sqlite import SQLiteStore


class Definitions(Protocol):
    async def get_definition(self, tenant: str, name: str, version: int | str | None = None) -> WorkflowDefinition:
        ...

    async def put_definition(self, definition: WorkflowDefinition, *, overwrite: bool = True) -> WorkflowDefinition:
        ...


MAX_DEPTH = 16  # sub-workflow definitions copied at most this deep


def _specs(specs: list[TaskSpec]) -> Iterator[TaskSpec]:
    for spec in specs:
        yield spec
        yield from _specs(spec.body or [])


def _fixed(value: Any) -> bool:
    return value is None or (isinstance(value, (str, int)) and "${" not in str(value))


def new_store() -> SQLiteStore:
    """The sandbox's store: SQLite in memory, one connection, gone when closed."""
    return SQLiteStore(":memory:")


def share_hooks(source: Hooks, own: Hooks) -> None:
    """The sandbox runs the task kinds the source runs; the source's listeners never hear of it."""
    own.expanders.update(source.expanders)
    own.evaluators.update(source.evaluators)
    own.failure_inputs.update(source.failure_inputs)
    own.secret_resolvers.extend(source.secret_resolvers)


async def copy_children(source: Definitions, box: Definitions, definition: WorkflowDefinition) -> None:
    """Copy into the sandbox the stored definitions the sub-workflow tasks of ``definition`` name by a
    fixed name (and theirs, down to MAX_DEPTH)."""
    await _copy_children(source, box, definition, set(), 0)


async def _copy_children(source: Definitions, box: Definitions, definition: WorkflowDefinition,
                         seen: set[tuple[str, Any]], depth: int) -> None:
    if depth >= MAX_DEPTH:
        return
    for spec in _specs(definition.tasks):
        params = spec.params or {}
        if spec.kind != SUBWORKFLOW or isinstance(params.get("definition"), dict):
            continue
        name, version = params.get("name"), params.get("version")
        if not isinstance(name, str) or not _fixed(name) or not _fixed(version) or (name, version) in seen:
            continue
        seen.add((name, version))
        try:
            child = await source.get_definition(definition.tenant, name, version)
        except NotFound:
            continue  # the child fails to start in the sandbox as it would outside
        await box.put_definition(child)
        await _copy_children(source, box, child, seen, depth + 1)

