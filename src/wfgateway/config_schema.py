"""The schema of config.yaml.  README.md walks through it; ``wfgateway check`` enforces it."""

from __future__ import annotations

from typing import Any

_SECRET_ENV = {"type": ["string", "null"], "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}

SERVER = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "host": {"type": "string", "minLength": 1},
        "port": {"type": "integer", "minimum": 0, "maximum": 65535},
        "max_body_bytes": {"type": "integer", "minimum": 1},
        "access_log": {"type": "boolean"},
        "response_validation": {"enum": ["off", "report", "enforce", False]},
        "public_url": {"type": ["string", "null"]},
        "cursor_key_env": _SECRET_ENV,  # signs list cursors; replicas sharing a store need the same key
        "reload_interval_ms": {"type": "integer", "minimum": 0},  # config file poll for hot reload; 0 = off
        "workers": {"type": "integer", "minimum": 1, "maximum": 64},  # processes serving one port
    },
}

STORE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["kind"],
    "properties": {
        "kind": {"enum": ["sqlite", "postgres"]},
        "path": {"type": "string", "minLength": 1},
        "dsn": {"type": "string", "minLength": 1},
        "dsn_env": _SECRET_ENV,
        "pool_size": {"type": "integer", "minimum": 1, "maximum": 200},
        "schema": {"type": "string", "pattern": "^[a-z_][a-z0-9_]*$"},
        "wait_ms": {"type": "integer", "minimum": 0, "maximum": 60000},
    },
    "allOf": [
        {"if": {"properties": {"kind": {"const": "postgres"}}},
         "then": {"anyOf": [{"required": ["dsn"]}, {"required": ["dsn_env"]}]}},
    ],
}

DIALECT = {
    "type": "object",
    "required": ["adapter"],
    "properties": {
        "enabled": {"type": "boolean"},
        "adapter": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_.]*$"},
        "spec": {"type": "string", "minLength": 1},
        "auth": {"type": "object"},
    },
}

BACKEND = {
    "type": "object",
    "required": ["kind"],
    "properties": {
        "kind": {"enum": ["engine", "upstream"]},
        "dialect": {"type": "string"},
        "url": {"type": "string", "pattern": "^https?://"},
        "timeout_ms": {"type": "integer", "minimum": 1},
        "connect_timeout_ms": {"type": "integer", "minimum": 1},
        "retries": {"type": "integer", "minimum": 0, "maximum": 10},
        "circuit": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"failures": {"type": "integer", "minimum": 1}, "reset_ms": {"type": "integer", "minimum": 1}},
        },
        "max_connections": {"type": "integer", "minimum": 1},
        "path_params": {"type": "object", "additionalProperties": {"type": "string"}},
        "credentials": {"type": "object"},
        "response_validation": {"enum": ["off", "report", "enforce", False]},  # unquoted YAML off is false
        "max_response_bytes": {"type": "integer", "minimum": 1},
        "pass_cookies": {"type": "array", "items": {"type": "string", "pattern": "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"}},
    },
    "allOf": [
        {"if": {"properties": {"kind": {"const": "upstream"}}}, "then": {"required": ["url", "dialect"]}},
    ],
}

ROUTE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["backend"],
    "properties": {
        "name": {"type": "string"},
        "match": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "dialect": {"type": "string"},
                "operation": {"type": "string"},
                "workflow": {"type": "string"},
                "tenant": {"type": "string"},
                "header": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "backend": {"type": "string"},
        "weights": {"type": "object", "additionalProperties": {"type": "number", "minimum": 0}},
        "sticky": {"enum": ["workflow", "correlation_id", None]},
        "timeout_ms": {"type": "integer", "minimum": 1},
    },
}

CACHES = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "sqlite_page_cache_mib": {"type": "integer", "minimum": 1, "maximum": 4096},  # per engine store connection
        "definitions": {"type": "integer", "minimum": 1},  # parsed workflow definition snapshots
        "run_owners": {"type": "integer", "minimum": 1},  # execution id -> owning backend
        "answers_kib": {"type": "integer", "minimum": 0},  # rendered answers of unchanged runs (0: none kept)
    },
}

CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "server": SERVER,
        "store": STORE,
        "dialects": {"type": "object", "additionalProperties": DIALECT},
        "backends": {"type": "object", "additionalProperties": BACKEND, "minProperties": 1},
        "routes": {"type": "array", "items": ROUTE},
        "console": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "enabled": {"type": "boolean"},
                "session_ttl_seconds": {"type": "integer", "minimum": 60},
            },
        },
        "caches": CACHES,
        "tracing": {  # OpenTelemetry (README "Tracing")
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "enabled": {"type": "boolean"},
                "endpoint": {"type": "string", "pattern": "^https?://"},  # OTLP/HTTP traces URL
                "sampling": {"type": "number", "minimum": 0, "maximum": 1},  # share of new traces kept
            },
        },
        "tasks": {
            "type": "object",
            "properties": {
                "http": {
                    "type": "object",
                    "properties": {
                        "allow": {"type": "array", "items": {"type": "string"}},
                        "timeout_ms": {"type": "integer", "minimum": 1},
                    },
                },
                "worker": {
                    "type": "object",
                    "properties": {"lease_ms": {"type": "integer", "minimum": 1}},
                },
            },
        },
    },
}
