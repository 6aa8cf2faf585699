"""Opaque, tamper-evident list cursors, bound to the tenant, operation and filter that issued them.

A cursor is one base64url token (the MAC, then the state as JSON), so it fits the vendors' cursor
patterns.  A dialect's paged operation hands its paging state (an offset, a last key, the engine's own cursor)
to ``CursorSigner.seal`` and gets back a string; ``CursorSigner.open`` gives the state back only for
the same tenant, operation and filter and an unedited cursor.  Anything else raises ``BadCursor``,
which the dialect answers as its vendor answers a bad cursor.  So a scan resumes only where this
gateway stopped it for this caller -- never from a key, offset or position someone made up.

The MAC is HMAC-SHA256 with the gateway's cursor key (``server.cursor_key_env``; without it a random
key kept in the store, so every worker and replica sharing the store pages with the same key).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Any

import orjson

from wfgateway.client_auth import secret_from_env

_MAC_BYTES = 16
_MAX_CURSOR = 4096  # no cursor of ours is longer; a longer one is refused before any decoding


class BadCursor(Exception):
    """A cursor this gateway did not issue for this tenant, operation and filter, or an edited one."""


class CursorSigner:
    """``key`` is the MAC key, or a callable giving it on first use (a key shared through the store)."""

    def __init__(self, key: bytes | Callable[[], bytes] | None = None) -> None:
        self._key_source = key if callable(key) else None
        self._key_value = None if callable(key) else (key or secrets.token_bytes(32))

    @property
    def _key(self) -> bytes:
        if self._key_value is None:
            assert self._key_source is not None
            self._key_value = self._key_source()
        return self._key_value

    def seal(self, state: dict[str, Any], *, tenant: str, operation: str, filter: Any = None) -> str:
        payload = orjson.dumps(state, option=orjson.OPT_SORT_KEYS)
        return _b64(self._mac(payload, tenant, operation, filter) + payload)

    def open(self, cursor: str, *, tenant: str, operation: str, filter: Any = None) -> dict[str, Any]:
        """The state sealed in ``cursor``; BadCursor unless it was sealed for exactly this caller."""
        if not isinstance(cursor, str) or len(cursor) > _MAX_CURSOR:
            raise BadCursor("not a cursor of this gateway")
        try:
            raw = _unb64(cursor)
        except ValueError:
            raise BadCursor("not a cursor of this gateway") from None
        mac, payload = raw[:_MAC_BYTES], raw[_MAC_BYTES:]
        if not hmac.compare_digest(mac, self._mac(payload, tenant, operation, filter)):
            raise BadCursor("cursor was not issued for this request")
        try:
            state = orjson.loads(payload)
        except orjson.JSONDecodeError:
            raise BadCursor("not a cursor of this gateway") from None
        if not isinstance(state, dict):
            raise BadCursor("not a cursor of this gateway")
        return state

    def _mac(self, payload: bytes, tenant: str, operation: str, filter: Any) -> bytes:
        bound = orjson.dumps([tenant, operation, filter], option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
        digest = hmac.new(self._key, bound + b"\x00" + payload, hashlib.sha256).digest()
        return digest[:_MAC_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    if not text or not text.isascii() or not all(c.isalnum() or c in "-_" for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def cursor_signer(key_env: str | None, shared: Callable[[], str] | None = None) -> CursorSigner:
    """The signer keyed by the environment variable ``key_env`` names; without it by ``shared()`` (a
    key kept in the store, the same for every worker and replica), else random per process."""
    secret = secret_from_env(key_env)
    if secret:
        return CursorSigner(hashlib.sha256(secret.encode()).digest())
    if shared is not None:
        return CursorSigner(lambda: hashlib.sha256(shared().encode()).digest())
    return CursorSigner()
