"""Upstream credentials (outbound): the gateway's own credentials for a vendor replace the client's.

The credentials clients present to the gateway (inbound) are checked with wfgateway.client_auth.

Generic schemes live here (a bearer token, OAuth2 client credentials); a vendor whose scheme is its
own (Conductor's key id + secret exchanged for a token sent as ``X-Authorization``) provides it as
its ``Adapter.upstream_auth`` (wfgateway.adapter).  Secrets are read from the
environment variables the config names (``*_env`` keys), never from the file.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from wfgateway.core.errors import Unavailable

# Headers that carry a client's credentials in any common scheme; never forwarded upstream.
CLIENT_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


class CredentialsError(ValueError):
    """The credentials section cannot be used (unknown scheme, unset environment variable)."""


class UpstreamAuth(Protocol):
    strip: frozenset[str]  # lower-case request headers that carry the client's own credentials
    scheme: str  # for `wfgateway routes` (never the secret)
    @property
    def static_headers(self) -> Mapping[str, str] | None:
        """Headers that never change (no token to fetch), else None."""

    async def headers(self, transport: Any) -> Mapping[str, str]:
        """Headers that authenticate the gateway at the upstream (may fetch a token first)."""

    def invalidate(self) -> bool:
        """Forget a cached token after a 401; True when fetching a new one may help."""


def secret(credentials: Mapping[str, Any], key: str, *, required: bool = True) -> str | None:
    """The value of the environment variable named by ``credentials[key]``."""
    var = credentials.get(key)
    if not var:
        if required:
            raise CredentialsError(f"credentials.{key} is required")
        return None
    value = os.environ.get(str(var))
    if not value:
        raise CredentialsError(f"credentials.{key}: environment variable {var} is not set")
    return value


class NoAuth:
    strip = CLIENT_CREDENTIAL_HEADERS
    scheme = "none"
    static_headers: dict[str, str] = {}  # known without a call: the transport skips the await

    async def headers(self, transport: Any) -> Mapping[str, str]:
        return {}

    def invalidate(self) -> bool:
        return False


class StaticHeaderAuth:
    """A fixed header (``Authorization: Bearer <token>``, or a vendor's own header)."""

    def __init__(self, header: str, value: str, scheme: str, strip: frozenset[str] = CLIENT_CREDENTIAL_HEADERS):
        self._headers = self.static_headers = {header: value}
        self.scheme = scheme
        self.strip = strip | {header.lower()}

    async def headers(self, transport: Any) -> Mapping[str, str]:
        return self._headers

    def invalidate(self) -> bool:
        return False


class TokenCache:
    """A fetched token, refreshed shortly before it expires; one fetch at a time."""

    def __init__(self, margin_s: float = 30.0) -> None:
        self.value: str | None = None
        self.expires_at = 0.0
        self.margin_s = margin_s
        self._lock = asyncio.Lock()

    def fresh(self) -> str | None:
        if self.value is not None and time.monotonic() < self.expires_at - self.margin_s:
            return self.value
        return None

    async def get(self, fetch: Any) -> str:
        token = self.fresh()
        if token is not None:
            return token
        async with self._lock:
            token = self.fresh()
            if token is None:
                token, ttl_s = await fetch()
                self.value, self.expires_at = token, time.monotonic() + ttl_s
            return token

    def clear(self) -> None:
        self.value = None


class ClientCredentialsAuth:
    """OAuth2 client credentials (Cognite's IdP, Entra ID, ...): token_url, client_id, secret, scopes."""

    scheme = "oauth2 client credentials"
    strip = CLIENT_CREDENTIAL_HEADERS
    static_headers = None  # a fetched token

    def __init__(self, token_url: str, client_id: str, client_secret: str, scopes: list[str],
                 audience: str | None = None) -> None:
        self.token_url, self.client_id, self.client_secret = token_url, client_id, client_secret
        self.scopes, self.audience = scopes, audience
        self._cache = TokenCache()

    async def headers(self, transport: Any) -> Mapping[str, str]:
        return {"Authorization": f"Bearer {await self._cache.get(lambda: self._fetch(transport))}"}

    async def _fetch(self, transport: Any) -> tuple[str, float]:
        form = {"grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self.client_secret}
        if self.scopes:
            form["scope"] = " ".join(self.scopes)
        if self.audience:
            form["audience"] = self.audience
        status, document = await transport.fetch_json("POST", self.token_url, form=form)
        if status != 200 or not isinstance(document, dict) or not document.get("access_token"):
            raise Unavailable(f"upstream {transport.name}: token endpoint answered {status}")
        return str(document["access_token"]), float(document.get("expires_in") or 3600)

    def invalidate(self) -> bool:
        self._cache.clear()
        return True


def generic_auth(credentials: Mapping[str, Any]) -> UpstreamAuth:
    """Bearer token or OAuth2 client credentials; none when the section is empty."""
    if not credentials:
        return NoAuth()
    if "client_id" in credentials:
        token_url = credentials.get("token_url")
        if not token_url:
            raise CredentialsError("credentials.token_url is required with client_id")
        scopes = credentials.get("scopes") or []
        return ClientCredentialsAuth(str(token_url), str(credentials["client_id"]),
                                     str(secret(credentials, "client_secret_env")),
                                     [str(s) for s in (scopes if isinstance(scopes, list) else [scopes])],
                                     credentials.get("audience"))
    if "token_env" in credentials:
        token = secret(credentials, "token_env")
        header = str(credentials.get("header") or "Authorization")
        value = f"Bearer {token}" if header.lower() == "authorization" else str(token)
        return StaticHeaderAuth(header, value, f"token in {header}")
    raise CredentialsError(f"unknown credentials: {', '.join(sorted(credentials))} "
                           "(use token_env, or client_id + client_secret_env + token_url)")


VendorScheme = Callable[[dict[str, Any], dict[str, Any]], "UpstreamAuth | None"]
"""An adapter's own scheme (wfgateway.adapter.UpstreamAuthFactory)."""


def upstream_auth_for(vendor_scheme: VendorScheme | None, credentials: Mapping[str, Any],
                      settings: Mapping[str, Any]) -> UpstreamAuth:
    """The vendor's own scheme when its adapter has one and it claims these credentials, else a generic one."""
    if vendor_scheme is not None:
        auth = vendor_scheme(dict(credentials), dict(settings))
        if auth is not None:
            return auth
    return generic_auth(credentials)
