"""What crosses the upstream hop besides the body (issue #20): hop-by-hop headers stay on their hop
in both directions, the upstream's session cookies stay with the gateway, a drift report built from
upstream data cannot inject a header or split a log line, and ``response_validation`` has one meaning."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys

import httpx
import orjson
import pytest

from tests.routing.raw_upstream import RawUpstream, good_answer, good_body
from tests.routing.support import relay_config, relay_gateway, upstream
from tests.support.server import REPO

FRONT = {"Authorization": "Bearer front-secret"}


@pytest.fixture(autouse=True)
def _token(monkeypatch):
    monkeypatch.setenv("RELAY_UPSTREAM_TOKEN", "back-secret")


def gateway(tmp_path, url: str, server: dict | None = None, **backend):
    return relay_gateway(tmp_path, token="front-secret", server=server,
                         backends={"engine": {"kind": "engine"}, "up": upstream(url, retries=0, **backend)},
                         routes=[{"name": "main", "match": {}, "backend": "up"}])


def answering(extra_headers: bytes):
    def script(conn: socket.socket, request: bytes) -> bool:
        conn.sendall(good_answer(request, extra_headers=extra_headers))
        return True
    return script


def drifting(body: bytes):
    def script(conn: socket.socket, request: bytes) -> bool:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\n\r\n" + body)
        return True
    return script


HOP_HEADERS = (b"Connection: keep-alive, X-Hop-Secret\r\nX-Hop-Secret: upstream-internal\r\n"
               b"Proxy-Connection: keep-alive\r\nKeep-Alive: timeout=5\r\nProxy-Authenticate: Basic\r\n"
               b"Set-Cookie: upstream_session=abc123; HttpOnly\r\nSet-Cookie: region=eu; Path=/\r\n"
               b"X-Vendor-Trace: t-1\r\n")


def test_hop_by_hop_headers_and_upstream_cookies_do_not_reach_the_client(tmp_path):
    with RawUpstream() as up, gateway(tmp_path, up.url) as (url, _):
        up.script = answering(HOP_HEADERS)
        r = httpx.get(url + "/relay/executions/e1", headers=FRONT)
    assert r.status_code == 200 and r.json()["id"] == "e1"
    for name in ("x-hop-secret", "proxy-connection", "keep-alive", "proxy-authenticate", "set-cookie"):
        assert name not in r.headers, name
    assert r.headers["x-vendor-trace"] == "t-1"  # end-to-end headers pass


def test_a_forwarded_answer_carries_one_request_id_the_gateways(tmp_path):
    """The upstream's own X-Request-Id (another wfgateway, a vendor) is not a second one beside the gateway's:
    clients that read the header (httpx joins repeats into "a, b") get the id the gateway logged."""
    with RawUpstream() as up, gateway(tmp_path, up.url) as (url, _):
        up.script = answering(b"X-Request-Id: upstream-own-id\r\n")
        r = httpx.get(url + "/relay/executions/e1", headers={**FRONT, "X-Request-Id": "client-chosen-id"})
    assert r.status_code == 200
    assert r.headers.get_list("x-request-id") == ["client-chosen-id"]


def test_pass_cookies_hands_on_only_the_named_upstream_cookies(tmp_path):
    with RawUpstream() as up, gateway(tmp_path, up.url, pass_cookies=["region"]) as (url, _):
        up.script = answering(HOP_HEADERS)
        r = httpx.get(url + "/relay/executions/e1", headers=FRONT)
    assert r.headers.get_list("set-cookie") == ["region=eu; Path=/"]


def test_the_clients_hop_by_hop_headers_do_not_reach_the_upstream(tmp_path):
    with RawUpstream() as up, gateway(tmp_path, up.url) as (url, _):
        r = httpx.get(url + "/relay/executions/e1",
                      headers={**FRONT, "Connection": "keep-alive, X-Client-Hop", "X-Client-Hop": "client-internal",
                               "Proxy-Authorization": "Basic cHJveHk6cGFzcw==", "Keep-Alive": "timeout=5",
                               "X-Trace": "end-to-end"})
    assert r.status_code == 200
    sent = up.requests[-1].lower()
    for part in (b"x-client-hop", b"client-internal", b"proxy-authorization", b"keep-alive", b"front-secret"):
        assert part not in sent, part
    assert b"x-trace: end-to-end" in sent


INJECTING = orjson.dumps({"id": "e1", "workflow": "w", "status": "COMPLETED", "a\r\nX-Injected: yes\u0000": 5})


def test_a_drifted_field_name_cannot_inject_a_header_or_split_the_drift_log(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    with RawUpstream() as up, gateway(tmp_path, up.url, response_validation="report") as (url, _):
        up.script = drifting(INJECTING)
        r = httpx.get(url + "/relay/executions/e1", headers=FRONT)
        after = httpx.get(url + "/relay/executions/e2", headers=FRONT)  # the gateway still serves
    assert r.status_code == 200 and r.json()["id"] == "e1"
    assert "x-injected" not in r.headers
    drift = r.headers["x-wfgateway-drift"]
    assert "X-Injected" in drift and not any(c in drift for c in "\r\n\0")
    assert after.status_code == 200
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "wfgateway.drift"]
    assert len(lines) == 2
    for line in lines:
        assert "\n" not in line and "\r" not in line
        record = orjson.loads(line)
        assert record["event"] == "response_drift" and record["operation"] == "getExecution"
        assert any("X-Injected" in p for p in record["problems"])


def test_every_access_log_line_is_one_json_object_whatever_the_path(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="wfgateway.access")
    with RawUpstream() as up, gateway(tmp_path, up.url, server={"access_log": True}) as (url, _):
        for raw_id in ("a%0D%0AX-Injected:%20yes", "%ED%A0%80", "%00"):
            httpx.get(url + "/relay/executions/" + raw_id, headers=FRONT)
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "wfgateway.access"]
    assert len(lines) == 3
    for line in lines:
        assert "\n" not in line and "\r" not in line
        assert orjson.loads(line)["status"] in (200, 400, 404)


# -- response_validation: one meaning --------------------------------------------------------------------
DRIFTED = orjson.dumps({"id": "e1", "workflow": "w", "status": "EXPLODED"})


@pytest.mark.parametrize(("server_mode", "backend_mode", "status", "marked"), [
    ("enforce", None, 502, False),  # the server key is every backend's default
    ("report", None, 200, True),
    ("off", None, 200, False),
    (False, None, 200, False),  # YAML's unquoted off
    ("enforce", "report", 200, True),  # a backend key overrides it
    ("report", False, 200, False),
    ("off", "enforce", 502, False),
])
def test_the_server_key_is_the_default_and_a_backend_key_overrides_it(tmp_path, server_mode, backend_mode, status,
                                                                        marked):
    backend = {} if backend_mode is None else {"response_validation": backend_mode}
    with RawUpstream() as up, gateway(tmp_path, up.url, server={"response_validation": server_mode},
                                      **backend) as (url, _):
        up.script = drifting(DRIFTED)
        r = httpx.get(url + "/relay/executions/e1", headers=FRONT)
    assert r.status_code == status
    assert ("x-wfgateway-drift" in r.headers) is marked
    if status == 502:
        assert "contract" in r.json()["error"]["message"]


def test_unquoted_off_is_accepted_and_routes_prints_the_effective_mode(tmp_path):
    cfg = relay_config(tmp_path, server={"response_validation": "report"},
                       backends={"engine": {"kind": "engine"},
                                 "quiet": upstream("http://127.0.0.1:9", response_validation="QUIET"),
                                 "loud": upstream("http://127.0.0.1:9")},
                       routes=[{"match": {}, "backend": "engine"}])
    import yaml

    text = yaml.safe_dump(cfg, sort_keys=False).replace("response_validation: QUIET", "response_validation: off")
    assert "response_validation: off\n" in text  # unquoted: YAML reads it as false
    path = tmp_path / "config.yaml"
    path.write_text(text)
    env = {"RELAY_UPSTREAM_TOKEN": "t", "PATH": ""}
    check = subprocess.run([sys.executable, "-m", "wfgateway.cli", "check", "--config", str(path)], cwd=REPO,
                           capture_output=True, text=True, env=env)
    assert check.returncode == 0, check.stderr
    routes = subprocess.run([sys.executable, "-m", "wfgateway.cli", "routes", "--config", str(path)], cwd=REPO,
                            capture_output=True, text=True, env=env)
    assert routes.returncode == 0, routes.stderr
    rows = {line.split()[0]: line.split()[-1] for line in routes.stdout.splitlines()
            if line.split() and line.split()[0] in ("quiet", "loud", "engine")}
    assert rows == {"quiet": "off", "loud": "report", "engine": "report"}


def test_good_answers_still_pass_byte_for_byte(tmp_path):
    with RawUpstream() as up, gateway(tmp_path, up.url) as (url, _):
        r = httpx.get(url + "/relay/executions/e9", headers=FRONT)
    assert r.content == good_body(b"GET /relay/executions/e9 HTTP/1.1\r\n")
