"""A new user's first hour with the console, in headless Chromium: every action pressed on a run where it
applies and where it does not answers in words (never an error in the browser's console), the page is
usable by keyboard alone, fits a 390 px phone as well as a 1280x800 laptop, and finds an Altostrat run
by the workflow name Altostrat shows."""

from __future__ import annotations

import json
import re
import time

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.console.browser import browser_errors, expect_node, notice, open_run_from_list, press
from tests.support.server import run_gateway

OWNER = {"schemaVersion": 2, "ownerEmail": "qa@example.com"}
WAITS = {"name": "first_hour_waits", "version": 1, **OWNER,
         "tasks": [{"name": "first_hour_slow", "taskReferenceName": "slow", "type": "SIMPLE"}]}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    with run_gateway(tmp_path_factory.mktemp("first-hour")) as gw:
        api = httpx.Client(base_url=gw.url)
        api.post("/api/metadata/taskdefs", json=[{"name": "first_hour_slow", "retryCount": 0, **OWNER}]).raise_for_status()
        api.post("/api/metadata/workflow", json=WAITS).raise_for_status()
        yield gw


def new_page(browser, width: int, height: int) -> Page:
    return browser.new_context(viewport={"width": width, "height": height}).new_page()


def running_run(url: str) -> str:
    """A Conductor run whose worker task nobody polls: it stays RUNNING."""
    return httpx.post(f"{url}/api/workflow/{WAITS['name']}", json={"n": 1}).raise_for_status().text


def status_of(url: str, run_id: str) -> str:
    return httpx.get(f"{url}/api/workflow/{run_id}", params={"includeTasks": "false"}).json()["status"]


def until(fn, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if fn():
            return
        time.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


def test_each_action_on_a_running_run_answers_in_the_vendors_words_with_no_browser_error(gateway, browser):
    page = new_page(browser, 1280, 800)
    errors = browser_errors(page)
    run_id = running_run(gateway.url)
    open_run_from_list(page, gateway.url, run_id, dialect="conductor", text=run_id)
    refusals = {
        "retry": "Workflow is still running.",
        "rerun": "is not in terminal state, unable to rerun",
        "restart": "is not in terminal state, unable to restart",
        "resume": f"The workflow {run_id} is not PAUSED so cannot resume. Current status is RUNNING",
        "resume_from": "is still running; only a failed run can be resumed",
    }
    for action, words in refusals.items():
        press(page, action)
        expect(notice(page)).to_have_class("notice refusal")
        expect(notice(page)).to_contain_text(words)
    press(page, "pause")
    expect(notice(page)).to_have_text("Conductor: Pause done")
    expect(page.locator("h1 .badge")).to_have_text("PAUSED", timeout=30_000)
    press(page, "resume")
    expect(page.locator("h1 .badge")).to_have_text("RUNNING", timeout=30_000)
    press(page, "terminate", **{"a-reason": "first hour over"})
    expect(page.locator("h1 .badge")).to_have_text("TERMINATED", timeout=30_000)
    expect(page.locator("#run-meta")).to_contain_text("first hour over")
    press(page, "resume")
    expect(notice(page)).to_contain_text("is not PAUSED so cannot resume. Current status is TERMINATED")
    expect(page.locator("#history tbody tr")).to_have_count(len(refusals) + 4)
    assert errors == []


def test_the_run_page_works_from_the_keyboard(gateway, browser):
    page = new_page(browser, 1280, 800)
    errors = browser_errors(page)
    run_id = running_run(gateway.url)
    page.goto(f"{gateway.url}/console/#/runs?q={run_id}")
    link = page.locator(f'#runs tr[data-run="{run_id}"] a')
    expect(link).to_be_visible(timeout=30_000)
    link.focus()
    page.keyboard.press("Enter")
    expect_node(page, "slow", "SCHEDULED")

    # Tab reaches the task in the DAG; Enter opens its attempts, and focus stays on the task
    page.locator("#action-terminate").focus()
    page.keyboard.press("Tab")
    expect(page.locator('#dag g[data-node="slow"]')).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#task-panel h2")).to_have_text("slow")
    expect(page.locator("#task-panel")).to_contain_text("1 attempt(s)")
    expect(page.locator('#dag g[data-node="slow"]')).to_be_focused()
    expect(page.locator('#dag g[data-node="slow"]')).to_have_attribute("aria-pressed", "true")

    # an action's dialog takes the focus, Escape closes it untouched and gives the focus back
    page.locator("#action-terminate").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#modal")).to_be_visible()
    expect(page.locator("#a-reason")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.locator("#modal-confirm")).to_be_focused()
    page.keyboard.press("Tab")  # Tab goes round inside the dialog, not to the page behind it
    expect(page.locator("#a-reason")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(page.locator("#modal-confirm")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#modal")).to_be_hidden()
    expect(page.locator("#action-terminate")).to_be_focused()
    assert status_of(gateway.url, run_id) == "RUNNING"

    # Enter in the dialog's field confirms it
    page.keyboard.press("Enter")
    expect(page.locator("#a-reason")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("h1 .badge")).to_have_text("TERMINATED", timeout=30_000)
    assert errors == []


@pytest.mark.parametrize("width,height", [(1280, 800), (390, 844)])
def test_runs_list_and_run_page_fit_the_screen(gateway, browser, width, height):
    page = new_page(browser, width, height)
    errors = browser_errors(page)
    run_id = running_run(gateway.url)
    page.goto(f"{gateway.url}/console/#/runs")
    expect(page.locator(f'#runs tr[data-run="{run_id}"]')).to_be_visible(timeout=30_000)
    assert page.evaluate("document.documentElement.scrollWidth") == width, "the runs list is wider than the screen"
    for field in ("f-tenant", "f-dialect", "f-workflow", "f-status", "f-from", "f-to", "f-correlation", "f-text", "f-apply"):
        box = page.locator(f"#{field}").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, f"{field} is off screen"
    expect(page.locator("#run-filters")).to_contain_text("created from (UTC)")

    page.locator(f'#runs tr[data-run="{run_id}"] a').click()
    expect_node(page, "slow", "SCHEDULED")
    expect(page.locator("#run-input")).to_contain_text('"n": 1')
    expect(page.locator("#run-input")).to_be_visible()
    assert page.locator("#run-input").bounding_box()["width"] > width / 3, "the run's input is squeezed"
    assert page.evaluate("document.documentElement.scrollWidth") == width, "the run page is wider than the screen"
    for button in page.locator("#run-actions button").all():
        box = button.bounding_box()
        assert box is not None and box["x"] + box["width"] <= width, f"{button.inner_text()} is off screen"
    assert errors == []


def test_an_altostrat_run_is_found_by_the_workflow_name_altostrat_shows(gateway, browser):
    page = new_page(browser, 1280, 800)
    errors = browser_errors(page)
    running_run(gateway.url)  # a run the text filter reads and leaves out
    api = httpx.Client(base_url=gateway.url)
    auth = api.post("/workflows/authorization").raise_for_status().json()["id"]
    flow = api.post("/workflows", json={"name": "Nightly Export", "authorization_id": auth, "nodes": [
        {"id": "start", "type": "manual_trigger", "position": {"x": 0, "y": 0}, "data": {"componentId": "manual_trigger"}},
    ], "edges": []}).raise_for_status().json()
    run_id = api.post(f"/workflows/{flow['id']}/execute", json={"context": {"night": 7}}).raise_for_status().json()["id"]
    until(lambda: api.get(f"/workflows/runs/{run_id}").json()["status"] == "completed", "the run completes")

    open_run_from_list(page, gateway.url, run_id, workflow="Nightly Export")
    expect(page.locator("h1")).to_contain_text("Nightly Export")
    # its input as Altostrat shows it (trigger_payload), not what the adapter keeps beside it
    shown = api.get(f"/workflows/runs/{run_id}").json()["trigger_payload"]
    expect(page.locator("#run-input")).to_have_text(json.dumps(shown, indent=2))
    page.goto(f"{gateway.url}/console/#/runs")
    page.fill("#f-text", "nightly")
    page.click("#f-apply")
    expect(page.locator(f'#runs tr[data-run="{run_id}"]')).to_be_visible(timeout=30_000)
    # how many runs the text filter read, never "N checked" beside the checkboxes' "0 selected"
    expect(page.locator("#page-count")).to_have_text(re.compile(r"^1 shown of \d+ runs read for the text filter$"))
    page.fill("#f-text", "")
    page.fill("#f-workflow", "Nightly Import")
    page.click("#f-apply")
    expect(page.locator("#runs tbody")).to_have_text("No runs match.", timeout=30_000)
    assert errors == []


def test_a_missing_run_a_stale_notice_and_a_bad_form_are_each_said_where_the_user_looks(gateway, browser):
    page = new_page(browser, 1280, 800)
    page.goto(f"{gateway.url}/console/#/run/default/no-such-run")
    expect(page.locator("#run-missing")).to_have_text("Run not found", timeout=30_000)
    expect(page.locator("#view")).to_contain_text("No run no-such-run in tenant 'default'")
    page.goto(f"{gateway.url}/console/#/definition/default/no_such_flow/1")
    expect(page.locator("#definition-missing")).to_have_text("Definition not found")
    expect(page.locator("#view")).to_contain_text("No definition no_such_flow version 1 in tenant 'default'")

    run_id = running_run(gateway.url)
    page.goto(f"{gateway.url}/console/#/run/default/{run_id}")
    press(page, "retry")
    expect(notice(page)).to_contain_text("Workflow is still running.")
    page.click("#nav-definitions")  # the refusal was about that run, not about this page
    expect(page.locator("#definitions")).to_contain_text(WAITS["name"])
    expect(notice(page)).to_be_hidden()

    page.goto(f"{gateway.url}/console/#/run/default/{run_id}")
    page.click("#action-rerun")
    page.fill("#a-workflow-input", '{"n": 2,')
    page.click("#modal-confirm")
    expect(page.locator("#modal-problem")).to_contain_text("Not JSON")
    expect(page.locator("#a-workflow-input")).to_have_value('{"n": 2,')  # what was typed is still there to fix
    page.click("#modal-cancel")
    expect(page.locator("#modal")).to_be_hidden()
    assert status_of(gateway.url, run_id) == "RUNNING"


def test_a_cognite_execution_is_cancelled_with_cognites_word(gateway, browser):
    page = new_page(browser, 1280, 800)
    errors = browser_errors(page)
    api = httpx.Client(base_url=f"{gateway.url}/api/v1/projects/default", headers={"Authorization": "Bearer open"})
    api.post("/workflows", json={"items": [{"externalId": "first-hour-cdf"}]}).raise_for_status()
    api.post("/workflows/versions", json={"items": [{"workflowExternalId": "first-hour-cdf", "version": "1",
        "workflowDefinition": {"tasks": [{"externalId": "fn", "type": "function",
                                          "parameters": {"function": {"externalId": "nobody"}}}]}}]}).raise_for_status()
    nonce = api.post("/sessions", json={"items": [{"tokenExchange": True}]}).raise_for_status().json()["items"][0]["nonce"]
    run_id = api.post("/workflows/first-hour-cdf/versions/1/run",
                      json={"authentication": {"nonce": nonce}}).raise_for_status().json()["id"]

    open_run_from_list(page, gateway.url, run_id, dialect="cognite")
    expect(page.locator("#action-terminate")).to_have_text("Cancel")  # CDF's word; Conductor's runs say Terminate
    page.click("#action-terminate")
    expect(page.locator("#modal-title")).to_have_text(f"Cancel run {run_id}?")
    page.click("#modal-confirm")
    expect(notice(page)).to_have_text("Cognite: Cancel done")
    expect(page.locator("h1 .badge")).to_have_text("TERMINATED", timeout=30_000)
    press(page, "retry")  # CDF retries a cancelled execution (its SDK's own trigger-cancel-retry test)
    expect(notice(page)).to_have_text("Cognite: Retry done")
    expect(page.locator("h1 .badge")).to_have_text("RUNNING", timeout=30_000)
    assert errors == []


def test_a_wide_dag_on_a_phone_scrolls_in_its_box_at_full_size(gateway, browser):
    chain = {"name": "first_hour_chain", "version": 1, **OWNER, "tasks": [
        {"name": f"step{i}", "taskReferenceName": f"step{i}", "type": "SET_VARIABLE", "inputParameters": {"i": i}}
        for i in range(5)]}
    httpx.post(f"{gateway.url}/api/metadata/workflow", json=chain).raise_for_status()
    run_id = httpx.post(f"{gateway.url}/api/workflow/first_hour_chain", json={}).raise_for_status().text
    page = new_page(browser, 390, 844)
    page.goto(f"{gateway.url}/console/#/run/default/{run_id}")
    expect_node(page, "step4", "COMPLETED")
    drawn = page.locator("#dag svg").bounding_box()
    assert drawn is not None and drawn["width"] == float(page.locator("#dag svg").get_attribute("width"))
    box = page.locator('#dag g[data-node="step0"] rect').bounding_box()
    assert box is not None and box["width"] >= 150, "the task boxes were shrunk to fit the phone"
    assert page.evaluate("document.documentElement.scrollWidth") == 390  # the DAG's box scrolls, not the page
    page.locator('#dag g[data-node="step4"]').scroll_into_view_if_needed()
    page.locator('#dag g[data-node="step4"]').click()
    expect(page.locator("#task-panel h2")).to_have_text("step4")


def test_created_from_and_to_the_same_minute_finds_a_run_of_that_minute(gateway, browser):
    page = new_page(browser, 1280, 800)
    run_id = running_run(gateway.url)
    created = httpx.get(f"{gateway.url}/api/workflow/{run_id}", params={"includeTasks": "false"}).json()["createTime"]
    minute = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(created / 1000))  # the form's UTC minute
    page.goto(f"{gateway.url}/console/#/runs")
    page.fill("#f-from", minute)
    page.fill("#f-to", minute)
    page.click("#f-apply")
    expect(page.locator(f'#runs tr[data-run="{run_id}"]')).to_be_visible(timeout=30_000)
    expect(page.locator("#f-to")).to_have_value(minute)  # the form shows the minute chosen, not the next one
