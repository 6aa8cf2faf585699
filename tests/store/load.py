"""Load from the real clients while a fault holds: conductor-python starts, cognite-sdk runs, httpx
Altostrat executes, reads of stored runs, and /healthz and /readyz probes.

Every write gets a unique tag (Conductor's correlationId, Cognite's input, Altostrat's context), so
afterwards a test can tell what was acknowledged from what was refused, and check that the first all
exist and the second do not.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from cognite.client import ClientConfig, CogniteClient
from cognite.client.credentials import Token
from cognite.client.data_classes.workflows import (
    CDFTaskParameters,
    WorkflowDefinitionUpsert,
    WorkflowTask,
    WorkflowVersionUpsert,
)
from cognite.client.exceptions import CogniteAPIError, CogniteRequestError
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.models import StartWorkflowRequest
from conductor.client.http.models.workflow_def import WorkflowDef
from conductor.client.http.models.workflow_task import WorkflowTask as ConductorTask
from conductor.client.http.rest import ApiException
from conductor.client.orkes_clients import OrkesClients

CONDUCTOR_WF = "store_fault_wait"
COGNITE_WF = "store-fault-wf"
# Its runs stay RUNNING (a cdf task without cdf_base_url waits for tasks update) and CDF allows 50 running
# executions of a workflow (429 beyond): each replica's load starts at most this many, so two replicas and
# the checks after the outage stay below it however fast the machine is.
COGNITE_LOAD_MAX = 20
PROJECT = "faults"
PROBE_TIMEOUT_S = 3.0  # /healthz must answer at all within this (it answers in milliseconds normally)


@dataclass
class Outcome:
    dialect: str
    tag: str
    ok: bool
    ident: str | None = None  # the acknowledged id
    status: int | None = None  # the refusal's status
    body: Any = None
    retry_after: str | None = None


@dataclass
class Recorder:
    outcomes: list[Outcome] = field(default_factory=list)
    health: list[tuple[int | None, float]] = field(default_factory=list)  # (status or None, seconds)
    ready: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    reads: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)

    def of(self, dialect: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.dialect == dialect]


class Clients:
    def __init__(self, url: str) -> None:
        self.url = url
        self.conductor = OrkesClients(configuration=Configuration(server_api_url=f"{url}/api"))
        self.cognite = CogniteClient(ClientConfig(client_name="store-faults", base_url=url, project=PROJECT,
                                                  credentials=Token("t"), timeout=20))
        self.http = httpx.Client(base_url=url, timeout=20)
        self.altostrat_wf = ""
        self.cognite_started = 0  # runs this client started (see COGNITE_LOAD_MAX)

    def define(self) -> None:
        """One workflow per dialect: Conductor's waits one second on a stored timer."""
        wait = ConductorTask(name="pause", task_reference_name="pause", type="WAIT",
                             input_parameters={"duration": "1 seconds"})
        self.conductor.get_metadata_client().register_workflow_def(
            WorkflowDef(name=CONDUCTOR_WF, version=1, tasks=[wait], timeout_seconds=0), overwrite=True)
        task = WorkflowTask(external_id="c", parameters=CDFTaskParameters(resource_path="/noop", method="GET"))
        self.cognite.workflows.versions.upsert(
            WorkflowVersionUpsert(COGNITE_WF, "1", WorkflowDefinitionUpsert([task], description="fault load")))
        auth = self.http.post("/workflows/authorization").json()["id"]
        body = {"name": "fault load", "authorization_id": auth, "schedule_type": "manual",
                "nodes": [{"id": "n1", "type": "manual_trigger", "position": {"x": 0, "y": 0},
                           "data": {"componentId": "manual_trigger"}}], "edges": []}
        created = self.http.post("/workflows", json=body)
        assert created.status_code == 201, created.text
        self.altostrat_wf = created.json()["id"]

    # -- one write per dialect ------------------------------------------------------------------------
    def conductor_start(self, rec: Recorder) -> None:
        tag = uuid.uuid4().hex
        try:
            wid = self.conductor.get_workflow_client().start_workflow(
                StartWorkflowRequest(name=CONDUCTOR_WF, version=1, correlation_id=tag))
        except ApiException as exc:
            rec.add(Outcome("conductor", tag, False, status=exc.status, body=exc.body))
            return
        rec.add(Outcome("conductor", tag, True, ident=wid))

    def cognite_run(self, rec: Recorder) -> None:
        tag = uuid.uuid4().hex
        try:
            run = self.cognite.workflows.executions.run(COGNITE_WF, "1", input={"tag": tag})
        except CogniteAPIError as exc:
            rec.add(Outcome("cognite", tag, False, status=exc.code, body=exc.message))
            return
        self.cognite_started += 1
        rec.add(Outcome("cognite", tag, True, ident=run.id))

    def altostrat_execute(self, rec: Recorder) -> None:
        tag = uuid.uuid4().hex
        r = self.http.post(f"/workflows/{self.altostrat_wf}/execute", json={"context": {"tag": tag}})
        if r.status_code == 202:
            rec.add(Outcome("altostrat", tag, True, ident=r.json()["id"]))
        else:
            rec.add(Outcome("altostrat", tag, False, status=r.status_code, body=r.json(),
                            retry_after=r.headers.get("retry-after")))

    def raw_conductor_start(self, rec: Recorder) -> None:
        """A start through plain HTTP, to see the headers the SDK does not expose."""
        tag = uuid.uuid4().hex
        r = self.http.post("/api/workflow", json={"name": CONDUCTOR_WF, "version": 1, "correlationId": tag})
        if r.status_code == 200:
            rec.add(Outcome("conductor", tag, True, ident=r.text.strip('"')))
        else:
            rec.add(Outcome("conductor", tag, False, status=r.status_code, body=r.json(),
                            retry_after=r.headers.get("retry-after")))

    # -- afterwards ---------------------------------------------------------------------------------------
    def conductor_exists(self, tag: str) -> list[str]:
        r = self.http.get(f"/api/workflow/{CONDUCTOR_WF}/correlated/{tag}", params={"includeClosed": "true"})
        assert r.status_code == 200, r.text
        return [w["workflowId"] for w in r.json()]

    def conductor_status(self, wid: str) -> str:
        return str(self.http.get(f"/api/workflow/{wid}", params={"includeTasks": "false"}).json()["status"])

    def cognite_exists(self, ident: str) -> bool:
        return self.http.get(f"/api/v1/projects/{PROJECT}/workflows/executions/{ident}").status_code == 200

    def altostrat_exists(self, ident: str) -> bool:
        return self.http.get(f"/workflows/runs/{ident}").status_code == 200

    def close(self) -> None:
        self.http.close()


def probe(url: str, rec: Recorder, stop: threading.Event, read_path: str) -> None:
    """/healthz, /readyz and a read of a stored run, over and over until ``stop``."""
    with httpx.Client(base_url=url, timeout=PROBE_TIMEOUT_S) as c:
        while not stop.is_set():
            started = time.monotonic()
            try:
                status: int | None = c.get("/healthz").status_code
            except httpx.TimeoutException:
                status = None
            rec.health.append((status, time.monotonic() - started))
            try:
                r = c.get("/readyz")
                rec.ready.append((r.status_code, r.json()))
                rec.reads.append(c.get(read_path).status_code)
            except httpx.TimeoutException:
                rec.ready.append((0, {}))
            time.sleep(0.05)


def drive(clients: Clients, rec: Recorder, stop: threading.Event) -> list[threading.Thread]:
    """One thread per dialect writing until ``stop``."""

    def loop(write: Any, dialect: str) -> None:
        while not stop.is_set():
            if write == clients.cognite_run and clients.cognite_started >= COGNITE_LOAD_MAX:
                time.sleep(0.02)
                continue
            try:
                write(rec)
            except (httpx.TransportError, CogniteRequestError) as exc:  # no answer (a killed replica): 0
                rec.add(Outcome(dialect, "", False, status=0, body=repr(exc)))
            time.sleep(0.02)

    writes = ((clients.conductor_start, "conductor"), (clients.raw_conductor_start, "conductor"),
              (clients.cognite_run, "cognite"), (clients.altostrat_execute, "altostrat"))
    threads = [threading.Thread(target=loop, args=w, daemon=True) for w in writes]
    for t in threads:
        t.start()
    return threads
