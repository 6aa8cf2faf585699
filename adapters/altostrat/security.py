"""Altostrat's ``Authorization: Bearer`` scheme: HS256 user JWTs or static tokens, one org each.

The organisation is the tenant: an ``org`` (or ``org_id``) claim of a JWT, or the ``org`` a static
token is configured with.  With neither a JWT secret nor tokens configured the dialect is open and
every caller belongs to the ``default`` organisation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from wfgateway.client_auth import (
    ExpiredToken,
    InvalidToken,
    bearer_token,
    match_static_token,
    secret_from_env,
    verify_token,
)
from wfgateway.core.errors import Unauthorized
from wfgateway.dialect import Principal

log = logging.getLogger("wfgateway.altostrat")

DEFAULT_ORG = "default"
ORG_CLAIMS = ("org", "org_id", "organization_id")
PUBLIC_OPERATIONS = frozenset({"triggerWorkflowWebhook"})


@dataclass
class BearerAuth:
    jwt_secret: str | None = None
    static: dict[str, str] = field(default_factory=dict)  # token -> org
    configured: bool = False  # some credentials were configured (even if their env vars are unset)

    @property
    def open_mode(self) -> bool:
        return not self.configured

    @classmethod
    def from_settings(cls, auth: dict[str, Any] | None) -> BearerAuth:
        auth = auth or {}
        jwt_env = auth.get("jwt_secret_env")
        tokens = auth.get("tokens") or []
        static: dict[str, str] = {}
        for entry in tokens:
            value = secret_from_env(entry.get("token_env"))
            if value is None:
                log.warning("altostrat token env %s is unset; that token is disabled", entry.get("token_env"))
                continue
            static[value] = str(entry.get("org") or DEFAULT_ORG)
        secret = secret_from_env(jwt_env)
        if jwt_env and secret is None:
            log.warning("altostrat jwt_secret_env %s is unset; JWTs are refused", jwt_env)
        return cls(jwt_secret=secret, static=static, configured=bool(jwt_env or tokens))

    def principal(self, token: str | None) -> Principal:
        """The caller behind ``token``; Unauthorized when it is missing or not valid."""
        if self.open_mode:
            return Principal(tenant=DEFAULT_ORG)
        if not token:
            raise Unauthorized("Unauthenticated.")
        org = match_static_token(token, self.static)
        if org is not None:
            return Principal(tenant=org, subject=f"token:{org}")
        if self.jwt_secret and token.count(".") == 2:
            try:
                claims = verify_token(token, self.jwt_secret)
            except ExpiredToken as exc:
                raise Unauthorized("Unauthenticated. The token has expired.") from exc
            except InvalidToken as exc:
                raise Unauthorized("Unauthenticated.") from exc
            org_claim = next((claims[c] for c in ORG_CLAIMS if claims.get(c)), None)
            if org_claim is None:
                raise Unauthorized("Unauthenticated. The token names no organization.")
            return Principal(tenant=str(org_claim), subject=str(claims.get("sub") or "user"), claims=claims)
        raise Unauthorized("Unauthenticated.")

    async def authenticate(self, request: Request, operation_id: str) -> Principal:
        if operation_id in PUBLIC_OPERATIONS:
            # The webhook token in the path is the credential; the handler finds the org from it.
            return Principal(tenant="", subject="webhook")
        return self.principal(bearer_token(request.headers))
