"""One ``backends.<name>`` entry of config.yaml, with its defaults filled in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_TIMEOUT_MS = 10_000  # one attempt's wait for the answer
DEFAULT_CONNECT_TIMEOUT_MS = 2_000
DEFAULT_RETRIES = 2  # idempotent calls only
DEFAULT_ROUTE_TIMEOUT_MS = 30_000  # the whole call, every retry included
DEFAULT_CIRCUIT_FAILURES = 5
DEFAULT_CIRCUIT_RESET_MS = 10_000
DEFAULT_MAX_CONNECTIONS = 100
DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024  # an upstream answer's body, decoded; larger ones are 502
VALIDATION_MODES = ("off", "report", "enforce")


def validation_mode(value: Any, default: str = "off") -> str:
    """One reading of ``response_validation``: YAML's unquoted ``off`` (false) is ``off``; unset is ``default``."""
    if value is None:
        return default
    if value is False:
        return "off"
    return str(value)


@dataclass(frozen=True)
class BackendSettings:
    name: str
    kind: str  # engine | upstream
    dialect: str = ""
    url: str = ""
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    connect_timeout_ms: int = DEFAULT_CONNECT_TIMEOUT_MS
    retries: int = DEFAULT_RETRIES
    circuit_failures: int = DEFAULT_CIRCUIT_FAILURES
    circuit_reset_ms: int = DEFAULT_CIRCUIT_RESET_MS
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    response_validation: str = "off"  # effective: the backend's key, else the server's
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    pass_cookies: frozenset[str] = frozenset()  # upstream Set-Cookie names handed on to clients
    credentials: dict[str, Any] = field(default_factory=dict)
    path_params: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)  # the whole entry, for the adapter's client half

    @property
    def is_upstream(self) -> bool:
        return self.kind == "upstream"

    @classmethod
    def from_config(cls, name: str, entry: dict[str, Any], *, default_validation: Any = "off") -> BackendSettings:
        """``default_validation``: the server's ``response_validation``, which a backend key overrides."""
        circuit = entry.get("circuit") or {}
        return cls(
            name=name,
            kind=str(entry.get("kind", "engine")),
            dialect=str(entry.get("dialect") or ""),
            url=str(entry.get("url") or "").rstrip("/"),
            timeout_ms=int(entry.get("timeout_ms", DEFAULT_TIMEOUT_MS)),
            connect_timeout_ms=int(entry.get("connect_timeout_ms", DEFAULT_CONNECT_TIMEOUT_MS)),
            retries=int(entry.get("retries", DEFAULT_RETRIES)),
            circuit_failures=int(circuit.get("failures", DEFAULT_CIRCUIT_FAILURES)),
            circuit_reset_ms=int(circuit.get("reset_ms", DEFAULT_CIRCUIT_RESET_MS)),
            max_connections=int(entry.get("max_connections", DEFAULT_MAX_CONNECTIONS)),
            response_validation=validation_mode(entry.get("response_validation"),
                                                validation_mode(default_validation)),
            max_response_bytes=int(entry.get("max_response_bytes", DEFAULT_MAX_RESPONSE_BYTES)),
            pass_cookies=frozenset(str(c) for c in entry.get("pass_cookies") or ()),
            credentials=dict(entry.get("credentials") or {}),
            path_params={str(k): str(v) for k, v in (entry.get("path_params") or {}).items()},
            raw=dict(entry),
        )
