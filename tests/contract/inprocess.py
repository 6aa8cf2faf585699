"""One dialect's full contract run against the gateway's ASGI app, in a fresh worker process.

Schemathesis' time goes into generating and checking cases, not into the gateway, so the three
dialects run side by side in worker processes (``spawn``: nothing inherited from the test process)
to use both cores.  Inside a worker everything is in process: the gateway app (credentials configured,
SQLite in the given folder) is called directly through Schemathesis' ASGI transport.  A recorder
around the app keeps what the gateway answered (its own drift header, its 401s) and which
executions the runs saw failed and rerun.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from wfgateway.contract.findings import ContractReport

# Where each dialect shows an execution's status, the value meaning "failed", and its rerun/retry calls.
EXECUTION_READ = {
    "conductor": (re.compile(r"^/api/workflow/([^/]+)(/status)?$"), "FAILED"),
    "cognite": (re.compile(r"^/api/v1/projects/[^/]+/workflows/executions/([^/]+)$"), "FAILED"),
    "altostrat": (re.compile(r"^/workflows/runs/([^/]+)$"), "failed"),
}
RERUN_OR_RETRY = {
    "conductor": re.compile(r"^/api/workflow/([^/]+)/(rerun|retry)$"),
    "cognite": re.compile(r"^/api/v1/projects/[^/]+/workflows/executions/([^/]+)/retry$"),
    "altostrat": re.compile(r"^/workflows/runs/([^/]+)/(rerun|resume-from/[^/]+)$"),
}


@dataclass
class Traffic:
    """What the run did to executions: ids seen failed, ids rerun or retried with a 2xx."""

    requests: int = 0
    failed: set[str] = field(default_factory=set)
    rerun: set[str] = field(default_factory=set)
    drift_headers: list[str] = field(default_factory=list)  # the gateway's own response validation
    refused_without_credentials: int = 0  # 401s to requests that carried no credential
    refused_bad_credentials: int = 0  # 401s to requests that carried a wrong one


@dataclass
class DialectRun:
    report: ContractReport
    traffic: Traffic


class _Recorder:
    """ASGI wrapper noting execution reads and reruns (and the gateway's drift header)."""

    def __init__(self, app: Any, dialect: str) -> None:
        self.app = app
        self.read, self.failed_value = EXECUTION_READ[dialect]
        self.rerun = RERUN_OR_RETRY[dialect]
        self.traffic = Traffic()
        self.valid_credential = ""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.traffic.requests += 1
        status: list[int] = []
        body: list[bytes] = []

        async def recording_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
                for name, value in message.get("headers", []):
                    if name.lower() == b"x-wfgateway-drift":
                        self.traffic.drift_headers.append(f"{scope['method']} {scope['path']}: {value.decode()}")
            elif message["type"] == "http.response.body" and sum(map(len, body)) < 65536:
                body.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, recording_send)
        self._note(scope["method"], scope["path"], status[0] if status else 0, b"".join(body))
        if status and status[0] == 401:
            self._note_refusal(scope)

    def _note_refusal(self, scope: dict[str, Any]) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        sent = headers.get("x-authorization") or headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not sent:
            self.traffic.refused_without_credentials += 1
        elif sent != self.valid_credential:
            self.traffic.refused_bad_credentials += 1

    def _note(self, method: str, path: str, status: int, body: bytes) -> None:
        if not 200 <= status < 300:
            return
        if method == "POST" and (m := self.rerun.match(path)):
            self.traffic.rerun.add(m.group(1))
        elif method == "GET" and (m := self.read.match(path)):
            try:
                document = orjson.loads(body)
            except orjson.JSONDecodeError:
                return
            if isinstance(document, dict) and document.get("status") == self.failed_value:
                self.traffic.failed.add(m.group(1))


def run_dialect(dialect: str, workdir: str, profile_name: str) -> DialectRun:
    """The whole contract run of one dialect (call it in a worker process)."""
    from schemathesis.python import asgi

    from tests.contract.gateways import SECRETS, keyed_document, secured_dialects, token_for
    from tests.contract.profile import KNOWN_GAPS, SPECS, SUITE_PROFILES
    from tests.support.server import REPO, gateway_config
    from wfgateway.app import create_app
    from wfgateway.config import config_from_dict
    from wfgateway.contract.runner import ContractRun, run_contract

    os.environ.update(SECRETS)
    logging.getLogger("wfgateway").setLevel(logging.CRITICAL)  # 500s are reported by the run itself
    config = gateway_config(Path(workdir), dialects=secured_dialects(),
                            server={"response_validation": "report", "access_log": False})
    recorder = _Recorder(create_app(config_from_dict(config, base_dir=REPO)), dialect)

    def post(path: str, body: dict[str, Any]) -> Any:
        with asgi.get_client(recorder) as client:
            response = client.post(f"http://{asgi.HOST}{path}", json=body)
        response.raise_for_status()
        return response.json()

    try:
        recorder.valid_credential = token_for(dialect, post)
        report = run_contract(ContractRun(
            dialect=dialect,
            spec_path=SPECS[dialect],
            document=keyed_document(dialect),
            app=recorder,
            token=recorder.valid_credential,
            profile=SUITE_PROFILES[profile_name],
            extra_rules=KNOWN_GAPS.get(dialect, ()),
        ))
    finally:
        asgi.shutdown_lifespans()
    return DialectRun(report, recorder.traffic)


def start_all(dialects: tuple[str, ...], root: Path, profile_name: str) -> tuple[ProcessPoolExecutor, dict[str, Future]]:
    """Submit every dialect's run to a pool of two spawned workers."""
    pool = ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn"))
    futures = {}
    for dialect in dialects:
        workdir = root / dialect
        workdir.mkdir(parents=True, exist_ok=True)
        futures[dialect] = pool.submit(run_dialect, dialect, str(workdir), profile_name)
    return pool, futures
