"""Debian's chromium driven by Playwright for Python (``executable_path``: no ``playwright install``,
no downloaded browser).  ``make test`` installs chromium when it is missing."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from typing import Any

from playwright.sync_api import Browser, Page, expect, sync_playwright

RED = "rgb(198, 40, 40)"  # --bad in console.css: a failed task
GREEN = "rgb(46, 125, 50)"  # --ok: a completed task


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise RuntimeError("chromium is not installed: `make test` installs it (apt-get install -y chromium)")
    return found


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox", "--disable-gpu"])
        try:
            yield browser
        finally:
            browser.close()


def browser_errors(page: Page) -> list[str]:
    """What the page logs as an error in the browser's console (a failed resource load -- a 404 favicon,
    a 4xx answer -- or an uncaught exception); the list grows while the page is used."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    return errors


def node(page: Page, ref: str):
    return page.locator(f'#dag g[data-node="{ref}"]')


def expect_node(page: Page, ref: str, status: str, colour: str | None = None) -> None:
    """The task's box in the DAG has ``status`` (and, when given, is filled with ``colour``)."""
    expect(node(page, ref)).to_have_attribute("data-status", status, timeout=30_000)
    if colour is not None:
        fill = node(page, ref).locator("rect").evaluate("r => getComputedStyle(r).fill")
        assert fill == colour, f"{ref} is {status} but drawn {fill}"


def open_run_from_list(page: Page, base: str, run_id: str, **filters: str) -> None:
    """Find the run in the runs list (with ``filters`` typed into the filter form) and open its page."""
    page.goto(f"{base}/console/#/runs")
    for name, value in filters.items():
        field = page.locator(f"#f-{name}")
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    page.click("#f-apply")
    row = page.locator(f'#runs tr[data-run="{run_id}"]')
    expect(row).to_be_visible(timeout=30_000)
    row.locator("a").click()
    expect(page.locator("#dag svg")).to_be_visible(timeout=30_000)


def press(page: Page, action: str, **choices: Any) -> None:
    """Press an action button, fill its form (field id -> text, option value, or {"label": ...}) and confirm."""
    page.click(f"#action-{action}")
    expect(page.locator("#modal")).to_be_visible()
    for field, value in choices.items():
        element = page.locator(f"#{field}")
        if isinstance(value, dict):
            element.select_option(**value)
        elif element.evaluate("e => e.tagName") == "SELECT":
            element.select_option(value)
        else:
            element.fill(value)
    page.click("#modal-confirm")


def notice(page: Page):
    return page.locator("#notice")
