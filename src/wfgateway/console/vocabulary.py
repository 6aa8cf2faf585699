"""What the console asks of each adapter: a run's words in the vendor's vocabulary, the console login
with the vendor's credential, and how each console action is one (or a few) of the vendor's own
operations.

The console knows no vendor.  An adapter declares ``Adapter(console=...)``, a ``(dialect) ->
ConsoleVocabulary``; the console builds one per enabled dialect.  An action is carried out by calling
the dialect's own operation handlers through ``Perform`` -- the same handler, backend routing and
engine operation an API call gets -- so a refusal is the vendor's own refusal, in its words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from wfgateway.core.model import Execution, TaskAttempt, TaskSpec, WorkflowDefinition

# Every action the console offers; a vocabulary says which of them its vendor has (``actions``).
ACTIONS = ("retry", "rerun", "restart", "resume_from", "pause", "resume", "terminate")


@dataclass(frozen=True)
class RunWords:
    """A run as its vendor names it: ``{id_name}: {id}``, status ``status``."""

    title: str  # the vendor, for people: "Conductor"
    id_name: str  # what the vendor calls the id: "workflowId", "executionId", "runId"
    status: str  # the vendor's status word for the run
    workflow: str = ""  # the workflow's name as the vendor shows it ("" : the definition's name)


@dataclass(frozen=True)
class Identity:
    """Who logged in to the console, and the tenants they may see (None: every tenant)."""

    subject: str
    dialect: str  # whose credential was presented ("" in open mode)
    tenants: frozenset[str] | None


@dataclass(frozen=True)
class ActionRequest:
    """One console action on one run, with what the form sent."""

    action: str  # one of ACTIONS
    execution: Execution  # the run as the engine holds it (with its attempts)
    task_id: str | None = None  # rerun from this attempt
    node: str | None = None  # resume from this task ref (Altostrat's node id)
    workflow_input: dict[str, Any] | None = None  # rerun with this workflow input
    task_input: dict[str, Any] | None = None  # rerun-from-task with this task input
    reason: str | None = None  # terminate


class Refused(Exception):
    """The vendor's answer to an action that does not apply, as the vendor words it."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class TaskOf:
    """One task of a run's DAG as the console draws it, for its vendor to name."""

    spec: TaskSpec | None  # the definition's task (None: made at run time, e.g. by a dynamic task)
    attempt: TaskAttempt | None  # its current attempt (None: not run yet)
    container: TaskAttempt | None = None  # the attempt it ran inside (dynamic task, loop iteration)


class TaskLabel(Protocol):
    """The vendor's own word for a task's type ("SIMPLE", "function", "http_request"), or None to show
    the engine's kind; the console draws it on the DAG and in the task panel, the kind only in a tooltip."""

    def __call__(self, task: TaskOf) -> str | None: ...


class Perform(Protocol):
    """Call one of the dialect's operations as the console's user, for the run's tenant; the answer's
    JSON body (None when it has none), or Refused with the vendor's message."""

    async def __call__(self, operation_id: str, *, path: Mapping[str, Any] | None = None,
                      query: Mapping[str, Any] | None = None, body: Any = None) -> Any: ...


class ConsoleVocabulary(Protocol):
    dialect: str
    title: str
    actions: frozenset[str]  # the ACTIONS this vendor has
    # The vendor UI's own page paths that its SDKs print ("see the execution at <server>/execution/<id>"),
    # each a path template -> the console route that shows it (a hash route with the same {names}).
    ui_links: Mapping[str, str]
    # The vendor's own word for a console action on its button (action -> label, e.g. Cognite's
    # terminate is "Cancel"); an action not listed keeps the console's word.
    action_labels: Mapping[str, str]

    @property
    def open_mode(self) -> bool:
        """True when the dialect takes calls without credentials."""

    def login_fields(self) -> tuple[str, ...]:
        """The credential fields of the console's login form for this dialect ("key_id", "token", ...)."""

    async def login(self, fields: Mapping[str, str]) -> Identity:
        """The identity behind the credential; Refused with the vendor's words when it is not valid."""

    def words(self, execution: Execution) -> RunWords: ...

    def task_label(self, task: TaskOf) -> str | None:
        """The vendor's word for a task's type on the DAG (a ``TaskLabel``: Conductor's SIMPLE, Cognite's
        function, Altostrat's component id); None leaves the engine's kind."""

    def shown_input(self, execution: Execution) -> Any:
        """The run's input as the vendor's API shows it (without what the adapter keeps there for itself)."""

    def refusal(self, status: int, body: Any) -> str:
        """The message of one of the vendor's error bodies."""

    async def act(self, request: ActionRequest, perform: Perform) -> str:
        """Carry out ``request`` with the vendor's operations; the id of the run to show afterwards
        (a new run when the vendor's action makes one)."""

    async def start(self, definition: WorkflowDefinition, input: dict[str, Any], perform: Perform) -> str:
        """Start a run of ``definition`` with the vendor's operations; its id."""

    def workflow_title(self, definition: WorkflowDefinition) -> str:
        """The workflow's name as the vendor shows it (Altostrat: the name, not the workflow id)."""


class VocabularyFactory(Protocol):
    def __call__(self, dialect: Any) -> ConsoleVocabulary: ...
