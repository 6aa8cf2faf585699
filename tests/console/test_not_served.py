"""What a new user meets off the served paths: `/`, an unknown path under no dialect and under each
dialect answer 404 in that dialect's error format, naming what is not served and where to look on this
gateway (the spec pages, the console); `/docs` lists each spec as a link."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.support.server import run_gateway


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    with run_gateway(tmp_path_factory.mktemp("not-served")) as gw:
        yield gw.url


@pytest.mark.parametrize("path", ["/", "/nothing"])
def test_a_path_of_no_dialect_names_what_each_dialect_serves_and_the_pages(gateway, path):
    r = httpx.get(f"{gateway}{path}")
    assert r.status_code == 404
    message = r.json()["error"]["message"]
    assert message.startswith(f"wfgateway does not serve GET {path}; it serves ")
    for served in ("conductor under /api/", "cognite under /api/v1/projects/", "altostrat under /workflows",
                   "/docs lists their operations", "/console/ is the web console"):
        assert served in message, message


@pytest.mark.parametrize("path,dialect,message_of", [
    ("/api/nothing", "conductor", lambda doc: doc["message"]),
    ("/api/v1/projects/x/nothing", "cognite", lambda doc: doc["error"]["message"]),
    ("/workflows/x/y/z", "altostrat", lambda doc: doc["message"]),
])
def test_an_unserved_vendor_path_answers_in_the_vendors_format_and_names_its_spec_page(gateway, path, dialect, message_of):
    r = httpx.get(f"{gateway}{path}")
    assert r.status_code == 404
    message = message_of(r.json())
    assert message.startswith(f"wfgateway does not serve GET {path}; /docs/{dialect} lists the {dialect} operations")
    assert httpx.get(f"{gateway}/docs/{dialect}").status_code == 200  # the page it names is there


def test_docs_index_lists_each_spec_as_its_own_link(gateway):
    page = httpx.get(f"{gateway}/docs").text
    links = re.findall(r'<li><a href="(/docs/\w+)">([^<]+)</a>', page)
    assert links == [("/docs/altostrat", "Altostrat API"), ("/docs/cognite", "Cognite API"),
                     ("/docs/conductor", "Conductor API")]
    missing = httpx.get(f"{gateway}/docs/nothing")
    assert missing.status_code == 404 and "No dialect <code>nothing</code> is enabled here" in missing.text
    assert '<a href="/docs/conductor">Conductor API</a>' in missing.text


def test_no_page_asks_for_a_favicon_the_gateway_does_not_serve(gateway):
    for page in ("/console/", "/docs/conductor", "/docs"):
        assert '<link rel="icon" href="data:,">' in httpx.get(f"{gateway}{page}").text, page


def test_a_console_page_address_that_does_not_exist_is_a_page_with_the_way_in(gateway):
    typed = httpx.get(f"{gateway}/console/runs", headers={"Accept": "text/html,application/xhtml+xml"})
    assert typed.status_code == 404 and typed.headers["content-type"].startswith("text/html")
    assert "The console does not serve GET /console/runs." in typed.text
    assert '<a href="/console/#/runs">runs</a>' in typed.text
    api = httpx.get(f"{gateway}/console/api/nothing", headers={"Accept": "text/html"})  # its API stays JSON
    assert api.status_code == 404 and api.json() == {"error": "The console does not serve GET /console/api/nothing"}
