"""Client credentials (inbound): the helpers every dialect's scheme for checking its callers is built from.

The credentials the gateway sends to an upstream (outbound) are wfgateway.backends.upstream_credentials.

Comparisons are constant-time; secrets come from environment variables named in config.yaml and
are never logged.  Tokens the gateway issues are HS256 JWTs.
"""

from __future__ import annotations

import hmac
import os
import secrets
import time
from collections.abc import Mapping
from typing import Any

import jwt


class InvalidToken(Exception):
    """The token is malformed, has a bad signature or is unknown."""


class ExpiredToken(InvalidToken):
    """The token was valid but its ``exp`` has passed."""


def constant_time_equals(a: str | bytes, b: str | bytes) -> bool:
    """Compare two secrets without leaking where they differ."""
    if isinstance(a, str):
        a = a.encode()
    if isinstance(b, str):
        b = b.encode()
    return hmac.compare_digest(a, b)


def secret_from_env(name: str | None) -> str | None:
    """The value of environment variable ``name`` (None when unset or no name given)."""
    if not name:
        return None
    value = os.environ.get(name)
    return value if value else None


def random_secret() -> str:
    return secrets.token_urlsafe(32)


def bearer_token(headers: Mapping[str, str], header: str = "authorization") -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    value = headers.get(header)
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def issue_token(secret: str, claims: Mapping[str, Any], ttl_seconds: int) -> str:
    """An HS256 JWT carrying ``claims`` that expires after ``ttl_seconds``."""
    now = int(time.time())
    payload = {**claims, "iat": now, "exp": now + int(ttl_seconds)}
    return jwt.encode(payload, secret, algorithm="HS256")


def verify_token(token: str, secret: str) -> dict[str, Any]:
    """The claims of an HS256 JWT; ExpiredToken or InvalidToken otherwise."""
    try:
        return jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp"]})
    except jwt.ExpiredSignatureError as exc:
        raise ExpiredToken("token expired") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken("invalid token") from exc


def match_static_token(token: str, candidates: Mapping[str, Any]) -> Any | None:
    """The value stored under the configured token equal to ``token`` (checked in constant time
    against every candidate, so timing does not reveal which one matched)."""
    found = None
    for known, value in candidates.items():
        if constant_time_equals(token, known) and found is None:
            found = value
    return found
