"""Cognite's words in the web console: executionId and Cognite's statuses, the console login with a
project token, and the console's retry and cancel as Cognite's own operations (a session's nonce
first, as the SDK does), so Cognite's retry rules and refusals apply to Cognite runs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wfgateway.adapters.cognite.render import (
    EXECUTION_STATUS,
    KIND_TO_TYPE,
    info_from_spec,
    nested_external_id,
)
from wfgateway.adapters.cognite.security import ANY_PROJECT
from wfgateway.adapters.cognite.translate import DIALECT

from wfgateway.console.vocabulary import ActionRequest, Identity, Perform, Refused, RunWords, TaskOf
from wfgateway.core.errors import GatewayError
from wfgateway.core.model import Execution, TaskAttempt, WorkflowDefinition


class CogniteVocabulary:
    dialect = DIALECT
    title = "Cognite"
    actions = frozenset({"retry", "terminate"})  # Cognite's executions/{id}/retry and /cancel
    ui_links: Mapping[str, str] = {}  # no UI paths printed by its SDKs
    action_labels: Mapping[str, str] = {"terminate": "Cancel"}  # what CDF calls it (executions/{id}/cancel)

    def __init__(self, dialect: Any) -> None:
        self._auth = dialect.auth

    @property
    def open_mode(self) -> bool:
        return bool(self._auth.open_mode)

    def login_fields(self) -> tuple[str, ...]:
        return ("token",)

    async def login(self, fields: Mapping[str, str]) -> Identity:
        try:
            grant = self._auth.grant_for({"authorization": f"Bearer {fields.get('token') or ''}"})
        except GatewayError as exc:
            raise Refused(exc.message, exc.status) from None
        if grant is None:
            return Identity("anonymous", DIALECT, None)
        tenants = None if ANY_PROJECT in grant.projects else frozenset(grant.projects)
        return Identity(grant.subject, DIALECT, tenants)

    def shown_input(self, execution: Execution) -> Any:
        return execution.input

    def words(self, execution: Execution) -> RunWords:
        return RunWords(self.title, "executionId", EXECUTION_STATUS.get(execution.status, str(execution.status)))

    def task_label(self, task: TaskOf) -> str | None:
        """The task's CDF type (function, transformation, cdf, dynamic, subworkflow, simulation), not
        how the gateway runs it (a function with no endpoint is a wait for its callback)."""
        if task.spec is not None:  # as executedTasks' taskType says (another dialect's task: the function it acts as)
            return info_from_spec(task.spec).type
        a = task.attempt
        if a is None:
            return None
        upstream = a.extra.get("cognite")  # a task an upstream CDF answered
        if isinstance(upstream, Mapping) and upstream.get("taskType"):
            return str(upstream["taskType"])
        if task.container is not None:  # a dynamic task's: the type its resolved task list gave it
            listed = _listed(task.container).get(nested_external_id(a.ref, task.container.ref))
            if listed:
                return listed
        return KIND_TO_TYPE.get(a.kind, "function")

    def refusal(self, status: int, body: Any) -> str:
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        return f"HTTP {status}"

    async def _nonce(self, tenant: str, perform: Perform) -> str:
        sessions = await perform("createSessions", path={"project": tenant}, body={"items": [{"tokenExchange": True}]})
        return str(sessions["items"][0]["nonce"])

    async def act(self, request: ActionRequest, perform: Perform) -> str:
        e = request.execution
        path = {"project": e.tenant, "executionId": e.id}
        if request.action == "retry":
            nonce = await self._nonce(e.tenant, perform)
            await perform("retryWorkflowExecution", path=path, body={"authentication": {"nonce": nonce}})
        elif request.action == "terminate":
            await perform("cancelWorkflowExecution", path=path,
                          body={"reason": request.reason} if request.reason else {})
        else:
            raise Refused(f"Cognite Data Workflows has no {request.action.replace('_', '-')} of an execution", 400)
        return e.id

    def workflow_title(self, definition: WorkflowDefinition) -> str:
        return definition.name

    async def start(self, definition: WorkflowDefinition, input: dict[str, Any], perform: Perform) -> str:
        nonce = await self._nonce(definition.tenant, perform)
        answer = await perform(
            "runWorkflow",
            path={"project": definition.tenant, "workflowExternalId": definition.name, "version": str(definition.version)},
            body={"input": input, "authentication": {"nonce": nonce}},
        )
        return str(answer["id"])


def _listed(container: TaskAttempt) -> dict[str, str]:
    """externalId -> type of the tasks a dynamic task's resolved input lists (``dynamic.tasks``)."""
    params = container.input.get("parameters") if isinstance(container.input, Mapping) else None
    tasks = ((params or {}).get("dynamic") or {}).get("tasks") if isinstance(params, Mapping) else None
    out: dict[str, str] = {}
    for t in tasks if isinstance(tasks, list) else []:
        if isinstance(t, Mapping) and isinstance(t.get("externalId"), str) and isinstance(t.get("type"), str):
            out[t["externalId"]] = t["type"]
    return out


def console_vocabulary(dialect: Any) -> CogniteVocabulary:
    return CogniteVocabulary(dialect)
