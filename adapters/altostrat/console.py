"""Altostrat's words in the web console: runId and Altostrat's run statuses, the console login with an
organisation token or JWT, and the console's re-run and resume-from as Altostrat's own operations
(each makes a new run, which the console then shows)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wfgateway.adapters.altostrat.render import RUN_STATUS, trigger_payload
from wfgateway.adapters.altostrat.workflows import DIALECT, record_of

from wfgateway.console.vocabulary import ActionRequest, Identity, Perform, Refused, RunWords, TaskOf
from wfgateway.core.errors import GatewayError
from wfgateway.core.model import Execution, WorkflowDefinition


class AltostratVocabulary:
    dialect = DIALECT
    title = "Altostrat"
    actions = frozenset({"rerun", "resume_from"})  # /workflows/runs/{runId}/rerun and /resume-from/{nodeId}
    ui_links: Mapping[str, str] = {}  # no UI paths printed by its SDKs
    action_labels: Mapping[str, str] = {}  # the console's words are Altostrat's (rerun, resume from)

    def __init__(self, dialect: Any) -> None:
        self._auth = dialect.service.auth

    @property
    def open_mode(self) -> bool:
        return bool(self._auth.open_mode)

    def login_fields(self) -> tuple[str, ...]:
        return ("token",)

    async def login(self, fields: Mapping[str, str]) -> Identity:
        try:
            principal = self._auth.principal(fields.get("token") or None)
        except GatewayError as exc:
            raise Refused(exc.message or "Unauthenticated.", exc.status) from None
        return Identity(principal.subject, DIALECT, frozenset({principal.tenant}))

    def shown_input(self, execution: Execution) -> Any:
        return trigger_payload(execution)  # the run's trigger_payload, as GET /workflows/runs/{id} shows it

    def words(self, execution: Execution) -> RunWords:
        workflow = self.workflow_title(execution.definition) if execution.definition is not None else ""
        return RunWords(self.title, "runId", RUN_STATUS.get(execution.status, "running"), workflow)

    def task_label(self, task: TaskOf) -> str | None:
        """The node's component id (manual_trigger, webhook, condition, ...), as Altostrat's editor shows it."""
        extra = task.spec.extra if task.spec is not None else task.attempt.extra if task.attempt is not None else {}
        return str(extra.get("component_id") or "") or None

    def workflow_title(self, definition: WorkflowDefinition) -> str:
        record = record_of(definition)
        return str(record.get("name") or definition.name) if record is not None else definition.name

    def refusal(self, status: int, body: Any) -> str:
        if isinstance(body, dict) and body.get("message"):
            return str(body["message"])
        return f"HTTP {status}"

    async def act(self, request: ActionRequest, perform: Perform) -> str:
        run_id = request.execution.id
        if request.action == "resume_from":
            if not request.node:
                raise Refused("The 'nodeId' parameter is required for this request.", 400)
            answer = await perform("resumeWorkflowRun", path={"runId": run_id, "nodeId": request.node})
        elif request.action == "rerun":
            if request.task_id or request.task_input is not None or request.workflow_input is not None:
                raise Refused("Altostrat re-runs a run with its original trigger payload, from its first node; "
                              "it takes no task to start from and no edited input", 400)
            answer = await perform("rerunWorkflowRun", path={"runId": run_id})
        else:
            raise Refused(f"Altostrat has no {request.action.replace('_', '-')} of a workflow run", 400)
        return str(answer["new_run"]["id"])

    async def start(self, definition: WorkflowDefinition, input: dict[str, Any], perform: Perform) -> str:
        answer = await perform("executeWorkflow", path={"workflowId": definition.name}, body={"context": input})
        return str(answer["id"])


def console_vocabulary(dialect: Any) -> AltostratVocabulary:
    return AltostratVocabulary(dialect)
