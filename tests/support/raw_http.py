"""A request over a plain socket, to see exactly what a server sends (httpx never reads a HEAD's body)."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit


def raw_head(url: str, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """A HEAD over a plain socket, to see exactly what the server sends (httpx never reads a HEAD's body)."""
    host, port = urlsplit(url).hostname, urlsplit(url).port
    lines = [f"HEAD {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close",
             *(f"{k}: {v}" for k, v in headers.items())]
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in header_lines)}
    return int(status_line.split()[1]), parsed, body
