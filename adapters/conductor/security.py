"""Orkes-style authentication: application keys traded for HS256 JWTs sent as ``X-Authorization``.

With no keys configured the dialect runs open (as Conductor OSS): every call is tenant "default"
and ``POST /api/token`` answers 404, which makes the Conductor SDK switch to open mode.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from wfgateway.client_auth import (
    ExpiredToken,
    InvalidToken,
    constant_time_equals,
    issue_token,
    random_secret,
    secret_from_env,
    verify_token,
)
from wfgateway.core.errors import InvalidArgument, NotFound, SettingError, Unauthorized
from wfgateway.dialect import Principal

DEFAULT_TENANT = "default"
TOKEN_OPERATION = "generateToken"


@dataclass(frozen=True)
class AppKey:
    key_id: str
    secret: str
    tenant: str = DEFAULT_TENANT


class KeyAuth:
    """Verifies application keys and the tokens issued for them."""

    def __init__(self, settings: dict[str, Any], shared_secret: Callable[[], str] | None = None) -> None:
        """``shared_secret`` gives the token secret every worker shares when ``token_secret_env`` is unset."""
        self.keys: list[AppKey] = []
        for i, entry in enumerate(settings.get("keys") or []):
            env = entry.get("key_secret_env")
            secret = secret_from_env(env)
            if secret is None:
                raise SettingError(f"auth.keys.{i}.key_secret_env",
                                   f"environment variable {env!r} (the secret of key {entry.get('key_id')!r}) is not set")
            self.keys.append(AppKey(str(entry["key_id"]), secret, str(entry.get("tenant") or DEFAULT_TENANT)))
        self.ttl_seconds = int(settings.get("token_ttl_seconds") or 2700)
        self._token_secret = secret_from_env(settings.get("token_secret_env"))
        self._shared_secret = shared_secret

    @property
    def token_secret(self) -> str:
        """``token_secret_env``'s value, else the store's shared secret (tokens issued by one worker
        verify on every other), else random for this process; read on first use."""
        if self._token_secret is None:
            shared = self._shared_secret
            self._token_secret = shared() if shared is not None else random_secret()
        return self._token_secret

    @property
    def open_mode(self) -> bool:
        return not self.keys

    def issue(self, key_id: Any, key_secret: Any) -> str:
        """A token for a known key whose secret matches; 404 in open mode, 401 otherwise."""
        if self.open_mode:
            raise NotFound("Token generation is not enabled: the gateway runs without application keys")
        if not isinstance(key_id, str) or not isinstance(key_secret, str):
            raise InvalidArgument("keyId and keySecret are required")
        match: AppKey | None = None
        for key in self.keys:  # compare with every key so timing reveals nothing
            ok = constant_time_equals(key_id, key.key_id) & constant_time_equals(key_secret, key.secret)
            if ok and match is None:
                match = key
        if match is None:
            # No ``error`` code here: the SDK would otherwise try to refresh a token with the same bad key.
            raise Unauthorized("Invalid application key or secret")
        return issue_token(self.token_secret, {"sub": match.key_id, "tenant": match.tenant}, self.ttl_seconds)

    async def authenticate(self, request: Request, operation_id: str) -> Principal:
        if self.open_mode or operation_id == TOKEN_OPERATION:
            return Principal(tenant=DEFAULT_TENANT)
        token = request.headers.get("x-authorization")
        if not token:
            raise Unauthorized("Missing X-Authorization header", details={"error": "INVALID_TOKEN"})
        try:
            claims = verify_token(token.strip(), self.token_secret)
        except ExpiredToken:
            raise Unauthorized("Token expired", details={"error": "EXPIRED_TOKEN"}) from None
        except InvalidToken:
            raise Unauthorized("Invalid token", details={"error": "INVALID_TOKEN"}) from None
        return Principal(tenant=str(claims.get("tenant") or DEFAULT_TENANT), subject=str(claims.get("sub")),
                         claims=claims)
