"""Issue 21: every paged, list, search and history operation of every dialect, asked by one tenant with
generated filters, pages and cursors -- built from the other tenant's ids and names, from names sorting
before and after the caller's, forged from the store's key layout, or issued to the other tenant --
never answers an item of the other tenant, and never fails with a 5xx.  Two tenants, SQLite and
PostgreSQL, Hypothesis-generated requests against the real gateway."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote_plus

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.tenancy.conftest import Tenant, TwoTenants
from tests.tenancy.seed import Seeded, seed_altostrat, seed_cognite, seed_conductor

SEP = "\x1f"  # the Cognite state's key separator


@dataclass
class World:
    tenants: TwoTenants
    seeded: dict[str, Seeded]
    cursors: dict[str, list[str]]  # tenant -> real nextCursors issued to it

    def client(self, tenant: str) -> Tenant:
        return self.tenants.acme if tenant == "acme" else self.tenants.rival


@pytest.fixture(scope="module")
def world(tenants: TwoTenants) -> Iterator[World]:
    seeded = {}
    for t in (tenants.acme, tenants.rival):
        out = Seeded(t.name)
        seed_cognite(t.cognite, t.name, out)
        seed_conductor(t.conductor, t.name, out)
        seed_altostrat(t.altostrat, t.name, out)
        seeded[t.name] = out
    cursors: dict[str, list[str]] = {}
    for t in (tenants.acme, tenants.rival):
        issued = [t.cognite.get(p, params={"limit": 1}).json()["nextCursor"]
                  for p in ("/workflows", "/workflows/triggers", "/workflows/versions", "/sessions",
                            f"/workflows/triggers/{t.name}-trig/history")]
        issued.append(t.cognite.post("/workflows/executions/list", json={"limit": 1}).json()["nextCursor"])
        cursors[t.name] = [c for c in issued if c]
    yield World(tenants, seeded, cursors)


def _forge(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(state)).decode().rstrip("=")


def words(world: World, other: str) -> st.SearchStrategy[str]:
    """Names and ids of the other tenant, the caller's own, names sorting around them, and noise."""
    theirs = sorted(world.seeded[other].private() | {"shared", other})
    mine = sorted(world.seeded["acme" if other == "rival" else "rival"].names)
    around = [p + n for n in theirs[:6] for p in ("", "!", "~", "\U0010ffff")] + ["", " ", "*", "%", "\x1f"]
    return st.one_of(st.sampled_from(theirs), st.sampled_from(mine), st.sampled_from(around),
                     st.text(max_size=12))


def cursors(world: World, other: str) -> st.SearchStrategy[str]:
    theirs = sorted(world.seeded[other].private() | {"shared"})
    key_parts = st.sampled_from([other, *(f"{other}{SEP}{n}" for n in theirs), f"{other}{SEP}", "\U0010ffff", ""])
    forged = st.builds(lambda k, n, which: _forge({which: k} if which in ("after", "before", "c") else {which: n}),
                       key_parts, st.integers(min_value=0, max_value=50), st.sampled_from(["after", "before", "c", "o"]))
    return st.one_of(forged, st.sampled_from(world.cursors[other] or ["x"]),
                     st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1,
                             max_size=60))


Request = Callable[[World, str, st.DataObject], httpx.Response]  # (world, caller, draw) -> answer


def _cognite_list(path: str) -> Request:
    def send(world: World, caller: str, data: st.DataObject) -> httpx.Response:
        other = "rival" if caller == "acme" else "acme"
        params: dict[str, Any] = {"limit": data.draw(st.integers(1, 5))}
        if data.draw(st.booleans()):
            params["cursor"] = data.draw(cursors(world, other))
        if path == "/sessions" and data.draw(st.booleans()):
            params["status"] = data.draw(st.sampled_from(["READY", "ACTIVE", "EXPIRED", "REVOKED"]))
        return world.client(caller).cognite.get(path.format(trigger=data.draw(st.sampled_from(
            [f"{caller}-trig", "shared-trig", f"a-{caller}-trig"]))), params=params)
    return send


def _cognite_post_list(path: str, filter_of: Callable[[World, str, st.DataObject], dict[str, Any]]) -> Request:
    def send(world: World, caller: str, data: st.DataObject) -> httpx.Response:
        other = "rival" if caller == "acme" else "acme"
        body: dict[str, Any] = {"limit": data.draw(st.integers(1, 5)), "filter": filter_of(world, other, data)}
        if data.draw(st.booleans()):
            body["cursor"] = data.draw(cursors(world, other))
        return world.client(caller).cognite.post(path, json=body)
    return send


def _workflow_filters(world: World, other: str, data: st.DataObject) -> dict[str, Any]:
    ids = data.draw(st.lists(words(world, other).filter(bool), max_size=3))
    return {"workflowFilters": [{"externalId": i} for i in ids]}


def _versions_get(world: World, caller: str, data: st.DataObject) -> httpx.Response:
    other = "rival" if caller == "acme" else "acme"
    params: list[tuple[str, Any]] = [("limit", data.draw(st.integers(1, 5)))]
    for name in data.draw(st.lists(words(world, other).filter(bool), max_size=2)):
        params.append(("workflowFilters", orjson.dumps({"externalId": name}).decode()))
    if data.draw(st.booleans()):
        params.append(("cursor", data.draw(cursors(world, other))))
    return world.client(caller).cognite.get("/workflows/versions", params=params)


def _conductor_search(world: World, caller: str, data: st.DataObject) -> httpx.Response:
    other = "rival" if caller == "acme" else "acme"
    word = data.draw(words(world, other)).replace("'", "")
    clause = data.draw(st.sampled_from([f"workflowType = '{word}'", f"workflowId = '{word}'",
                                        f"workflowType IN ({word},shared)", "status IN (RUNNING,COMPLETED)",
                                        f"correlationId = '{word}'", ""]))
    params = {"start": data.draw(st.integers(0, 30)), "size": data.draw(st.integers(0, 20)),
              "freeText": data.draw(st.sampled_from(["*", word or "*"]))}
    if clause:
        params["query"] = clause
    return world.client(caller).conductor.get("/api/workflow/search", params=params)


def _conductor_get(path: str) -> Request:
    def send(world: World, caller: str, data: st.DataObject) -> httpx.Response:
        other = "rival" if caller == "acme" else "acme"
        word = data.draw(words(world, other).filter(lambda w: w.strip() != "" and "/" not in w))
        return world.client(caller).conductor.get(path.format(word=quote(word, safe="")), params={"version": 1} if "{word}" in path
                                                  and "metadata" in path else None)
    return send


def _conductor_correlated(world: World, caller: str, data: st.DataObject) -> httpx.Response:
    other = "rival" if caller == "acme" else "acme"
    name = data.draw(words(world, other).filter(lambda w: w.strip() != "" and "/" not in w))
    return world.client(caller).conductor.post(f"/api/workflow/{quote(name, safe='')}/correlated",
                                               json=[data.draw(words(world, other))],
                                               params={"includeClosed": True, "includeTasks": True})


def _alto_get(path: str, with_id: bool = False) -> Request:
    def send(world: World, caller: str, data: st.DataObject) -> httpx.Response:
        other = "rival" if caller == "acme" else "acme"
        ids = sorted(world.seeded[other].ids | world.seeded[caller].ids)
        params: dict[str, Any] = {}
        if "executions" in path:
            params["page"] = data.draw(st.integers(1, 4))
        if "logs" in path:
            for name in ("run_id", "execution_id", "node_id"):
                if data.draw(st.booleans()):
                    params[name] = data.draw(st.one_of(st.sampled_from(ids), words(world, other)))
        target = data.draw(st.sampled_from(ids)) if with_id else ""
        return world.client(caller).altostrat.get(path.format(id=target), params=params)
    return send


def _by_id(dialect: str, path: str, method: str = "GET") -> Request:
    """A retrieve by id or name, asked with the other tenant's ids and names as well as one's own."""
    def send(world: World, caller: str, data: st.DataObject) -> httpx.Response:
        other = "rival" if caller == "acme" else "acme"
        ident = data.draw(st.one_of(st.sampled_from(sorted(world.seeded[other].ids)),
                                    words(world, other).filter(lambda w: w.strip() != "")))
        tenant = world.client(caller)
        client = {"cognite": tenant.cognite, "conductor": tenant.conductor, "altostrat": tenant.altostrat}[dialect]
        return client.request(method, path.format(id=quote(ident, safe="")))
    return send


def _session_byids(world: World, caller: str, data: st.DataObject) -> httpx.Response:
    other = "rival" if caller == "acme" else "acme"
    numeric = sorted(int(i) for i in world.seeded[other].ids | world.seeded[caller].ids if i.isdigit())
    ids = data.draw(st.lists(st.sampled_from(numeric), min_size=1, max_size=4, unique=True))
    return world.client(caller).cognite.post("/sessions/byids", json={"items": [{"id": i} for i in ids]})


OPERATIONS: dict[str, Request] = {
    "cognite retrieveExecution": _by_id("cognite", "/workflows/executions/{id}"),
    "cognite retrieveWorkflow": _by_id("cognite", "/workflows/{id}"),
    "cognite sessions byids": _session_byids,
    "conductor getExecution": _by_id("conductor", "/api/workflow/{id}"),
    "conductor getExecutionStatus": _by_id("conductor", "/api/workflow/{id}/status"),
    "altostrat getWorkflow": _by_id("altostrat", "/workflows/{id}"),
    "altostrat getWorkflowRun": _by_id("altostrat", "/workflows/runs/{id}"),
    "altostrat getVaultItem": _by_id("altostrat", "/workflows/vault/{id}"),
    "cognite listWorkflows": _cognite_list("/workflows"),
    "cognite listTriggers": _cognite_list("/workflows/triggers"),
    "cognite listSessions": _cognite_list("/sessions"),
    "cognite triggerHistory": _cognite_list("/workflows/triggers/{trigger}/history"),
    "cognite listVersions (GET)": _versions_get,
    "cognite listVersions (POST)": _cognite_post_list("/workflows/versions/list", _workflow_filters),
    "cognite listExecutions": _cognite_post_list("/workflows/executions/list", _workflow_filters),
    "conductor search": _conductor_search,
    "conductor getAllWorkflowDefs": _conductor_get("/api/metadata/workflow"),
    "conductor getWorkflowDef": _conductor_get("/api/metadata/workflow/{word}"),
    "conductor getAllTaskDefs": _conductor_get("/api/metadata/taskdefs"),
    "conductor getTaskDef": _conductor_get("/api/metadata/taskdefs/{word}"),
    "conductor correlated (GET)": _conductor_get("/api/workflow/{word}/correlated/{word}"),
    "conductor correlated (POST)": _conductor_correlated,
    "conductor poll batch": _conductor_get("/api/tasks/poll/batch/{word}"),
    "altostrat listWorkflows": _alto_get("/workflows"),
    "altostrat listTriggerableWorkflows": _alto_get("/workflows/triggerable-workflows"),
    "altostrat listWorkflowRuns": _alto_get("/workflows/{id}/executions", with_id=True),
    "altostrat listWorkflowLogs": _alto_get("/workflows/{id}/logs", with_id=True),
    "altostrat getWorkflowLogStats": _alto_get("/workflows/{id}/logs/stats", with_id=True),
    "altostrat listRecentWorkflowLogs": _alto_get("/workflows/logs/recent"),
    "altostrat listVaultItems": _alto_get("/workflows/vault"),
    "altostrat listAuthorizations": _alto_get("/workflows/authorization"),
}


def _strings(document: Any, sent: str) -> Iterator[str]:
    """Every string of an answer; a key only when the caller did not send it (Conductor's correlated
    search answers a map keyed by the correlation ids asked for)."""
    if isinstance(document, str):
        yield document
    elif isinstance(document, dict):
        for k, v in document.items():
            if k not in sent:
                yield k
            if k == "id" and isinstance(v, int):  # Cognite session ids are numbers
                yield str(v)
            yield from _strings(v, sent)
    elif isinstance(document, list):
        for v in document:
            yield from _strings(v, sent)


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(data=st.data())
def test_no_paged_operation_answers_another_tenants_items(world: World, operation: str, data: st.DataObject):
    caller = data.draw(st.sampled_from(["acme", "rival"]))
    other = "rival" if caller == "acme" else "acme"
    answer = OPERATIONS[operation](world, caller, data)
    assert answer.status_code < 500, answer.text
    theirs = world.seeded[other].private()
    # '+' in a query is a space; a POST's body is sent too (a correlated search is keyed by the ids asked for)
    sent = unquote_plus(str(answer.request.url)) + answer.request.content.decode("utf-8", "replace")
    if not answer.content:
        return
    if answer.status_code < 300 and "json" in answer.headers.get("content-type", ""):
        found = set(_strings(answer.json(), sent)) & (theirs | {other})
        assert not found, f"{operation} as {caller} answered {other}'s {sorted(found)[:5]}"
    else:  # an error may echo what the caller sent, never anything else of the other tenant
        leaked = {s for s in theirs if s in answer.text and s not in sent}
        assert not leaked, f"{operation} as {caller} answered {other}'s {sorted(leaked)[:5]}"
