"""Store implementations behind one interface (``base.Store``); ``create_store`` picks one from settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wfgateway.engine.store.base import Store


def create_store(settings: dict[str, Any], base_dir: Path | str | None = None) -> Store:
    """``{"kind": "sqlite", "path": "wfgateway.db"}`` (a relative path is taken from ``base_dir``)."""
    kind = (settings or {}).get("kind", "sqlite")
    if kind == "sqlite":
        from wfgateway.engine.store.sqlite import SQLiteStore

        path = Path(settings.get("path", "wfgateway.db"))
        if not path.is_absolute() and str(path) != ":memory:" and base_dir is not None:
            path = Path(base_dir) / path
        return SQLiteStore(path)
    if kind == "postgres":
        try:
            from wfgateway.engine.store.postgres import PostgresStore  # type: ignore[import-not-found]
        except ImportError as e:  # pragma: no cover - until the PostgreSQL store lands
            raise ValueError("store kind 'postgres' is not available in this build") from e
        return PostgresStore(settings["dsn"])  # type: ignore[no-any-return]
    raise ValueError(f"unknown store kind '{kind}' (expected sqlite or postgres)")
