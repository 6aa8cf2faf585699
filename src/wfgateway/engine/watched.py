"""Which executions publish their changes to every replica, and to whom.

A caller waiting on an execution must also wake when one of its sub-workflows changes, at any depth
and in whichever process commits the change.  So an execution is *watched* when
``metadata[WATCHED]`` is set: ``True`` on the execution a caller waits on, and on each of its
sub-workflows the ids of its watched ancestors, nearest first -- set when the engine starts the
child, so it travels with the row and any replica that commits a change of the child can name
every execution a waiter may be waiting on, without reading anything more.  Executions nobody
watches cost nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

WATCHED = "wfgateway.watched"  # metadata key: changes of this execution are published to every replica


def ancestors(metadata: Mapping[str, Any]) -> list[str]:
    """The watched ancestors of an execution with this metadata, nearest first."""
    value = metadata.get(WATCHED)
    return [str(x) for x in value] if isinstance(value, list) else []


def inherited(parent_id: str, parent_metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The metadata a sub-workflow of a watched parent starts with (nothing for an unwatched one)."""
    if not parent_metadata.get(WATCHED):
        return {}
    return {WATCHED: [parent_id, *ancestors(parent_metadata)]}


def unwatched(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """``metadata`` without the mark (a copy of a watched execution is not waited on)."""
    return {k: v for k, v in metadata.items() if k != WATCHED}
