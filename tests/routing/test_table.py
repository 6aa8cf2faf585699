"""Route matching and backend choice, on the compiled table."""

from __future__ import annotations

from collections import Counter

import pytest

from wfgateway.routing.keys import NO_KEYS, RouteKeys, compile_mapping
from wfgateway.routing.table import NoRoute, RouteTable

ROUTES = [
    {"name": "billing", "match": {"dialect": "conductor", "workflow": "billing_*"}, "backend": "prod",
     "weights": {"prod": 90, "canary": 10}, "sticky": "workflow"},
    {"name": "acme", "match": {"tenant": "acme-*", "operation": "get*"}, "backend": "acme"},
    {"name": "beta", "match": {"header": {"X-Beta": "on"}}, "backend": "beta"},
    {"name": "rest", "match": {}, "backend": "engine"},
]


def match(table, dialect="conductor", op="startWorkflow", keys=NO_KEYS, tenant="default", headers=None):
    return table.match(dialect, op, keys, tenant, {k.lower(): v for k, v in (headers or {}).items()}).name


def test_first_matching_route_wins():
    t = RouteTable.from_config(ROUTES)
    assert match(t, keys=RouteKeys(workflow="billing_monthly")) == "billing"
    assert match(t, dialect="cognite", keys=RouteKeys(workflow="billing_monthly")) == "rest"
    assert match(t, keys=RouteKeys(workflow="shipping")) == "rest"
    assert match(t, keys=NO_KEYS) == "rest"  # no workflow name known: a workflow pattern does not match
    assert match(t, op="getWorkflow", tenant="acme-eu") == "acme"
    assert match(t, op="startWorkflow", tenant="acme-eu") == "rest"
    assert match(t, headers={"X-Beta": "on"}) == "beta"
    assert match(t, headers={"X-Beta": "off"}) == "rest"


def test_no_catch_all_means_no_route():
    t = RouteTable.from_config(ROUTES[:1])
    with pytest.raises(NoRoute):
        match(t, keys=RouteKeys(workflow="other"))


def test_sticky_workflow_always_picks_the_same_backend_and_splits_by_weight():
    route = RouteTable.from_config(ROUTES).routes[0]
    picks = {f"billing_{i}": route.choose(RouteKeys(workflow=f"billing_{i}")) for i in range(2000)}
    again = {name: route.choose(RouteKeys(workflow=name)) for name in picks}
    assert picks == again
    share = Counter(picks.values())["canary"] / len(picks)
    assert 0.08 < share < 0.12


def test_calls_about_an_unknown_existing_execution_go_to_the_primary():
    route = RouteTable.from_config(ROUTES).routes[0]
    assert {route.choose(RouteKeys(workflow=f"billing_{i}", execution_id=f"e{i}")) for i in range(200)} == {"prod"}


def test_duplicate_route_names_are_refused():
    with pytest.raises(ValueError, match="unique"):
        RouteTable.from_config([{"name": "a", "backend": "x"}, {"name": "a", "backend": "y"}])


def test_route_key_mapping_reads_path_query_body_and_created_ids():
    ops = compile_mapping({
        "start": {"workflow": "body.name", "correlation_id": "query.cid", "created": "body.items.0.id"},
        "get": {"execution_id": "path.id"},
    })

    class Call:
        path = {"id": "e-1"}
        query = {"cid": "c-9"}
        headers: dict = {}
        body = {"name": "wf"}

    start = dict((k, g(Call)) for k, g in ops["start"].getters)
    assert start == {"workflow": "wf", "correlation_id": "c-9"}
    assert ops["start"].created(b"", {"items": [{"id": "new-1"}]}) == "new-1"
    assert dict((k, g(Call)) for k, g in ops["get"].getters) == {"execution_id": "e-1"}
    with pytest.raises(ValueError):
        compile_mapping({"x": {"workflow": "cookie.a"}})
