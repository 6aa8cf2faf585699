"""Loading and checking config.yaml.

A bad config stops the start with a message that names the key and its line, so the operator can
fix it without guessing.  ``wfgateway check --config FILE`` runs exactly this.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from wfgateway.config_schema import CONFIG_SCHEMA

DEFAULTS: dict[str, Any] = {
    "server": {
        "host": "127.0.0.1",
        "port": 8080,
        "max_body_bytes": 10 * 1024 * 1024,
        "access_log": True,
        "response_validation": "off",
        "workers": 1,
    },
    "store": {"kind": "sqlite", "path": "wfgateway.db"},
    "dialects": {},
    "backends": {"engine": {"kind": "engine"}},
    "routes": [{"match": {}, "backend": "engine"}],
    "tasks": {"http": {"allow": ["127.0.0.0/8", "::1/128", "localhost"], "timeout_ms": 30000},
              "worker": {"lease_ms": 60000}},
    # what one process keeps in memory beyond its compiled specs (README "Memory"; bench/memory.py)
    "caches": {"sqlite_page_cache_mib": 8, "definitions": 512, "run_owners": 10000, "answers_kib": 4096},
    "tracing": {"enabled": False, "endpoint": "http://127.0.0.1:4318/v1/traces", "sampling": 1.0},
}


class ConfigError(Exception):
    """config.yaml is unreadable or invalid; the message names the key and the line."""

    def __init__(self, message: str, *, key: str = "", line: int | None = None, path: str = "") -> None:
        where = f"{path}:{line}: " if line else (f"{path}: " if path else "")
        keypart = f"{key}: " if key else ""
        super().__init__(f"{where}{keypart}{message}")
        self.key, self.line, self.path = key, line, path


@dataclass
class Config:
    """The checked config, with defaults filled in and paths resolved against the file's folder."""

    path: Path | None
    base_dir: Path
    server: dict[str, Any]
    store: dict[str, Any]
    dialects: dict[str, dict[str, Any]]
    backends: dict[str, dict[str, Any]]
    routes: list[dict[str, Any]]
    tasks: dict[str, Any]
    raw: dict[str, Any] = field(default_factory=dict)
    lines: dict[tuple, int] = field(default_factory=dict)  # key path -> line in the file
    caches: dict[str, Any] = field(default_factory=lambda: dict(DEFAULTS["caches"]))
    tracing: dict[str, Any] = field(default_factory=lambda: dict(DEFAULTS["tracing"]))
    server_overrides: dict[str, Any] = field(default_factory=dict)  # `serve --host/--port/--workers`

    def override_server(self, key: str, value: Any) -> None:
        """A ``server`` setting given on the command line: it wins over the file's, and a reload of the
        file keeps it (so ``serve --port 8081`` is no change of ``server`` that waits for a restart)."""
        self.server[key] = value
        self.server_overrides[key] = value

    def error_at(self, key: str, message: str) -> ConfigError:
        """A ConfigError for dotted ``key`` with the file and the nearest line, like a schema error."""
        parts: list[Any] = [int(p) if p.isascii() and p.isdigit() else p for p in key.split(".")]
        label = str(self.path) if self.path else "<config>"
        return ConfigError(message, key=key, line=_nearest_line(self.lines, parts), path=label)

    def enabled_dialects(self) -> dict[str, dict[str, Any]]:
        return {name: d for name, d in self.dialects.items() if d.get("enabled", True)}

    def resolve(self, relative: str) -> Path:
        p = Path(relative)
        return p if p.is_absolute() else self.base_dir / p

    def spec_path(self, dialect: str) -> Path:
        """The dialect's spec file: as configured, beside the config; when a relative path names a spec
        that is not there but ships with wfgateway (``openapi/<dialect>.yaml``), the shipped copy."""
        named = self.dialects.get(dialect, {}).get("spec") or f"openapi/{dialect}.yaml"
        path = self.resolve(named)
        if not path.exists():
            from wfgateway.shipped import shipped_file

            return shipped_file(named) or path
        return path

    @property
    def is_shipped_default(self) -> bool:
        """True when this is wfgateway's own default config (no config.yaml was given or found)."""
        from wfgateway.shipped import shipped_file

        default = shipped_file("config.yaml")
        return self.path is not None and default is not None and self.path.resolve() == default.resolve() \
            and self.base_dir != default.parent


def load_config(path: str | Path | None) -> Config:
    """Read, check and return the config at ``path``; ConfigError on any problem.

    With no path: ./config.yaml when there is one, otherwise the default config shipped with wfgateway,
    its relative paths (the SQLite store, key files) taken from the current directory."""
    if path is None:
        local = Path("config.yaml")
        if local.exists():
            path = local
        else:
            from wfgateway.shipped import shipped_file

            default = shipped_file("config.yaml")
            if default is None:
                raise ConfigError("no config.yaml here and no default config installed; pass --config FILE")
            return parse_config(default.read_text(), path=default, base_dir=Path.cwd())
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read config: {exc.strerror}", path=str(p)) from exc
    return parse_config(text, path=p)


def parse_config(text: str, *, path: Path | None = None, base_dir: Path | None = None) -> Config:
    """Check config text (YAML) and build a Config."""
    label = str(path) if path else "<config>"
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text) if node is not None else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise ConfigError(f"not valid YAML: {getattr(exc, 'problem', exc)}", line=line, path=label) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping", line=1, path=label)
    lines = _line_index(node)
    errors = sorted(jsonschema.Draft202012Validator(CONFIG_SCHEMA).iter_errors(data), key=lambda e: list(e.path))
    if errors:
        err = _most_specific(errors[0])
        where = list(err.path)
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            allowed = err.schema.get("properties", {})
            extra = [k for k in err.instance if k not in allowed]
            if extra:
                where.append(extra[0])
        key = ".".join(str(k) for k in where) or "(top level)"
        raise ConfigError(_describe(err), key=key, line=_nearest_line(lines, where), path=label)
    merged = _merge(DEFAULTS, data)
    _accept_old_adapter_names(merged)
    _check_references(merged, lines, label)
    base = base_dir or (path.parent.resolve() if path else Path.cwd())
    return Config(
        path=path, base_dir=base, server=merged["server"], store=merged["store"], dialects=merged["dialects"],
        backends=merged["backends"], routes=merged["routes"], tasks=merged["tasks"], raw=data, lines=lines,
        caches=merged["caches"], tracing=merged["tracing"],
    )


# Before 0.2 the adapters installed as the top-level package `adapters`; configs written then keep working.
_OLD_ADAPTER_PREFIX = "adapters."
_ADAPTER_PREFIX = "wfgateway.adapters."


def _accept_old_adapter_names(cfg: dict[str, Any]) -> None:
    for dialect in cfg["dialects"].values():
        name = dialect.get("adapter")
        if isinstance(name, str) and name.startswith(_OLD_ADAPTER_PREFIX):
            dialect["adapter"] = _ADAPTER_PREFIX + name[len(_OLD_ADAPTER_PREFIX):]


def _check_references(cfg: dict[str, Any], lines: dict[tuple, int], label: str) -> None:
    """Cross-key rules the schema cannot say: routes name known backends, allow-list entries parse."""
    backends = cfg["backends"]
    for i, route in enumerate(cfg["routes"]):
        names = [route["backend"], *route.get("weights", {}).keys()]
        for name in names:
            if name not in backends:
                raise ConfigError(f"unknown backend {name!r} (known: {', '.join(sorted(backends))})",
                                  key=f"routes.{i}.backend", line=_nearest_line(lines, ["routes", i, "backend"]),
                                  path=label)
    for i, entry in enumerate(cfg["tasks"].get("http", {}).get("allow", [])):
        if "/" in entry or entry.replace(".", "").isdigit() or ":" in entry:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError as exc:
                raise ConfigError(f"not a host or network: {entry!r}", key=f"tasks.http.allow.{i}",
                                  line=_nearest_line(lines, ["tasks", "http", "allow", i]), path=label) from exc
    store = cfg["store"]
    if store.get("kind") == "postgres" and not store.get("dsn") and not os.environ.get(str(store.get("dsn_env"))):
        raise ConfigError(f"environment variable {store.get('dsn_env')!r} (the PostgreSQL DSN) is not set",
                          key="store.dsn_env", line=_nearest_line(lines, ["store", "dsn_env"]), path=label)
    for name, dialect in cfg["dialects"].items():
        for dep in dialect.get("requires", []):
            if dep not in cfg["dialects"]:
                raise ConfigError(f"requires unknown dialect {dep!r}", key=f"dialects.{name}", path=label)


def _most_specific(err: jsonschema.ValidationError) -> jsonschema.ValidationError:
    best = err
    for sub in err.context or []:
        if len(sub.path) > len(best.path):
            best = sub
    return best


def _describe(err: jsonschema.ValidationError) -> str:
    if err.validator == "additionalProperties":
        return "unknown key"
    if err.validator == "anyOf" and isinstance(err.instance, dict) and err.instance.get("kind") == "postgres":
        return "a postgres store needs 'dsn' or 'dsn_env'"
    if err.validator == "required":
        return err.message
    return f"{err.message}"


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            out[key] = _merge(base[key], value)
        else:
            out[key] = value
    return out


def _line_index(node: yaml.Node | None) -> dict[tuple, int]:
    """Map every key path in the YAML document to its 1-based line."""
    index: dict[tuple, int] = {}

    def walk(n: yaml.Node, prefix: tuple) -> None:
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                path = (*prefix, k.value)
                index[path] = k.start_mark.line + 1
                walk(v, path)
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                path = (*prefix, i)
                index[path] = item.start_mark.line + 1
                walk(item, path)

    if node is not None:
        walk(node, ())
    return index


def _nearest_line(index: dict[tuple, int], path: list[Any]) -> int | None:
    while path:
        if tuple(path) in index:
            return index[tuple(path)]
        path = path[:-1]
    return 1 if index else None


def config_from_dict(data: dict[str, Any], *, base_dir: Path) -> Config:
    """A checked Config from a mapping (tests and embedding); same rules as a file."""
    return parse_config(yaml.safe_dump(data, sort_keys=False), base_dir=base_dir)
