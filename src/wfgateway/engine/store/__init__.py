"""Store implementations behind one interface (``base.Store``); ``create_store`` picks one from settings."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from wfgateway.engine.store.base import Store

# How long a call waits for a locked or unreachable store before answering a retryable 503: a few
# seconds, well inside a route's timeout, so the client's retry (not a hung request) carries the load.
DEFAULT_WAIT_MS = 5000


def create_store(settings: dict[str, Any], base_dir: Path | str | None = None, *, page_cache_mib: int = 8) -> Store:
    """``{"kind": "sqlite", "path": "wfgateway.db"}`` (a relative path is taken from ``base_dir``);
    ``page_cache_mib`` bounds SQLite's page cache (config.yaml caches.sqlite_page_cache_mib)."""
    kind = (settings or {}).get("kind", "sqlite")
    wait_ms = int((settings or {}).get("wait_ms", DEFAULT_WAIT_MS))
    if kind == "sqlite":
        from wfgateway.engine.store.sqlite import SQLiteStore

        path = Path(settings.get("path", "wfgateway.db"))
        if not path.is_absolute() and str(path) != ":memory:" and base_dir is not None:
            path = Path(base_dir) / path
        return SQLiteStore(path, wait_ms=wait_ms, page_cache_mib=page_cache_mib)
    if kind == "postgres":
        try:
            from wfgateway.engine.store.postgres import PostgresStore  # type: ignore[import-not-found]
        except ImportError as e:  # pragma: no cover - until the PostgreSQL store lands
            raise ValueError("store kind 'postgres' is not available in this build") from e
        dsn = settings.get("dsn") or os.environ.get(str(settings.get("dsn_env") or ""), "")
        if not dsn:
            raise ValueError("a postgres store needs 'dsn' or 'dsn_env' naming a non-empty environment variable")
        return PostgresStore(dsn, schema=settings.get("schema"), pool_size=int(settings.get("pool_size", 8)),
                             wait_ms=wait_ms)
    raise ValueError(f"unknown store kind '{kind}' (expected sqlite or postgres)")
