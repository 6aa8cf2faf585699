"""Request hygiene shared by every dialect: body size limit, gzip bodies, request ids, access log."""

from __future__ import annotations

import codecs
import logging
import os
import random
import time
import zlib
from collections.abc import Callable
from typing import Any

from wfgateway.core.errors import MalformedBody, PayloadTooLarge, UnsupportedMediaType
from wfgateway.sanitize import json_line

access_logger = logging.getLogger("wfgateway.access")

# Request ids need to be unique, not unguessable: a generator seeded from the OS costs a tenth of a
# system call per request; a forked worker reseeds, so siblings never repeat each other's ids.
_IDS = random.Random(os.urandom(16))
os.register_at_fork(after_in_child=lambda: _IDS.seed(os.urandom(16)))

_DECODERS = {"gzip": 31, "x-gzip": 31, "deflate": 15}


async def read_body(receive: Any, limit: int, content_length: str | None) -> bytes:
    """The whole request body; PayloadTooLarge as soon as it passes ``limit`` bytes.

    Kept over Starlette's ``Request.body()``, which buffers the whole stream with no limit: here a
    declared Content-Length over the limit is refused before one byte is read, a chunked body is
    refused at the chunk that crosses the limit (an oversized upload never sits in memory), and a
    single-chunk body -- the usual case -- is returned without the copy of a join.
    """
    if content_length is not None:
        try:
            if int(content_length) > limit:
                raise PayloadTooLarge(f"request body exceeds {limit} bytes")
        except ValueError as exc:
            raise MalformedBody("invalid Content-Length header") from exc
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body exceeds {limit} bytes")
        if chunk:
            chunks.append(chunk)
        more = message.get("more_body", False)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def decode_body(body: bytes, encoding: str | None, limit: int) -> bytes:
    """Undo ``Content-Encoding`` (gzip, deflate), never inflating past ``limit`` bytes."""
    if not encoding or encoding == "identity" or not body:
        return body
    wbits = _DECODERS.get(encoding.strip().lower())
    if wbits is None:
        raise UnsupportedMediaType(f"Content-Encoding '{encoding}' is not supported; use gzip, deflate or none")
    try:
        d = zlib.decompressobj(wbits)
        out = d.decompress(body, limit + 1)
    except zlib.error as exc:
        raise MalformedBody(f"request body is not valid {encoding}") from exc
    if len(out) > limit or d.unconsumed_tail:
        raise PayloadTooLarge(f"decoded request body exceeds {limit} bytes")
    return out


_UTF8 = frozenset({"utf-8", "utf8"})


def as_utf8(body: bytes, content_type: str) -> bytes:
    """``body`` in UTF-8, transcoded from the ``charset`` its Content-Type names (as the vendors'
    servers read it: Spring's and Laravel's JSON readers honour the charset).  Without a charset, or
    with UTF-8, the body is returned as it is.  An unknown charset is UnsupportedMediaType, bytes that
    are not in it MalformedBody."""
    charset = ""
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    if not charset or charset in _UTF8 or not body:
        return body
    try:
        codec = codecs.lookup(charset)
    except LookupError:
        raise UnsupportedMediaType(f"charset '{charset}' is not supported; send UTF-8") from None
    try:
        return body.decode(codec.name).encode("utf-8")
    except UnicodeDecodeError:
        raise MalformedBody(f"request body is not valid {charset}") from None


def request_id(incoming: str | None) -> str:
    """The caller's X-Request-Id when it is sane, else a new one."""
    if incoming and len(incoming) <= 128 and incoming.isprintable():
        return incoming
    return f"{_IDS.getrandbits(64):016x}"


_access_sink: Callable[[dict[str, Any]], None] | None = None


def send_access_to(sink: Callable[[dict[str, Any]], None] | None) -> None:
    """Hand access records straight to ``sink`` (a log writer thread's queue) instead of the logging
    module: ``wfgateway serve`` does, so a request pays one queue put; None restores logging."""
    global _access_sink
    _access_sink = sink


def log_access(record: dict[str, Any], started: float) -> None:
    """One JSON line per request: no headers, no query values, no bodies, so no secrets."""
    sink = _access_sink
    if sink is not None:
        record["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
        sink(record)
    elif access_logger.isEnabledFor(logging.INFO):
        record["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
        access_logger.info(json_line(record))  # one JSON object per line, whatever the record holds
