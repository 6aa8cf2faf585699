"""Altostrat's prefixed identifiers: a prefix and a lowercase ULID (``fl_run_01h3j4k5...``).

ULIDs sort by creation time, so ids made later compare greater, as the vendor's do.
"""

from __future__ import annotations

import secrets
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lowercase

WORKFLOW = "fl_"
RUN = "fl_run_"
LOG = "fl_log_"
VAULT = "vlt_"
AUTHORIZATION = "auth_"
WEBHOOK_TOKEN = "whsec_"
API_KEY = "wfk_"


def ulid(now_ms: int | None = None) -> str:
    """26 characters: 48 bits of milliseconds then 80 random bits."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = (ms << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    return prefix + ulid()


def secret_token(prefix: str) -> str:
    """An unguessable token (webhook tokens, generated API keys)."""
    return prefix + secrets.token_urlsafe(32).replace("-", "").replace("_", "")[:40]


def log_id(attempt_id: str) -> str:
    """A stable log id for one task attempt (the same attempt always renders the same id)."""
    import hashlib

    digest = int.from_bytes(hashlib.sha256(attempt_id.encode()).digest()[:17], "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[digest & 31])
        digest >>= 5
    return LOG + "".join(reversed(chars))


def ulid_uuid(prefixed: str, prefix: str) -> str | None:
    """The UUID a ``prefix`` + ULID id encodes (a ULID is 128 bits, like a UUID); None for other ids.

    Lets a dialect whose ids must be UUIDs (Cognite's execution ids) name an Altostrat run."""
    if not prefixed.startswith(prefix) or len(prefixed) != len(prefix) + 26:
        return None
    value = 0
    for ch in prefixed[len(prefix):]:
        digit = _ALPHABET.find(ch)
        if digit < 0:
            return None
        value = (value << 5) | digit
    if value >> 128:
        return None
    import uuid

    return str(uuid.UUID(int=value))


def uuid_ulid(text: str, prefix: str) -> str | None:
    """The ``prefix`` + ULID id a UUID stands for (the inverse of ulid_uuid); None if ``text`` is no UUID."""
    import uuid

    try:
        value = uuid.UUID(text).int
    except ValueError:
        return None
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return prefix + "".join(reversed(chars))
