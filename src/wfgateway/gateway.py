"""The objects a running gateway shares with its dialects: config, the engine, the backend router."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wfgateway.core.backend import Backend
from wfgateway.cursors import CursorSigner
from wfgateway.engine.store.tables import StoreHome
from wfgateway.redaction import Redactor
from wfgateway.shared_secrets import ProcessSecrets, SecretSource


@dataclass
class GatewayContext:
    """Everything a dialect may reach at run time.

    ``engine`` is the embedded engine (also a Backend); ``dialect_settings`` is the dialect's own
    section of config.yaml (``dialects.<name>``); ``task_settings`` is config.yaml's ``tasks``
    section (http allow-list, worker lease, timeouts); ``base_url`` is where clients reach us;
    ``store`` is the persistence home where a dialect keeps its own tables (engine/store/tables.py).
    """

    config: Any
    engine: Backend
    store: StoreHome
    dialect_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    task_settings: dict[str, Any] = field(default_factory=dict)
    base_url: str = "http://127.0.0.1:8080"
    state: dict[str, Any] = field(default_factory=dict)
    cursors: CursorSigner = field(default_factory=CursorSigner)  # seals every dialect's list cursors
    redactor: Redactor = field(default_factory=Redactor)  # masks credentials wherever a path is written
    secrets: SecretSource = field(default_factory=ProcessSecrets)  # keys all workers share (README "Workers")
