"""A run listing's `page` reads as Laravel's paginator reads it (Altostrat is a Laravel application):
a whole number of at least 1 is that page, anything else is page 1 -- never a 422.  `per_page` is no
parameter of the documented listing, so it changes nothing.  httpx against the real gateway."""

from __future__ import annotations

import pytest

from tests.altostrat.conftest import checked, new_authorization
from tests.altostrat.graphs import node

RUNS = 17  # a full page of 15 and a second page of 2


@pytest.fixture(scope="module")
def paged(org1) -> tuple[str, list[str]]:
    """A workflow with RUNS runs, and their ids newest first."""
    wf = checked(org1.post("/workflows", json={"name": "Paged", "authorization_id": new_authorization(org1),
                                               "nodes": [node("n1", "manual_trigger")], "edges": []}),
                 "createWorkflow", 201)
    ids = [checked(org1.post(f"/workflows/{wf['id']}/execute"), "executeWorkflow", 202)["id"] for _ in range(RUNS)]
    return wf["id"], list(reversed(ids))


def listing(org1, workflow_id: str, query: str) -> dict:
    return checked(org1.get(f"/workflows/{workflow_id}/executions?{query}"), "listWorkflowRuns", 200)


@pytest.mark.parametrize("query", [
    "page=abc", "page=two", "page=0", "page=-1", "page=-0", "page=1.5", "page=", "page=02", "page=0x2",
    "page=1e1", "page=%20", "page[]=2", "page=99999999999999999999",  # past PHP's integers: not an int
])
def test_a_page_that_is_no_whole_number_of_at_least_one_is_the_first(org1, paged, query):
    workflow_id, newest_first = paged
    got = listing(org1, workflow_id, query)
    assert [r["id"] for r in got["data"]] == newest_first[:15]
    assert got["meta"]["current_page"] == 1 and (got["meta"]["from"], got["meta"]["to"]) == (1, 15)
    assert got["links"]["prev"] is None and got["links"]["next"].endswith("?page=2")


@pytest.mark.parametrize("query", ["page=2", "page=%2B2", "page=+2+", "page=%092", "page=1&page=2"])
def test_a_whole_number_is_that_page_with_sign_spaces_and_the_last_value_as_php_reads_them(org1, paged, query):
    workflow_id, newest_first = paged
    got = listing(org1, workflow_id, query)
    assert [r["id"] for r in got["data"]] == newest_first[15:]
    assert got["meta"]["current_page"] == 2 and got["links"]["prev"].endswith("?page=1")


@pytest.mark.parametrize("page", [3, 1000001, 2**63 - 1])
def test_a_page_after_the_last_is_empty_however_far(org1, paged, page):
    workflow_id, _ = paged
    got = listing(org1, workflow_id, f"page={page}")
    assert got["data"] == [] and got["meta"]["current_page"] == page
    assert (got["meta"]["from"], got["meta"]["to"], got["meta"]["last_page"], got["meta"]["total"]) == (
        None, None, 2, RUNS)
    assert got["links"]["prev"].endswith(f"?page={page - 1}") and got["links"]["next"] is None


@pytest.mark.parametrize("per_page", ["5", "100", "500", "0", "-1", "abc", ""])
def test_per_page_is_no_parameter_of_the_listing_and_changes_nothing(org1, paged, per_page):
    workflow_id, newest_first = paged
    got = listing(org1, workflow_id, f"per_page={per_page}")
    assert [r["id"] for r in got["data"]] == newest_first[:15]
    assert (got["meta"]["per_page"], got["meta"]["last_page"]) == (15, 2)
    assert got["links"]["next"].endswith("?page=2")  # the links do not carry it either
