"""Altostrat's error body and its Bearer scheme."""

from __future__ import annotations

import orjson
import pytest
from wfgateway.adapters.altostrat.errors import render_error
from wfgateway.adapters.altostrat.security import BearerAuth

from tests.altostrat.spec_schemas import validator_for
from wfgateway.client_auth import issue_token
from wfgateway.core import errors as E

ERROR_SCHEMA = validator_for("/components/schemas/ErrorResponse")


@pytest.mark.parametrize(
    ("error", "status", "kind", "code"),
    [
        (E.NotFound("Workflow 'fl_x' not found."), 404, "invalid_request_error", "resource_missing"),
        (E.Unauthorized("Unauthenticated."), 401, "authentication_error", "unauthenticated"),
        (E.Conflict("busy", details={"code": "run_in_progress"}), 409, "invalid_request_error", "run_in_progress"),
        (E.MalformedBody("malformed JSON body"), 400, "invalid_request_error", "invalid_json"),
        (E.PayloadTooLarge("too big"), 413, "invalid_request_error", "payload_too_large"),
        (E.UnsupportedMediaType("text/plain"), 415, "invalid_request_error", "unsupported_media_type"),
        (E.InvalidArgument("bad graph"), 422, "invalid_request_error", "parameter_invalid"),
        (E.MethodNotAllowed("no", allow=["GET"]), 405, "invalid_request_error", "method_not_allowed"),
        (E.InternalError("boom"), 500, "api_error", "internal_error"),
        (E.UpstreamTimeout("slow"), 504, "api_error", "gateway_timeout"),
    ],
)
def test_every_error_renders_in_the_vendor_shape(error, status, kind, code):
    response = render_error(error)
    body = orjson.loads(response.body)
    assert response.status_code == status
    assert body == {"type": kind, "code": code, "message": error.message, "doc_url": f"https://docs.altostrat.io/errors/{code}"}
    assert list(ERROR_SCHEMA.iter_errors(body)) == []


def test_validation_failures_name_the_parameter_like_the_vendor():
    missing = E.ValidationFailed("invalid request body", violations=[
        E.Violation("body", "", '"name" is a required property')])
    body = orjson.loads(render_error(missing).body)
    assert render_error(missing).status_code == 422
    assert body["code"] == "parameter_missing"
    assert body["message"] == "The 'name' parameter is required for this request."
    nested = E.ValidationFailed("invalid request body", violations=[
        E.Violation("body", "nodes/0", '"id" is a required property'),
        E.Violation("body", "edges", "[] is not of type object")])
    assert orjson.loads(render_error(nested).body)["message"] == "The 'nodes.0.id' parameter is required for this request."
    wrong = E.ValidationFailed("invalid", violations=[E.Violation("query", "page", "0 is less than the minimum of 1")])
    b = orjson.loads(render_error(wrong).body)
    assert (b["code"], b["message"]) == ("parameter_invalid", "The 'page' parameter is invalid: 0 is less than the minimum of 1")


def test_open_mode_without_credentials():
    auth = BearerAuth.from_settings({"jwt_secret_env": None, "tokens": []})
    assert auth.open_mode
    assert auth.principal(None).tenant == "default"


def test_static_tokens_map_to_their_organisation(monkeypatch):
    monkeypatch.setenv("ALTO_T1", "token-one")
    monkeypatch.setenv("ALTO_T2", "token-two")
    auth = BearerAuth.from_settings({"tokens": [{"token_env": "ALTO_T1", "org": "org_1"},
                                                {"token_env": "ALTO_T2", "org": "org_2"}]})
    assert not auth.open_mode
    assert auth.principal("token-one").tenant == "org_1"
    assert auth.principal("token-two").tenant == "org_2"
    for bad in (None, "", "token-three", "token-on"):
        with pytest.raises(E.Unauthorized):
            auth.principal(bad)


def test_jwt_org_claim_is_the_tenant(monkeypatch):
    monkeypatch.setenv("ALTO_JWT", "s3cret-s3cret-s3cret-s3cret-s3cret")
    auth = BearerAuth.from_settings({"jwt_secret_env": "ALTO_JWT"})
    good = issue_token("s3cret-s3cret-s3cret-s3cret-s3cret", {"sub": "usr_1", "org": "org_9"}, 60)
    p = auth.principal(good)
    assert (p.tenant, p.subject) == ("org_9", "usr_1")
    with pytest.raises(E.Unauthorized):
        auth.principal(issue_token("another-secret-another-secret-00", {"org": "org_9"}, 60))
    with pytest.raises(E.Unauthorized, match="expired"):
        auth.principal(issue_token("s3cret-s3cret-s3cret-s3cret-s3cret", {"org": "org_9"}, -10))
    with pytest.raises(E.Unauthorized, match="organization"):
        auth.principal(issue_token("s3cret-s3cret-s3cret-s3cret-s3cret", {"sub": "usr_1"}, 60))


def test_configured_but_unset_credentials_are_not_open(monkeypatch):
    monkeypatch.delenv("ALTO_MISSING", raising=False)
    auth = BearerAuth.from_settings({"jwt_secret_env": "ALTO_MISSING"})
    assert not auth.open_mode
    with pytest.raises(E.Unauthorized):
        auth.principal("anything")
