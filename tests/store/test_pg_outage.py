"""PostgreSQL outages (issue #22): a throwaway cluster this test starts itself (the machine's initdb and
pg_ctl, a temporary folder, its own port), two gateway replicas on it under load from the vendors'
clients, the database stopped mid-load and started again -- and the same with one replica SIGKILLed
while the database is down.

While the database is down every write is acknowledged or answered with the dialect's retryable 503
(never a 500) and /readyz says why; once it is back both replicas answer again by themselves (no
restart), nothing acknowledged is lost or doubled, the WAIT timers all fire, no timer was dropped,
and each replica's timer loop was restarted by its supervisor (counted in /metrics).
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
import yaml

from tests.store.load import Clients, Recorder, drive, probe
from tests.store.pg_cluster import Cluster
from tests.support.server import REPO, free_port, gateway_config, wait_ready

pytestmark = pytest.mark.slow  # started first: see tests/conftest.py

OUTAGE_S = 4.0
LOAD_BEFORE_S = 1.5


@dataclass
class Replica:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def check_log(self) -> None:
        """No timer was dropped, no request failed unhandled; a fault's cause is logged once per episode."""
        log = self.text()
        assert "dropping it" not in log and "removing it" not in log, log[-3000:]
        assert "unhandled error" not in log, log[-3000:]
        episodes = log.count("cannot take writes")
        assert episodes <= 3, f"{episodes} fault episodes logged:\n{log[-3000:]}"


@contextlib.contextmanager
def gateway_processes(tmp_path: Path, store: dict[str, object], count: int) -> Iterator[list[Replica]]:
    """``count`` gateways (`wfgateway serve`, each logging to a file) on one store, started in turn."""
    running: list[Replica] = []
    try:
        for n in range(count):
            data = gateway_config(tmp_path)
            data["store"] = store
            data["server"]["port"] = port = free_port()
            cfg = tmp_path / f"replica-{n}.yaml"
            cfg.write_text(yaml.safe_dump(data, sort_keys=False))
            log = tmp_path / f"replica-{n}.log"
            proc = subprocess.Popen([sys.executable, "-m", "wfgateway.cli", "serve", "--config", str(cfg)], cwd=REPO,
                                    stdout=log.open("wb"), stderr=subprocess.STDOUT)
            running.append(Replica(f"http://127.0.0.1:{port}", proc, log))
            wait_ready(running[-1].url, proc)
        yield running
    finally:
        for r in running:
            if r.proc.poll() is None:
                r.proc.terminate()
                try:
                    r.proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    r.proc.kill()


def outage(pg: Cluster, gateways: list[Replica], kill_one: bool) -> tuple[list[Clients], Recorder]:
    clients = [Clients(g.url) for g in gateways]
    clients[0].define()
    for c in clients[1:]:
        c.altostrat_wf = clients[0].altostrat_wf
    rec, stop_probe, stop_load = Recorder(), threading.Event(), threading.Event()
    first = clients[0].conductor.get_workflow_client().start_workflow_by_name("store_fault_wait", {}, version=1)
    prober = threading.Thread(target=probe, args=(gateways[0].url, rec, stop_probe, f"/api/workflow/{first}"),
                              daemon=True)
    prober.start()
    own = [Recorder() for _ in clients]  # per replica: the killed one's refused connections are expected
    writers = [drive(c, r, stop_load) for c, r in zip(clients, own, strict=True)]
    time.sleep(LOAD_BEFORE_S)
    pg.stop()
    time.sleep(OUTAGE_S / 2)
    if kill_one:
        gateways[1].kill()
    time.sleep(OUTAGE_S / 2)
    stop_probe.set()
    prober.join(timeout=30)
    during = list(rec.health), list(rec.ready)
    pg.start()
    back = time.monotonic()
    time.sleep(1.0)
    stop_load.set()
    for t in writers[0]:  # the killed replica's writers may still be backing off: they are daemons
        t.join(timeout=90)
    rec.health, rec.ready = during
    for n, r in enumerate(own):
        killed = kill_one and n == 1
        rec.outcomes += [o for o in r.outcomes if not (killed and not o.ok and o.status in (0, None))]
    print(f"database back; load stopped {time.monotonic() - back:.1f} s later")
    return clients, rec


def check_recovery(pg: Cluster, gateways: list[Replica], clients: list[Clients], rec: Recorder,
                   alive: list[int]) -> None:
    assert rec.health and all(status == 200 for status, _ in rec.health), rec.health
    causes = [body.get("checks", {}).get("store", "") for status, body in rec.ready if status == 503]
    assert any(c.startswith("database unreachable") for c in causes), rec.ready
    refused = [o for o in rec.outcomes if not o.ok]
    assert refused, "the outage refused no write"
    assert all(o.status == 503 for o in refused), [(o.dialect, o.status, o.body) for o in refused if o.status != 503]
    for o in refused:
        if o.dialect == "conductor" and isinstance(o.body, dict):
            assert o.body["retryable"] is True
        if o.dialect == "altostrat":
            assert o.body["code"] == "service_unavailable" and o.retry_after == "1"
    # every surviving replica answers every dialect again, without a restart
    for i in alive:
        deadline = time.monotonic() + 30
        while httpx.get(f"{gateways[i].url}/readyz").status_code != 200:
            assert time.monotonic() < deadline, httpx.get(f"{gateways[i].url}/readyz").text
            time.sleep(0.1)
        after = Recorder()
        clients[i].conductor_start(after)
        clients[i].cognite_run(after)
        clients[i].altostrat_execute(after)
        assert all(o.ok for o in after.outcomes), after.outcomes
        rec.outcomes += after.outcomes
    # nothing acknowledged lost or doubled; nothing refused exists
    reader = clients[alive[0]]
    for o in rec.outcomes:
        if o.dialect == "conductor":
            found = reader.conductor_exists(o.tag)
            assert found == ([o.ident] if o.ok else []), (o, found)
        elif o.ok and o.dialect == "cognite":
            assert reader.cognite_exists(str(o.ident)), o
        elif o.ok:
            assert reader.altostrat_exists(str(o.ident)), o
    # every WAIT timer fires (also those of the killed replica): no overdue timer is left
    started = [str(o.ident) for o in rec.outcomes if o.ok and o.dialect == "conductor"]
    deadline = time.monotonic() + 60
    while (pending := [w for w in started if reader.conductor_status(w) != "COMPLETED"]):
        assert time.monotonic() < deadline, f"{len(pending)} of {len(started)} WAIT timers never fired"
        time.sleep(0.25)
    with psycopg.connect(pg.dsn) as conn:
        overdue = conn.execute("SELECT count(*) FROM timers WHERE due_ms < %s",
                               (int(time.time() * 1000) - 5000,)).fetchone()
    assert overdue == (0,)
    for i in alive:
        metrics = httpx.get(f"{gateways[i].url}/metrics").text
        restarts = [line for line in metrics.splitlines() if line.startswith('wfgateway_loop_restarts_total{loop="engine-timers"}')]
        assert restarts and float(restarts[0].split()[-1]) >= 1, metrics
        assert "wfgateway_store_unavailable_total" in metrics
    for g in gateways:
        g.check_log()
    for c in clients:
        c.close()


@pytest.mark.postgres
def test_a_postgresql_restart_mid_load_with_two_replicas(cluster: Cluster, tmp_path: Path):
    with gateway_processes(tmp_path, {"kind": "postgres", "dsn": cluster.dsn, "wait_ms": 2000}, 2) as gateways:
        clients, rec = outage(cluster, gateways, kill_one=False)
        check_recovery(cluster, gateways, clients, rec, alive=[0, 1])


@pytest.mark.postgres
def test_a_replica_sigkilled_while_postgresql_is_down(cluster: Cluster, tmp_path: Path):
    with gateway_processes(tmp_path, {"kind": "postgres", "dsn": cluster.dsn, "wait_ms": 2000}, 2) as gateways:
        clients, rec = outage(cluster, gateways, kill_one=True)
        check_recovery(cluster, gateways, clients, rec, alive=[0])
