"""``wfgateway routes --config FILE``: the route table and backends, as an operator reads them."""

from __future__ import annotations

from wfgateway.backends.settings import DEFAULT_ROUTE_TIMEOUT_MS, BackendSettings, validation_mode
from wfgateway.config import Config
from wfgateway.routing.table import RouteTable


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def credentials_summary(settings: BackendSettings) -> str:
    """Which scheme and which environment variables, never a secret's value."""
    creds = settings.credentials
    if not creds:
        return "-"
    return ", ".join(f"{k}={v}" if k.endswith("_env") or k in ("key_id", "client_id", "token_url", "header")
                     else k for k, v in sorted(creds.items()))


def describe(config: Config) -> str:
    table = RouteTable.from_config(config.routes)
    server_mode = validation_mode(config.server.get("response_validation"))
    backends = {name: BackendSettings.from_config(name, entry, default_validation=server_mode)
                for name, entry in config.backends.items()}
    route_rows = []
    for r in table.routes:
        upstream = any(backends[b].is_upstream for b in r.backends if b in backends)
        timeout = r.timeout_ms or (DEFAULT_ROUTE_TIMEOUT_MS if upstream else None)
        route_rows.append([str(r.index + 1), r.name, r.describe_match(), r.describe_backend(), r.sticky or "-",
                           f"{timeout} ms" if timeout else "-"])
    backend_rows = []
    for b in backends.values():
        if b.is_upstream:
            backend_rows.append([b.name, "upstream", b.dialect, b.url, credentials_summary(b),
                                 f"{b.connect_timeout_ms}/{b.timeout_ms} ms", str(b.retries),
                                 f"{b.circuit_failures} fails, {b.circuit_reset_ms} ms", b.response_validation])
        else:
            backend_rows.append([b.name, b.kind, "-", "(in process)", "-", "-", "-", "-", server_mode])
    return "\n".join([
        f"routes ({config.path or 'config'}; first match wins)",
        _table(["#", "name", "match", "backend", "sticky", "timeout"], route_rows),
        "",
        "backends",
        _table(["name", "kind", "dialect", "url", "credentials", "connect/read", "retries", "circuit",
                "responses"], backend_rows),
    ])
