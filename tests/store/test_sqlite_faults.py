"""The embedded store under its own faults (issue #25), on the gateway as `wfgateway serve` runs it.

Two real faults under load from the vendors' clients: a write lock that another process holds
(``BEGIN EXCLUSIVE``, as an operator's sqlite3 shell or a backup script does) and a full disk (a small
tmpfs this test mounts and fills).  While the fault holds, /healthz and reads keep answering, every
write is acknowledged or refused with the dialect's retryable 503 (never a 500), /readyz names the
cause; afterwards nothing acknowledged is lost, nothing refused exists, timers caught up, the file is
intact, and writes succeed again without a restart.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.store.load import CONDUCTOR_WF, Clients, Recorder, drive, probe
from tests.store.test_pg_outage import gateway_processes

pytestmark = pytest.mark.slow  # started first: see tests/conftest.py

WAIT_MS = 1000  # store.wait_ms: how long a write waits for a locked store before its 503
FAULT_S = 4.0


def run_fault(url: str, start_fault: object, end_fault: object) -> tuple[Clients, Recorder]:
    clients = Clients(url)
    clients.define()
    first = clients.conductor.get_workflow_client().start_workflow_by_name(CONDUCTOR_WF, {}, version=1)
    rec, stop_probe, stop_load = Recorder(), threading.Event(), threading.Event()
    prober = threading.Thread(target=probe, args=(url, rec, stop_probe, f"/api/workflow/{first}"), daemon=True)
    start_fault()  # type: ignore[operator]
    try:
        prober.start()
        writers = drive(clients, rec, stop_load)
        time.sleep(FAULT_S)
        stop_load.set()
        for t in writers:
            t.join(timeout=60)
        stop_probe.set()
        prober.join(timeout=30)
        during = list(rec.health), list(rec.ready), list(rec.reads)
    finally:
        end_fault()  # type: ignore[operator]
    rec.health, rec.ready, rec.reads = during
    return clients, rec


def assert_fault_answers(clients: Clients, rec: Recorder, cause: str, db: Path) -> None:
    url = clients.url
    # while the fault held: the gateway kept answering
    assert rec.health and all(status == 200 for status, _ in rec.health), rec.health
    print(f"/healthz during the fault: {len(rec.health)} probes, slowest {max(s for _, s in rec.health) * 1000:.1f} ms")
    assert rec.reads and all(status == 200 for status in rec.reads), rec.reads
    causes = [body.get("checks", {}).get("store") for status, body in rec.ready if status == 503]
    assert any(c and c.startswith(cause) for c in causes), rec.ready
    # every write: acknowledged, or refused with the dialect's retryable answer
    refused = [o for o in rec.outcomes if not o.ok]
    assert refused, "the fault refused no write: it did not hold"
    assert all(o.status == 503 for o in refused), [(o.dialect, o.status, o.body) for o in refused]
    for o in refused:
        if o.dialect == "conductor" and isinstance(o.body, dict):
            assert o.body["retryable"] is True and o.body["status"] == 503
        if o.dialect == "altostrat":
            assert o.body["type"] == "api_error" and o.body["code"] == "service_unavailable"
        if o.retry_after is not None or o.dialect == "altostrat" or isinstance(o.body, dict):
            assert o.retry_after == "1", o
    assert any(o.dialect == "conductor" and not o.ok and isinstance(o.body, dict) for o in refused)
    assert any(o.dialect == "altostrat" for o in refused)
    # the store is writable again without a restart
    deadline = time.monotonic() + 30
    while httpx.get(f"{url}/readyz").status_code != 200:
        assert time.monotonic() < deadline, httpx.get(f"{url}/readyz").text
        time.sleep(0.1)
    after = Recorder()
    clients.conductor_start(after)
    clients.cognite_run(after)
    clients.altostrat_execute(after)
    assert all(o.ok for o in after.outcomes), after.outcomes
    # nothing acknowledged was lost, nothing refused exists, timers caught up
    for o in rec.outcomes + after.outcomes:
        if o.dialect == "conductor":
            found = clients.conductor_exists(o.tag)
            assert found == ([o.ident] if o.ok else []), (o, found)
        elif o.ok and o.dialect == "cognite":
            assert clients.cognite_exists(str(o.ident)), o
        elif o.ok:
            assert clients.altostrat_exists(str(o.ident)), o
    started = [o.ident for o in rec.outcomes + after.outcomes if o.ok and o.dialect == "conductor"]
    assert started
    deadline = time.monotonic() + 30
    while (pending := [w for w in started if clients.conductor_status(str(w)) != "COMPLETED"]):
        assert time.monotonic() < deadline, f"{len(pending)} WAIT timers never fired"
        time.sleep(0.2)
    metrics = httpx.get(f"{url}/metrics").text
    assert f'wfgateway_store_unavailable_total{{cause="{cause}"}}' in metrics
    with contextlib.closing(sqlite3.connect(db)) as check:
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    clients.close()


def test_a_write_lock_held_by_another_process(tmp_path: Path):
    db = tmp_path / "gateway.db"
    holder: dict[str, sqlite3.Connection] = {}

    def take() -> None:  # this test's process is the other process
        holder["db"] = sqlite3.connect(db, isolation_level=None, timeout=30)
        holder["db"].execute("BEGIN EXCLUSIVE")

    def release() -> None:
        holder["db"].execute("ROLLBACK")
        holder["db"].close()

    with gateway_processes(tmp_path, {"kind": "sqlite", "path": str(db), "wait_ms": WAIT_MS}, 1) as (gateway,):
        clients, rec = run_fault(gateway.url, take, release)
        assert_fault_answers(clients, rec, "locked", db)
        gateway.check_log()


@contextlib.contextmanager
def small_disk(where: Path) -> Iterator[Path]:
    """A 24 MiB tmpfs at ``where`` (root only; skipped where mount is impossible, e.g. without CAP_SYS_ADMIN)."""
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(where)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode}); the disk-full fault needs it")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(folder: Path) -> Path:
    """Write zeros into ``folder`` until the device is full."""
    filler = folder / "filler"
    block = b"\0" * (1 << 16)
    with open(filler, "wb", buffering=0) as f:
        with contextlib.suppress(OSError):
            while True:
                f.write(block)
    return filler


def test_a_full_disk(tmp_path: Path):
    with small_disk(tmp_path / "disk") as disk:
        db = disk / "gateway.db"
        filler: dict[str, Path] = {}
        store = {"kind": "sqlite", "path": str(db), "wait_ms": WAIT_MS}
        with gateway_processes(tmp_path, store, 1) as (gateway,):
            clients, rec = run_fault(gateway.url, lambda: filler.setdefault("f", fill(disk)),
                                     lambda: os.unlink(filler["f"]))
            assert_fault_answers(clients, rec, "disk full", db)
            gateway.check_log()
