"""Conductor's words in the web console: workflowId and Conductor's statuses, the console login with
an application key, and each console action as the Conductor operation its UI would call."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wfgateway.adapters.conductor.definitions import DIALECT, WT_KEY
from wfgateway.adapters.conductor.render import SpecIndex, local_name

from wfgateway.client_auth import InvalidToken, verify_token
from wfgateway.console.vocabulary import ActionRequest, Identity, Perform, Refused, RunWords, TaskOf
from wfgateway.core.errors import GatewayError
from wfgateway.core.model import ITERATION, Execution, TaskAttempt, WorkflowDefinition

# console action -> the Conductor operation (the Conductor UI's buttons of the same names)
_OPERATIONS = {
    "retry": "retryWorkflow",
    "rerun": "rerunWorkflow",
    "restart": "restartWorkflow",
    "pause": "pauseWorkflow",
    "resume": "resumeWorkflow",
    "terminate": "terminateWorkflow",
}


class ConductorVocabulary:
    dialect = DIALECT
    title = "Conductor"
    actions = frozenset(_OPERATIONS)
    # conductor-python prints "<server>/execution/<workflowId>" (Conductor UI's run page) after a start
    ui_links: Mapping[str, str] = {"/execution/{workflowId}": "#/runs?q={workflowId}"}
    action_labels: Mapping[str, str] = {}  # the console's words are Conductor's (retry, rerun, terminate, ...)

    def __init__(self, dialect: Any) -> None:
        self._auth = dialect.auth

    @property
    def open_mode(self) -> bool:
        return bool(self._auth.open_mode)

    def login_fields(self) -> tuple[str, ...]:
        return ("key_id", "key_secret")

    async def login(self, fields: Mapping[str, str]) -> Identity:
        try:
            token = self._auth.issue(fields.get("key_id"), fields.get("key_secret"))
            claims = verify_token(token, self._auth.token_secret)
        except GatewayError as exc:
            raise Refused(exc.message, exc.status) from None
        except InvalidToken:
            raise Refused("Invalid application key or secret", 401) from None
        return Identity(subject=str(claims.get("sub")), dialect=DIALECT,
                        tenants=frozenset({str(claims.get("tenant") or "default")}))

    def shown_input(self, execution: Execution) -> Any:
        return execution.input

    def words(self, execution: Execution) -> RunWords:
        return RunWords(self.title, "workflowId", str(execution.status))

    def task_label(self, task: TaskOf) -> str | None:
        """The workflowTask's ``type`` as a Conductor definition has it (SIMPLE, INLINE, DO_WHILE, ...)."""
        wt = task.spec.extra.get(WT_KEY) if task.spec is not None else None
        a = task.attempt
        if wt is None and a is not None:
            if a.kind == ITERATION:
                return None  # the engine's pass of a DO_WHILE: no Conductor task of its own
            wt = _forked(task.container, local_name(a)) or SpecIndex(None).workflow_task(a)
        return str(wt.get("type") or "SIMPLE") if isinstance(wt, Mapping) else None

    def refusal(self, status: int, body: Any) -> str:
        if isinstance(body, dict) and body.get("message"):
            return str(body["message"])
        return f"HTTP {status}"

    async def act(self, request: ActionRequest, perform: Perform) -> str:
        run_id = request.execution.id
        path = {"workflowId": run_id}
        operation = _OPERATIONS.get(request.action)
        if operation is None:
            raise Refused(f"Conductor has no {request.action.replace('_', '-')} of a workflow", 400)
        if request.action == "rerun":
            body = {"reRunFromWorkflowId": run_id, "reRunFromTaskId": request.task_id,
                    "taskInput": request.task_input, "workflowInput": request.workflow_input}
            await perform(operation, path=path, body={k: v for k, v in body.items() if v is not None})
        elif request.action == "terminate":
            await perform(operation, path=path, query={"reason": request.reason} if request.reason else {})
        else:
            await perform(operation, path=path)
        return run_id

    def workflow_title(self, definition: WorkflowDefinition) -> str:
        return definition.name

    async def start(self, definition: WorkflowDefinition, input: dict[str, Any], perform: Perform) -> str:
        return str(await perform("startWorkflowByName", path={"name": definition.name},
                                 query={"version": definition.version}, body=input))


def _forked(container: TaskAttempt | None, ref: str) -> Mapping[str, Any] | None:
    """The workflowTask a FORK_JOIN_DYNAMIC's input listed for ``ref`` (its dynamicForkTasksParam)."""
    for value in (container.input or {}).values() if container is not None else ():
        if isinstance(value, list):
            for wt in value:
                if isinstance(wt, Mapping) and wt.get("taskReferenceName") == ref:
                    return wt
    return None


def console_vocabulary(dialect: Any) -> ConductorVocabulary:
    return ConductorVocabulary(dialect)
