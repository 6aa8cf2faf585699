"""The upstream pool (wfgateway.backends.h1) against h11, the reference HTTP/1.1 parser (issue #20).

Hypothesis generates answers -- well-formed ones and the framing faults of RFC 9112 (Content-Length
and Transfer-Encoding together, duplicate or malformed lengths, bad chunk sizes, chunked not last,
interim 1xx answers, bodies to HEAD, 204 and 304, answers cut short, bytes after the answer, bad
header characters) -- a raw-socket upstream sends each one over loopback and closes, and both
parsers read the same bytes:

* where h11 refuses the answer (or finds it incomplete), the pool refuses it;
* where both frame it, they frame the same status and the same body bytes;
* where h11 frames and the pool refuses, the answer breaks one of the pool's documented stricter
  rules (an obsolete line fold, a bare LF line ending, a version other than HTTP/1.x, a repeated
  Content-Length -- h11 merges equal ones --, Content-Length beside Transfer-Encoding -- h11 lets
  Transfer-Encoding win, RFC 9112 §6.3 says it "ought to be handled as an error" --, a control
  character in a header value -- RFC 9110 §5.5 lets a recipient reject it, h11 passes it on);
* after every answer the pool has all its slots free.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import h11
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.routing.raw_upstream import RawUpstream
from wfgateway.backends.h1 import H1Error, H1Pool

STRICTER = {"obs-fold", "bare-lf", "version", "repeated-length", "length-and-encoding", "control-char"}


@dataclass
class Answer:
    method: str
    data: bytes
    flags: frozenset[str]


def _chunked(body: bytes, fault: str) -> bytes:
    out = b""
    for i in range(0, len(body), 7):
        piece = body[i:i + 7]
        size = b"%x" % len(piece)
        if fault == "ext":
            size += b";name=value"
        elif fault == "bad-size" and i == 0:
            size = b"zz"
        elif fault == "wrong-size" and i == 0:
            size = b"%x" % (len(piece) + 3)
        out += size + b"\r\n" + piece + b"\r\n"
    if fault == "no-last-chunk":
        return out
    return out + (b"0\r\nX-Trailer: t\r\n\r\n" if fault == "trailer" else b"0\r\n\r\n")


@st.composite
def answers(draw: st.DrawFn) -> Answer:
    flags: set[str] = set()
    method = draw(st.sampled_from(["GET", "GET", "GET", "HEAD"]))
    version = draw(st.sampled_from([b"HTTP/1.1", b"HTTP/1.1", b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0"]))
    if version == b"HTTP/2.0":
        flags.add("version")
    status = draw(st.sampled_from([200, 200, 201, 204, 304, 404, 500]))
    body = draw(st.binary(max_size=30))
    framing = draw(st.sampled_from(["length", "length", "chunked", "chunked", "none", "short", "long"]))
    chunk_fault = draw(st.sampled_from(["", "", "", "ext", "trailer", "bad-size", "wrong-size", "no-last-chunk"]))
    headers: list[bytes] = [b"Content-Type: application/json"]
    if framing == "chunked":
        headers.append(b"Transfer-Encoding: chunked")
        payload = _chunked(body, chunk_fault)
    elif framing == "none":
        payload = body
    else:
        declared = len(body) + {"length": 0, "short": 5, "long": -min(len(body), 3)}[framing]
        headers.append(b"Content-Length: %d" % declared)
        payload = body
    extras = draw(st.lists(st.sampled_from([
        b"X-Plain: fine", b"Connection: close", b"Connection: keep-alive", b"Content-Length: 4",
        b"Content-Length: 1, 1", b"Content-Length: -1", b"Content-Length: 007", b"Transfer-Encoding: chunked",
        b"Transfer-Encoding: gzip", b"Transfer-Encoding: gzip, chunked", b"X-Folded: a\r\n b",
        b"X-Nul: a\x00b", b"X-Ctl: a\x01b", b"Bad Name: x", b"X-Space : x", b"X-Obs-Text: caf\xe9",
    ]), max_size=3))
    headers += extras
    if any(h.startswith(b"X-Folded") for h in extras):
        flags.add("obs-fold")
    if any(h.startswith((b"X-Nul", b"X-Ctl")) for h in extras):
        flags.add("control-char")  # RFC 9110 §5.5: reject or replace; h11 passes some on
    if sum(h.startswith(b"Content-Length:") for h in headers) > 1 or b"Content-Length: 1, 1" in headers:
        flags.add("repeated-length")
    if any(h.startswith(b"Content-Length:") for h in headers) and any(
            h.startswith(b"Transfer-Encoding:") for h in headers):
        flags.add("length-and-encoding")  # RFC 9112 §6.3: "ought to be handled as an error"; h11 lets TE win
    interim = draw(st.sampled_from([b"", b"", b"HTTP/1.1 100 Continue\r\n\r\n",
                                    b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"]))
    trailing = draw(st.sampled_from([b"", b"", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", b"garbage",
                                     b"HTTP/1.1 2"]))
    head = version + b" %d Reason\r\n" % status + b"".join(h + b"\r\n" for h in headers) + b"\r\n"
    if draw(st.integers(0, 9)) == 0:
        head = head.replace(b"\r\n", b"\n")
        flags.add("bare-lf")
    return Answer(method, interim + head + payload + trailing, frozenset(flags))


def h11_reading(answer: Answer) -> tuple[int, bytes] | None:
    """(status, body) as h11 frames the answer, or None where h11 refuses it or finds it incomplete."""
    conn = h11.Connection(h11.CLIENT)
    conn.send(h11.Request(method=answer.method, target="/", headers=[("Host", "upstream")]))
    conn.send(h11.EndOfMessage())
    conn.receive_data(answer.data)
    conn.receive_data(b"")  # the upstream closed after sending
    status, body = None, b""
    try:
        while True:
            event = conn.next_event()
            if isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                body += bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                return status, body  # type: ignore[return-value]
            elif event is h11.NEED_DATA or event is h11.PAUSED or isinstance(event, h11.ConnectionClosed):
                return None
    except h11.RemoteProtocolError:
        return None


@pytest.fixture(scope="module")
def upstream() -> Iterator[RawUpstream]:
    with RawUpstream() as up:
        yield up


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answer=answers())
def test_the_pool_frames_what_h11_frames_and_refuses_what_h11_refuses(upstream, loop, answer):
    def send(conn: socket.socket, request: bytes) -> bool:
        conn.sendall(answer.data)
        return False  # and close

    upstream.script = send

    async def pool_reading() -> tuple[int, bytes] | H1Error:
        pool = H1Pool(upstream.url, limit=2)
        try:
            got = await pool.request(answer.method, "/", None, None, timeout=5, connect_timeout=2)
            return got.status, got.body
        except H1Error as exc:
            return exc
        finally:
            assert pool.free_slots == 2
            await pool.close()

    ours = loop.run_until_complete(pool_reading())
    reference = h11_reading(answer)
    if reference is None:
        assert isinstance(ours, H1Error), f"h11 refuses, the pool framed {ours!r}"
        assert ours.kind != "timeout"
    elif isinstance(ours, H1Error):
        assert answer.flags & STRICTER, f"h11 frames {reference!r}, the pool refused: {ours.detail}"
    else:
        assert ours == reference
