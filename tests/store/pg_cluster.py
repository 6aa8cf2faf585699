"""A PostgreSQL cluster of a test's own: the machine's initdb and pg_ctl, a temporary folder, its own
port -- so a test can stop and start the database under load without touching the shared one."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.server import free_port


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        pytest.fail(f"no {name} under /usr/lib/postgresql/*/bin (install postgresql)")
    return found[-1]


@dataclass
class Cluster:
    data: Path
    port: int
    as_user: list[str]

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def ctl(self, *args: str) -> None:
        subprocess.run([*self.as_user, _bin("pg_ctl"), "-D", str(self.data), *args], check=True,
                       capture_output=True, timeout=60)

    def start(self) -> None:
        self.ctl("-w", "-l", str(self.data / "server.log"), "-o",
                 f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off", "start")

    def stop(self) -> None:
        self.ctl("-w", "-m", "fast", "stop")


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """A PostgreSQL cluster of this test's own (initdb refuses root: it runs as the postgres user)."""
    root = Path(tempfile.mkdtemp(prefix="wfg-pg-", dir="/tmp"))
    data = root / "data"
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres", "postgres")
    subprocess.run([*as_user, _bin("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"],
                   check=True, capture_output=True, timeout=120)
    pg = Cluster(data, free_port(), as_user)
    pg.start()
    try:
        yield pg
    finally:
        with contextlib.suppress(Exception):
            pg.stop()
        shutil.rmtree(root, ignore_errors=True)
