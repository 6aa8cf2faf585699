"""Serve a proxy-benchmark target with the benchmark's fixed server settings (uvicorn, uvloop,
httptools, one worker, no access log): ``bare`` (bench/proxy_bare.py) or ``gateway`` (wfgateway in
proxy mode: the Conductor dialect routed to a same-vendor upstream, requests and responses checked)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import uvicorn

REPO = Path(__file__).resolve().parents[1]


def gateway_app(upstream: str, tmp: Path, spec: Path | None = None):
    from wfgateway.app import create_app
    from wfgateway.config import config_from_dict

    config = config_from_dict({
        "server": {"access_log": False, "reload_interval_ms": 0},
        "store": {"kind": "sqlite", "path": str(tmp / "bench.db")},
        "dialects": {"conductor": {"adapter": "wfgateway.adapters.conductor", "spec": str(spec or REPO / "openapi/conductor.yaml")}},
        "backends": {"engine": {"kind": "engine"},
                     "vendor": {"kind": "upstream", "dialect": "conductor", "url": upstream,
                                "response_validation": "report", "max_connections": 100}},
        "routes": [{"name": "proxy", "match": {"dialect": "conductor"}, "backend": "vendor"}],
    }, base_dir=REPO)
    return create_app(config)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("target", choices=["bare", "gateway"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--tmp", default="/tmp")
    parser.add_argument("--spec", type=Path, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.target == "bare":
        os.environ["WFGW_BENCH_UPSTREAM"] = args.upstream
        from bench.proxy_bare import app
    else:
        app = gateway_app(args.upstream, Path(args.tmp), args.spec)
    uvicorn.run(app, host="127.0.0.1", port=args.port, loop="uvloop", http="httptools", workers=1,
                access_log=False, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
