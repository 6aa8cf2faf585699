"""What an operator sees on the terminal: a start-up banner on stdout, and on stderr one JSON object
per line for every log record -- the access log's own lines and every library's (uvicorn, httpx)
alike -- so a log shipper never meets a line it cannot parse."""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TextIO
from urllib.parse import urlsplit, urlunsplit

from wfgateway import __version__
from wfgateway.config import Config
from wfgateway.hygiene import send_access_to
from wfgateway.log_writer import LineWriter, QueuedLineHandler
from wfgateway.sanitize import json_line

ACCESS_LOGGER = "wfgateway.access"
# Libraries that log one line per outgoing request at INFO: noise beside the access log.
_CHATTY = ("httpx", "httpcore", "hpack")


class JsonLineFormatter(logging.Formatter):
    """A record as one JSON object; access-log records already are one and pass through unchanged."""

    def format(self, record: logging.LogRecord) -> str:
        if record.name == ACCESS_LOGGER:
            return record.getMessage()
        line = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json_line(line)


def configure_logging(stream: TextIO | None = None, level: int = logging.INFO) -> None:
    """Route every logger through one JSON-line handler on stderr (uvicorn's too: serve passes
    ``log_config=None`` so uvicorn keeps its hands off), written by one thread; access records go
    to that thread's queue directly and are serialised there."""
    writer = LineWriter(stream or sys.stderr)  # the event loop never waits for stderr
    handler = QueuedLineHandler(writer)
    handler.setFormatter(JsonLineFormatter())
    send_access_to(writer.access)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    for name in _CHATTY:
        logging.getLogger(name).setLevel(logging.WARNING)


@dataclass(frozen=True)
class DialectLine:
    name: str
    paths: tuple[str, ...]
    open: bool


def banner(config: Config, dialects: Iterable[DialectLine], host: str, port: int, workers: int = 1,
           console: bool = False) -> str:
    """The lines printed once at start: version, what is served where, on which store, how guarded."""
    base = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    lines = [f"wfgateway {__version__} serving at {base}" + (f" ({workers} worker processes)" if workers > 1 else "")]
    for d in dialects:
        auth = "open (no credentials, loopback only)" if d.open else "credentials required"
        lines.append(f"  {d.name:<10} {', '.join(d.paths) or '/'}  auth: {auth}  spec: {base}/openapi/{d.name}.yaml")
    if config.is_shipped_default:
        lines.append(f"  config     the shipped default ({config.path}): no config.yaml in {config.base_dir}; "
                     "files (the store) go there")
    lines.append(f"  store      {_store_text(config)}")
    if console:
        lines.append(f"  console    {base}/console/   specs: {base}/docs")
    lines.append(f"  probes     {base}/healthz  {base}/readyz   metrics: {base}/metrics")
    return "\n".join(lines)


def _store_text(config: Config) -> str:
    store = config.store
    if store.get("kind") == "postgres":
        if store.get("dsn_env"):
            return f"postgres (dsn from ${store['dsn_env']})"
        return f"postgres {_without_password(str(store.get('dsn', '')))}"
    return f"sqlite {config.resolve(str(store.get('path', 'wfgateway.db')))}"


def _without_password(dsn: str) -> str:
    if "://" not in dsn:  # libpq key=value form
        return re.sub(r"(password\s*=\s*)('[^']*'|\S+)", r"\1***", dsn)
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
