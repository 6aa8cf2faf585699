"""Serve one benchmark target with the benchmark's fixed server settings (uvicorn, uvloop, httptools,
one worker, no access log), so every target runs under the same server."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import uvicorn

REPO = Path(__file__).resolve().parents[1]


def build(target: str, tmp: Path):
    if target == "hello":
        from bench.hello import app

        return app
    from bench.trivial_backend import TrivialBackend
    from wfgateway.app import create_app
    from wfgateway.config import load_config

    config = load_config(REPO / "config.yaml")
    config.store = {"kind": "sqlite", "path": str(tmp / "bench.db")}
    config.server["access_log"] = target == "gateway-logged"
    engine = TrivialBackend() if target.startswith("gateway") else None
    return create_app(config, engine=engine)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("target")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tmp", default="/tmp")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    app = build(args.target, Path(args.tmp))
    uvicorn.run(app, host="127.0.0.1", port=args.port, loop="uvloop", http="httptools", workers=1,
                access_log=False, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
