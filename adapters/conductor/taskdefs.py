"""Conductor TaskDefs, kept in the backend so every gateway replica sees the same ones.

The Backend protocol stores workflow definitions only, so each TaskDef is stored as a one-task
definition under a tenant of its own (``<tenant>/conductor-taskdefs``): it never shows up among
the tenant's workflow definitions, and survives restarts with the rest of the store.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from typing import Any

from wfgateway.adapters.conductor import def_defaults

from wfgateway.core.backend import Backend
from wfgateway.core.errors import NotFound, ValidationFailed, Violation
from wfgateway.core.model import NOOP, TaskSpec, WorkflowDefinition

_KEY = TASK_DEF_KEY = "conductorTaskDef"  # the stored definition's extra key that holds the TaskDef JSON
TENANT_SUFFIX = "/conductor-taskdefs"


def _tenant(tenant: str) -> str:
    return f"{tenant}{TENANT_SUFFIX}"


def not_found(name: str) -> NotFound:
    return NotFound(f"No such taskType found by name: {name}")


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def violations(doc: dict[str, Any], where: str) -> list[Violation]:
    """TaskDef's class-level constraints that a schema cannot say: ``@TaskTimeoutConstraint`` (with a
    timeout, the response timeout -- 3600 when absent -- may not exceed it) and ``@Email`` ownerEmail.
    ``where`` is the TaskDef's pointer in the body ("" for the body itself)."""
    found: list[Violation] = []
    timeout = doc.get("timeoutSeconds") or 0
    response = doc.get("responseTimeoutSeconds", 3600)
    if isinstance(timeout, int) and isinstance(response, int) and timeout > 0 and response > timeout:
        found.append(Violation(
            "body", where,
            f"TaskDef: {doc.get('name')} responseTimeoutSeconds: {response} must be less than "
            f"timeoutSeconds: {timeout}"))
    email = doc.get("ownerEmail")
    if isinstance(email, str) and email and not _EMAIL.match(email):
        found.append(Violation("body", f"{where}/ownerEmail".lstrip("/"),
                               "ownerEmail should be valid email address", email))
    return found


def check(docs: list[dict[str, Any]], *, listed: bool) -> None:
    """Refuse TaskDefs sent to /metadata/taskdefs that break a class-level constraint."""
    check_at([(str(i) if listed else "", doc) for i, doc in enumerate(docs)])


def check_at(located: Iterable[tuple[str, dict[str, Any]]]) -> None:
    """Refuse (pointer, TaskDef) pairs that break a class-level constraint."""
    found = [v for where, doc in located for v in violations(doc, where)]
    if found:
        raise ValidationFailed("invalid TaskDef", violations=found)


async def put(backend: Backend, tenant: str, doc: dict[str, Any], *, created_ms: int | None = None) -> None:
    now = int(time.time() * 1000)
    stored = dict(doc)
    stored.setdefault("retryCount", 3)
    stored.setdefault("timeoutSeconds", 0)
    stored.setdefault("timeoutPolicy", "TIME_OUT_WF")
    stored.setdefault("retryLogic", "FIXED")
    stored.setdefault("retryDelaySeconds", 60)
    stored.setdefault("responseTimeoutSeconds", 3600)
    stored["createTime"] = created_ms or now  # server-set, as Conductor does
    stored["updateTime"] = now
    definition = WorkflowDefinition(
        tenant=_tenant(tenant), name=str(doc["name"]), version=1,
        tasks=[TaskSpec(ref="taskdef", kind=NOOP, name=str(doc["name"]))],
        dialect="conductor", extra={_KEY: stored}, created_ms=stored["createTime"], updated_ms=now,
    )
    await backend.put_definition(definition, overwrite=True)


async def get(backend: Backend, tenant: str, name: str) -> dict[str, Any]:
    try:
        definition = await backend.get_definition(_tenant(tenant), name, 1)
    except NotFound:
        raise not_found(name) from None
    return def_defaults.task_def(definition.extra.get(_KEY) or {"name": name})


async def find_many(backend: Backend, tenant: str, names: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The TaskDefs among ``names`` that exist."""
    found: dict[str, dict[str, Any]] = {}
    for name in set(names):
        try:
            found[name] = await get(backend, tenant, name)
        except NotFound:
            continue
    return found


async def list_all(backend: Backend, tenant: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = await backend.list_definitions(_tenant(tenant), cursor=cursor, limit=1000)
        out.extend(def_defaults.task_def(d.extra.get(_KEY) or {"name": d.name}) for d in page.items)
        cursor = page.next_cursor
        if not cursor:
            return out


async def delete(backend: Backend, tenant: str, name: str) -> None:
    try:
        await backend.delete_definition(_tenant(tenant), name, None)
    except NotFound:
        raise not_found(name) from None
