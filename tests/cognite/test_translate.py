"""Cognite definitions onto engine specs, the definition hash, templates, and Cognite's errors and auth."""

from __future__ import annotations

import orjson
import pytest
from starlette.datastructures import Headers
from wfgateway.adapters.cognite.errors import bad_request, conflict, not_found, render_error
from wfgateway.adapters.cognite.outputs import render_output
from wfgateway.adapters.cognite.security import TokenAuth, project_of
from wfgateway.adapters.cognite.translate import (
    Translator,
    definition_hash,
    expand_dynamic,
    normalize_definition,
    normalize_task,
    rewrite_templates,
)

from wfgateway.core.errors import (
    ErrorContext,
    Forbidden,
    InvalidArgument,
    Unauthorized,
    ValidationFailed,
    Violation,
)
from wfgateway.core.model import DYNAMIC, HTTP, SUBWORKFLOW, WAIT, Edge

SETTINGS = {"functions": {"fn": {"url": "http://127.0.0.1:9/fn"}}, "transformations": {"tr": {"url": "http://127.0.0.1:9/tr"}},
            "cdf_base_url": "http://127.0.0.1:9/cdf/"}


def task(xid: str, type_: str = "function", **kw) -> dict:
    params = {"function": {"externalId": "fn", "data": {"x": "${workflow.input.x}"}}}
    return normalize_task({"externalId": xid, "type": type_, "parameters": kw.pop("parameters", params), **kw})


def test_normalized_tasks_carry_cognite_defaults():
    t = normalize_task({"externalId": "t", "type": "function", "parameters": {"function": {"externalId": "f"}},
                        "retries": None, "dependsOn": None})
    assert t == {"externalId": "t", "type": "function", "parameters": {"function": {"externalId": "f"},
                                                                        "isAsyncComplete": False},
                 "retries": 3, "timeout": 3600, "onFailure": "abortWorkflow", "dependsOn": []}


def test_hash_is_40_uppercase_hex_of_tasks_and_description_and_ignores_spelled_out_defaults():
    bare = {"tasks": [{"externalId": "t", "type": "function", "parameters": {"function": {"externalId": "f"}}}]}
    spelled = {"tasks": [{**bare["tasks"][0], "retries": 3, "timeout": 3600, "onFailure": "abortWorkflow"}]}
    h = normalize_definition(bare)["hash"]
    assert len(h) == 40 and h == h.upper() and int(h, 16) >= 0
    assert normalize_definition(spelled)["hash"] == h
    assert normalize_definition({**bare, "description": "d"})["hash"] != h
    assert definition_hash([], None) != definition_hash([], "x")


def test_task_types_map_onto_engine_kinds():
    tr = Translator(SETTINGS)
    specs = tr.tasks([
        task("http-fn"),
        task("async-fn", parameters={"function": {"externalId": "fn"}, "isAsyncComplete": True}),
        task("no-endpoint", parameters={"function": {"externalId": "elsewhere"}}),
        task("cdf", "cdf", parameters={"cdfRequest": {"resourcePath": "/ts/list", "method": "POST", "body": {"a": 1},
                                                      "queryParameters": {"k": "v w"}}}),
        task("tr", "transformation", parameters={"transformation": {"externalId": "tr"}}),
        task("dyn", "dynamic", parameters={"dynamic": {"tasks": "${http-fn.output.response.tasks}"}},
             dependsOn=[{"externalId": "http-fn"}]),
        task("sub", "subworkflow", parameters={"subworkflow": {"workflowExternalId": "child", "version": "2"}},
             onFailure="skipTask", retries=5, timeout=60),
    ], nested=False)
    by = {s.ref: s for s in specs}
    assert by["http-fn"].kind == HTTP and by["http-fn"].params["url"] == "http://127.0.0.1:9/fn"
    assert by["http-fn"].params["body"] == {"x": "${workflow.input.x}"}
    assert by["async-fn"].kind == WAIT and by["no-endpoint"].kind == WAIT
    assert by["cdf"].params["url"] == "http://127.0.0.1:9/cdf/ts/list?k=v%20w" and by["cdf"].params["method"] == "POST"
    assert by["tr"].kind == HTTP and by["tr"].params["body"] == {"externalId": "tr"}
    assert by["dyn"].kind == DYNAMIC and by["dyn"].params == {"tasks": "${http-fn.output.body.tasks}",
                                                                "expander": "cognite"}
    assert by["dyn"].depends_on == [Edge("http-fn")] and by["dyn"].retries == 0
    assert by["sub"].kind == SUBWORKFLOW and by["sub"].params["name"] == "child" and by["sub"].params["version"] == "2"
    assert by["sub"].optional and by["sub"].timeout_ms == 60_000 and by["sub"].retries == 0
    assert by["http-fn"].retries == 3 and not by["http-fn"].optional


@pytest.mark.parametrize(
    ("tasks", "message"),
    [
        ([task("a"), task("a")], "duplicated"),
        ([task("a", dependsOn=[{"externalId": "zz"}])], "unknown task 'zz'"),
        ([task("s", "simulation", parameters={"simulation": {"routineExternalId": "r"}})], "not supported"),
    ],
)
def test_bad_definitions_are_invalid_arguments(tasks, message):
    with pytest.raises(InvalidArgument, match=message):
        Translator(SETTINGS).tasks(tasks, nested=False)


def test_without_a_cdf_base_url_cdf_tasks_wait_for_tasks_update():
    [spec] = Translator({}).tasks([task("c", "cdf", parameters={"cdfRequest": {"resourcePath": "/x", "method": "GET"}})],
                                  nested=False)
    assert spec.kind == WAIT and spec.params == {}


def test_templates_of_http_backed_tasks_point_at_the_engine_http_output():
    backing = {"h": HTTP, "w": WAIT}
    assert rewrite_templates("${h.output.response.rows}", backing) == "${h.output.body.rows}"
    assert rewrite_templates("${h.output.statusCode}", backing) == "${h.output.status}"
    assert rewrite_templates({"a": ["${w.output.response.x} and ${workflow.input}"]}, backing) == {
        "a": ["${w.output.response.x} and ${workflow.input}"]}


def test_dynamic_expansion_translates_and_refuses_nesting():
    tr = Translator(SETTINGS)
    specs = expand_dynamic(tr, [{"externalId": "c1", "type": "function", "parameters": {"function": {"externalId": "fn"}}}])
    assert [(s.ref, s.kind) for s in specs] == [("c1", HTTP)]
    with pytest.raises(InvalidArgument, match="cannot be nested"):
        expand_dynamic(tr, [{"externalId": "d", "type": "dynamic", "parameters": {"dynamic": {"tasks": "${a.output}"}}}])
    with pytest.raises(InvalidArgument, match="list"):
        expand_dynamic(tr, {"not": "a list"})


def test_outputs_render_in_cognite_shapes():
    http_out = {"status": 201, "headers": {}, "body": {"ok": 1}}
    assert render_output("function", HTTP, http_out) == {"callId": None, "functionId": None, "response": {"ok": 1}}
    assert render_output("cdf", HTTP, http_out) == {"response": {"ok": 1}, "statusCode": 201}
    assert render_output("transformation", HTTP, {"body": {"jobId": 7}}) == {"jobId": 7}
    assert render_output("function", WAIT, {"response": {"r": 1}}) == {"callId": None, "functionId": None,
                                                                       "response": {"r": 1}}
    assert render_output("dynamic", DYNAMIC, {"x": 1}) == {}


def body(response) -> dict:
    return orjson.loads(response.body)


def test_errors_render_in_cognite_shape():
    ctx = ErrorContext()
    r = render_error(not_found("Nope", [{"externalId": "x"}]), ctx)
    assert r.status_code == 404 and body(r) == {"error": {"code": 404, "message": "Nope", "missing": [{"externalId": "x"}]}}
    assert body(render_error(conflict("Dup", duplicated=[{"externalId": "y"}]), ctx))["error"]["duplicated"] == [
        {"externalId": "y"}]
    assert body(render_error(bad_request("Bad"), ctx)) == {"error": {"code": 400, "message": "Bad"}}
    v = ValidationFailed("x", violations=[Violation("body", "items/0/externalId", "'' is too short")])
    assert body(render_error(v, ctx))["error"]["message"] == "Invalid request: body.items[0].externalId: '' is too short"
    from wfgateway.core.errors import InternalError

    assert body(render_error(InternalError("Traceback (most recent call last)"), ctx))["error"]["message"] == \
        "Internal server error"


def test_token_auth(monkeypatch):
    monkeypatch.setenv("TOK_A", "alpha")
    auth = TokenAuth({"tokens": [{"token_env": "TOK_A", "projects": ["acme"]},
                                 {"token_env": "TOK_UNSET", "projects": ["*"]}]})
    assert not auth.open_mode
    assert auth.authenticate("/api/v1/projects/acme/workflows", Headers({"authorization": "Bearer alpha"})).tenant == "acme"
    with pytest.raises(Forbidden):
        auth.authenticate("/api/v1/projects/other/workflows", Headers({"authorization": "Bearer alpha"}))
    for headers in ({}, {"authorization": "Bearer beta"}, {"authorization": "alpha"}, {"authorization": "Bearer "}):
        with pytest.raises(Unauthorized):
            auth.authenticate("/api/v1/projects/acme/workflows", Headers(headers))
    open_auth = TokenAuth({"tokens": []})
    assert open_auth.open_mode and open_auth.authenticate("/api/v1/projects/p/x", Headers({})).tenant == "p"
    assert project_of("/api/v1/token/inspect") == ""


def test_malformed_dynamic_tasks_are_invalid_arguments_not_crashes():
    tr = Translator(SETTINGS)
    for bad in ([{"externalId": "x", "type": "function", "parameters": {}}],
                [{"externalId": "x", "type": "cdf", "parameters": {"cdfRequest": "no"}}],
                [{"externalId": "x", "type": "function", "parameters": {"function": {}}, "retries": "many"}]):
        with pytest.raises(InvalidArgument):
            expand_dynamic(tr, bad)
