"""A raw-socket upstream on 127.0.0.1 for fault injection: every answer is exact bytes a test wrote.

A real server in a thread (plain sockets, no HTTP library) so it can do what a faulty or hostile
vendor does: answer twice, lie about framing, drip a header a byte at a time, close early, answer
HEAD with a body, keep talking after ``Connection: close``.  ``script`` answers each request and
says whether the connection stays open.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from collections.abc import Callable

import orjson

Script = Callable[[socket.socket, bytes], bool]

_TARGET = re.compile(rb"^[A-Z]+ (\S+) HTTP/1\.1\r\n")


def execution_id(request: bytes) -> str:
    """The ``{id}`` of ``/relay/executions/{id}`` in a request head."""
    m = _TARGET.match(request)
    path = m.group(1).decode() if m else ""
    return path.split("?")[0].rstrip("/").split("/rerun")[0].rsplit("/", 1)[-1]


def good_body(request: bytes) -> bytes:
    """A valid relay Execution naming the id the request asked for (so a desync shows)."""
    return orjson.dumps({"id": execution_id(request), "workflow": "w", "status": "COMPLETED"})


def good_answer(request: bytes, *, extra_headers: bytes = b"") -> bytes:
    body = good_body(request)
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + extra_headers
            + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


def good(conn: socket.socket, request: bytes) -> bool:
    conn.sendall(good_answer(request))
    return True


class RawUpstream:
    """Accepts connections, reads one request at a time, lets ``script`` answer; counts what it saw."""

    def __init__(self) -> None:
        self.script: Script = good
        self.connections = 0
        self.requests: list[bytes] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def __enter__(self) -> RawUpstream:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        self.sock.close()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        buf = b""
        with contextlib.closing(conn), contextlib.suppress(OSError):
            while not self.stop.is_set():
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                head, buf = buf.split(b"\r\n\r\n", 1)
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(buf) < length:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                request, buf = head + b"\r\n\r\n" + buf[:length], buf[length:]
                self.requests.append(request)
                if not self.script(conn, request):
                    return
