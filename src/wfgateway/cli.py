"""The ``wfgateway`` command: serve, check, routes, contract."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import cast

from wfgateway.config import ConfigError, load_config
from wfgateway.contract import command as contract_command
from wfgateway.engine.store.base import StoreOpenError
from wfgateway.engine.store.tables import StoreHome

_CONFIG_HELP = "config file (default: ./config.yaml; without one, the default config shipped with wfgateway, " \
               "its SQLite store in the current directory)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wfgateway", description="Workflow API gateway")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the gateway")
    serve.add_argument("--config", help=_CONFIG_HELP)
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, help="processes serving the port (server.workers)")
    check = sub.add_parser("check", help="check a config file (and its specs and adapters) without serving")
    check.add_argument("--config", help=_CONFIG_HELP)
    routes = sub.add_parser("routes", help="print the route table and backends of a config file")
    routes.add_argument("--config", help=_CONFIG_HELP)
    compat = sub.add_parser("compat", help="write docs/compatibility.md (every operation against every target)")
    compat.add_argument("--config", default="config.yaml")
    compat.add_argument("--output", default="docs/compatibility.md")
    compat.add_argument("--check", action="store_true", help="exit 1 if the file is not current")
    contract_command.add_parser(sub)
    args = parser.parse_args(argv)
    if args.command == "contract":
        return contract_command.run(args)
    if args.command == "serve":
        return _serve(args)
    if args.command == "check":
        return _check(args)
    if args.command == "compat":
        return _compat(args)
    return _routes(args)


def _compat(args: argparse.Namespace) -> int:
    from pathlib import Path

    from wfgateway.routing.compat import generate

    text = generate(load_config(args.config))
    out = Path(args.output)
    if args.check:
        current = out.read_text() if out.exists() else ""
        if current != text:
            print(f"wfgateway: {out} is not current; run `wfgateway compat`", file=sys.stderr)
            return 1
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"wrote {out}")
    return 0


def _routes(args: argparse.Namespace) -> int:
    from wfgateway.routing.describe import describe

    try:
        config = load_config(args.config)
        text = describe(config)
    except (ConfigError, ValueError) as exc:
        print(f"wfgateway: {exc}", file=sys.stderr)
        return 2
    print(text)
    return 0


def _check(args: argparse.Namespace) -> int:
    from wfgateway.app import StartupError, check_bind, create_app
    from wfgateway.contract.spec import SpecError
    from wfgateway.core.backend import Backend

    try:
        config = load_config(args.config)
        # nothing is started or called: the stand-in only takes the adapters' hook registrations
        app = create_app(config, engine=cast(Backend, _NoEngine()))
        check_bind(app, config.server["host"])
        for spec in app.specs.values():
            spec.openapi  # noqa: B018 -- openapi-core's complete check, which serve leaves out
    except (ConfigError, StartupError, SpecError) as exc:
        print(f"wfgateway: {exc}", file=sys.stderr)
        return 2
    print(f"{config.path}: ok ({', '.join(d.name for d in app.dialects)})")
    return 0


# What `serve` hands its worker processes (they build their own app from the same config file).
_WORKER_ENV = "WFGATEWAY_WORKER_SERVE"


def _serve_config(path: str | None, host: str | None, port: int | None, workers: int | None):  # -> Config
    config = load_config(path)
    if host:
        config.override_server("host", host)
    if port is not None:
        config.override_server("port", port)
    if workers is not None:
        config.override_server("workers", workers)
    return config


def worker_app():  # -> GatewayApp; uvicorn's factory in each worker process
    """The app of one worker process of ``wfgateway serve --workers N``."""
    import json
    import logging
    import os

    from wfgateway.app import create_app
    from wfgateway.operator_output import configure_logging

    configure_logging()
    logging.getLogger("uvicorn.access").propagate = False  # uvicorn logs access when this has handlers
    opts = json.loads(os.environ[_WORKER_ENV])
    return create_app(_serve_config(opts["config"], opts["host"], opts["port"], opts["workers"]))


def _serve(args: argparse.Namespace) -> int:
    import json
    import os

    import uvicorn

    from wfgateway.app import StartupError, check_bind, create_app, open_dialects
    from wfgateway.contract.spec import SpecError
    from wfgateway.operator_output import DialectLine, banner, configure_logging

    configure_logging()
    if args.workers is not None and args.workers < 1:
        print("wfgateway: --workers must be at least 1", file=sys.stderr)
        return 2
    try:
        config = _serve_config(args.config, args.host, args.port, args.workers)
        app = create_app(config)
        check_bind(app, config.server["host"])
        _check_port_free(config.server["host"], int(config.server["port"]))
        asyncio.run(_open_store(app.context.store))
    except (ConfigError, StartupError, SpecError, StoreOpenError) as exc:
        print(f"wfgateway: {exc}", file=sys.stderr)
        return 2
    open_ones = set(open_dialects(app))
    lines = [DialectLine(d.name, tuple(d.path_prefixes), d.name in open_ones) for d in app.dialects]
    workers = int(config.server.get("workers", 1))
    console = app.pipeline.mount_for("/console") is not None
    print(banner(config, lines, config.server["host"], config.server["port"], workers, console), flush=True)
    options = {"host": config.server["host"], "port": config.server["port"], "loop": "uvloop", "http": "httptools",
               "access_log": False, "log_level": "info", "log_config": None}
    if workers == 1:
        uvicorn.run(app, **options)
        return 0
    # N processes on one socket (uvicorn's supervisor restarts a worker that dies); each builds its
    # app from the same file, and on SIGTERM each stops accepting and finishes its requests in flight.
    del app  # the supervisor never serves: each worker builds its own
    os.environ[_WORKER_ENV] = json.dumps({"config": args.config and os.path.abspath(args.config),
                                          "host": args.host,
                                          "port": config.server["port"], "workers": workers})
    uvicorn.run("wfgateway.cli:worker_app", factory=True, workers=workers, **options)
    return 0


def _check_port_free(host: str, port: int) -> None:
    """A port another process listens on is one line naming it and the way to pick another, before the
    banner says "serving" (uvicorn would log a bind error after it and exit 3)."""
    import errno
    import socket

    from wfgateway.app import StartupError

    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return  # an unknown host: uvicorn says so itself
    family, kind, proto, _, address = infos[0]
    probe = socket.socket(family, kind, proto)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        probe.bind(address)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise StartupError(f"{host}:{port} cannot be bound: {exc.strerror}") from None
        raise StartupError(f"{host}:{port} is already in use: another process (an earlier `make run`?) "
                           f"serves it; stop that one or choose a free port: `make run PORT={port + 1}` "
                           f"or `wfgateway serve --port {port + 1}`") from None
    finally:
        probe.close()


async def _open_store(store: StoreHome) -> None:
    """Open (and migrate) the store once before serving, so a store that cannot be opened is one line
    naming the file, the cause and the fix, and the config-error exit status."""
    await store.open()
    await store.close()


class _NoEngine:
    """Stands in for the engine when only checking a config: nothing is started or stored."""

    name = "engine"


if __name__ == "__main__":
    sys.exit(main())
