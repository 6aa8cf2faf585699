"""One tenant vocabulary across dialects, seen through the README's own quickstart snippets.

The shipped config.yaml runs open mode, where Conductor without a key, Cognite's project `default`
and Altostrat's organisation `default` are one tenant (README "Auth and tenants").  After the three
snippets ran against one gateway, each dialect's own run listing holds the runs the other two
started, and each run reads through every dialect."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.foundation.test_readme_quickstart import quickstart_blocks
from tests.support.server import run_gateway_process


def run_snippet(dialect: str, url: str, where: Path) -> None:
    script = where / f"quickstart_{dialect}.py"
    script.write_text(quickstart_blocks()[dialect])
    done = subprocess.run([sys.executable, str(script)], cwd=where, capture_output=True, text=True, timeout=180,
                          env={**os.environ, "WFGATEWAY_URL": url})
    gateway_log = where / f"gateway-{url.rsplit(':', 1)[1]}.log"  # see run_gateway_process
    assert done.returncode == 0, done.stdout + done.stderr + "\n-- the gateway's log --\n" + (
        gateway_log.read_text(errors="replace")[-4000:] if gateway_log.is_file() else "(none)")


@pytest.fixture(scope="module")
def after_the_quickstarts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    where = tmp_path_factory.mktemp("quickstart-tenants")
    with run_gateway_process(where) as url:
        for dialect in ("conductor", "cognite", "altostrat"):
            run_snippet(dialect, url, where)
        yield url


def test_the_quickstarts_see_each_others_runs(after_the_quickstarts: str):
    with httpx.Client(base_url=after_the_quickstarts, timeout=30) as c:

        conductor = {r["workflowId"]: r.get("workflowType") for r in
                     c.get("/api/workflow/search", params={"size": 100}).json()["results"]}
        cognite = {e["id"] for e in c.post("/api/v1/projects/default/workflows/executions/list",
                                           json={"limit": 100}).json()["items"]}
        altostrat_workflows = c.get("/workflows").json()
        altostrat = {r["id"] for w in altostrat_workflows
                     for r in c.get(f"/workflows/{w['id']}/executions").json()["data"]}

        # every snippet left at least its run; the Altostrat one a failed run and its resumed run
        assert len(conductor) >= 4, conductor
        assert set(conductor) == cognite == altostrat, (conductor, cognite, altostrat)
        native = [w for w in altostrat_workflows if w["name"] == "Greetings"]
        assert native, "the Altostrat snippet's workflow is listed"
        for run_id in conductor:  # each run reads through Conductor and Altostrat
            assert c.get(f"/api/workflow/{run_id}").status_code == 200
            assert c.get(f"/workflows/runs/{run_id}").status_code == 200
        for run_id in conductor:
            assert c.get(f"/api/v1/projects/default/workflows/executions/{run_id}").status_code == 200

        # another project is another tenant: it sees none of them
        other = c.post("/api/v1/projects/someone-else/workflows/executions/list", json={"limit": 100}).json()
        assert other["items"] == []


def test_an_altostrat_run_reads_through_cognite(after_the_quickstarts: str):
    with httpx.Client(base_url=after_the_quickstarts, timeout=30) as c:
        workflow = next(w for w in c.get("/workflows").json() if w["name"] == "Greetings")
        run_id = c.get(f"/workflows/{workflow['id']}/executions").json()["data"][0]["id"]
        assert c.get(f"/api/v1/projects/default/workflows/executions/{run_id}").status_code == 200


def test_each_quickstart_keeps_its_own_definition(after_the_quickstarts: str):
    """A workflow name and version is one definition per tenant, whichever dialect wrote it last: the Cognite
    snippet (run after the Conductor one, as the README prints them) must not replace the Conductor one."""
    with httpx.Client(base_url=after_the_quickstarts, timeout=30) as c:
        conductor = c.get("/api/metadata/workflow/greetings", params={"version": 1}).json()
        assert [(t["taskReferenceName"], t["type"]) for t in conductor["tasks"]] == [("greet_ref", "SIMPLE"),
                                                                                      ("ping_ref", "HTTP")]
        cognite = c.get("/api/v1/projects/default/workflows/greetings-cognite/versions/1").json()
        assert [t["externalId"] for t in cognite["workflowDefinition"]["tasks"]] == ["greet"]
