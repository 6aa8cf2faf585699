"""Take the README's console screenshots with headless chromium: ``python -m tests.console.screenshots``.

A gateway from the shipped config (open mode, SQLite in a temporary folder) gets runs of all three
dialects -- the showcase Conductor order (switch, fan-out, loop, failed sub-workflow), Cognite and
Altostrat runs, completed and failed -- then the runs list and the order's DAG are saved as
docs/console-runs.png and docs/console-dag.png.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import httpx
from cognite.client import ClientConfig, CogniteClient, global_config
from cognite.client.credentials import Token
from cognite.client.data_classes.workflows import (
    FunctionTaskParameters,
    WorkflowDefinitionUpsert,
    WorkflowTask,
    WorkflowUpsert,
    WorkflowVersionUpsert,
)
from playwright.sync_api import expect

from tests.console.browser import chromium
from tests.console.showcase import failed_order
from tests.support.server import run_gateway

DOCS = Path(__file__).resolve().parents[2] / "docs"
global_config.disable_pypi_version_check = True


def cognite_runs(url: str) -> None:
    client = CogniteClient(ClientConfig(client_name="screenshots", project="default", base_url=url,
                                        credentials=Token("open-mode")))
    client.workflows.upsert(WorkflowUpsert("asset-sync"))
    client.workflows.versions.upsert(WorkflowVersionUpsert("asset-sync", "3", WorkflowDefinitionUpsert([
        WorkflowTask("extract", FunctionTaskParameters("extractor"), retries=0)])))
    for n in range(2):
        run = client.workflows.executions.run("asset-sync", "3", input={"batch": n})
        for _ in range(200):
            tasks = client.workflows.executions.retrieve_detailed(run.id).executed_tasks
            if tasks and tasks[-1].status == "in_progress":
                client.workflows.tasks.update(tasks[-1].id, "completed" if n else "failed", output={"rows": 10})
                break


def altostrat_runs(api: httpx.Client, url: str) -> None:
    auth = api.post("/workflows/authorization").raise_for_status().json()["id"]
    flow = api.post("/workflows", json={"name": "Nightly report", "authorization_id": auth, "nodes": [
        {"id": "start", "type": "manual_trigger", "position": {"x": 0, "y": 0}, "data": {"componentId": "manual_trigger"}},
        {"id": "ping", "type": "webhook", "position": {"x": 200, "y": 0},
         "data": {"componentId": "webhook", "method": "GET", "url": f"{url}/healthz"}},
    ], "edges": [{"id": "e1", "source": "start", "target": "ping"}]}).raise_for_status().json()
    for _ in range(2):
        api.post(f"/workflows/{flow['id']}/execute", json={"context": {}}).raise_for_status()


def main() -> None:
    with tempfile.TemporaryDirectory() as d, run_gateway(Path(d)) as gw:
        api = httpx.Client(base_url=gw.url)
        altostrat_runs(api, gw.url)
        cognite_runs(gw.url)
        order = failed_order(api)
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1360, "height": 760}, device_scale_factor=1)
            page.goto(f"{gw.url}/console/#/runs")
            expect(page.locator(f'#runs tr[data-run="{order}"]')).to_be_visible()
            page.screenshot(path=str(DOCS / "console-runs.png"))
            page.set_viewport_size({"width": 1600, "height": 1000})
            page.goto(f"{gw.url}/console/#/run/default/{order}")
            expect(page.locator('#dag g[data-node="notify"]')).to_have_attribute("data-status", "FAILED")
            page.locator('#dag g[data-node="notify"]').click()
            page.screenshot(path=str(DOCS / "console-dag.png"))
    print(f"wrote {DOCS / 'console-runs.png'} and {DOCS / 'console-dag.png'}")


if __name__ == "__main__":
    main()
