"""What the gateway hands an adapter while its dialect is built: the GatewayContext, with the
engine hooks through which the adapter plugs its task kinds into the embedded engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from wfgateway.answers import AnswerCache
from wfgateway.config import Config
from wfgateway.core.backend import Backend
from wfgateway.cursors import CursorSigner
from wfgateway.engine.hooks import Evaluator, Expander, FailureInput, Listener, SecretResolver
from wfgateway.engine.store.tables import StoreHome
from wfgateway.redaction import Redactor
from wfgateway.shared_secrets import ProcessSecrets, SecretSource

if TYPE_CHECKING:
    from wfgateway.core.backend import ExecutionSplitter
    from wfgateway.engine.watch import ExecutionWatch

class EngineHooks(Protocol):
    """What an adapter registers with the embedded engine while its dialect is built (the hook
    types are the engine's own: wfgateway.engine.hooks)."""

    def register_expander(self, dialect: str, fn: Expander) -> None: ...

    def register_evaluator(self, name: str, fn: Evaluator) -> None: ...

    def register_failure_input(self, dialect: str, fn: FailureInput) -> None: ...

    def register_secret_resolver(self, fn: SecretResolver) -> None: ...

    def register_listener(self, fn: Listener) -> None: ...


class NoHooks:
    """Hooks of a stand-in backend (tests, benchmarks, ``wfgateway check``): no engine runs the
    dialect's tasks, so there is nothing to plug in."""

    def register_expander(self, dialect: str, fn: Expander) -> None:
        return None

    def register_evaluator(self, name: str, fn: Evaluator) -> None:
        return None

    def register_failure_input(self, dialect: str, fn: FailureInput) -> None:
        return None

    def register_secret_resolver(self, fn: SecretResolver) -> None:
        return None

    def register_listener(self, fn: Listener) -> None:
        return None


@dataclass
class GatewayContext:
    """Everything a dialect may reach at run time.

    ``engine`` is the embedded engine as a Backend (for background work: schedules, triggers);
    handlers use ``call.backend``, where the call's route points.  ``hooks`` is where the dialect
    plugs its task kinds into that engine.  ``dialect_settings`` is each enabled dialect's section
    of config.yaml, ``task_settings`` its ``tasks`` section; ``base_url`` is where clients reach us;
    ``cursors`` seals every dialect's list cursors; ``store`` is the persistence home where a dialect
    keeps its own tables (engine/store/tables.py).
    """

    config: Config
    engine: Backend
    store: StoreHome
    hooks: EngineHooks
    dialect_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    task_settings: dict[str, Any] = field(default_factory=dict)
    base_url: str = "http://127.0.0.1:8080"
    cursors: CursorSigner = field(default_factory=CursorSigner)  # seals every dialect's list cursors
    redactor: Redactor = field(default_factory=Redactor)  # masks credentials wherever a path is written
    secrets: SecretSource = field(default_factory=ProcessSecrets)  # keys all workers share (README "Workers")
    splitter: ExecutionSplitter | None = None  # the router: which backend owns each id of a bulk call
    # rendered answers of unchanged runs, checked against the backend's stamp on every read (answers.py)
    answers: AnswerCache = field(default_factory=lambda: AnswerCache(0))
    watch: ExecutionWatch | None = None  # wakes waiters when an execution of the embedded engine changes
