"""A gateway serving only the test-only ``runs`` dialect, on-spec or drifting."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from tests.support.server import REPO, ThreadServer
from wfgateway.app import GatewayApp, create_app
from wfgateway.config import config_from_dict

RUNS_SPEC = REPO / "tests" / "fixtures" / "contract" / "runs.yaml"
RUNS_TOKEN = "runs-test-token"


class _NoEngine:
    """The runs dialect keeps its state itself: nothing reaches an engine."""

    name = "engine"


def runs_app(tmp_path: Path, *, drift: bool, response_validation: str = "off") -> GatewayApp:
    config = config_from_dict(
        {
            "server": {"access_log": False, "response_validation": response_validation},
            "store": {"kind": "sqlite", "path": str(tmp_path / "runs.db")},
            "dialects": {"runs": {"adapter": "tests.contract.runs_dialect", "spec": str(RUNS_SPEC),
                                  "token": RUNS_TOKEN, "drift": drift}},
        },
        base_dir=REPO,
    )
    return create_app(config, engine=_NoEngine())


@contextlib.contextmanager
def serve_runs(tmp_path: Path, *, drift: bool, response_validation: str = "off") -> Iterator[str]:
    """The runs gateway on uvicorn (127.0.0.1, free port); yields its base URL."""
    server = ThreadServer(runs_app(tmp_path, drift=drift, response_validation=response_validation))
    server.start()
    try:
        yield server.url
    finally:
        server.stop()
