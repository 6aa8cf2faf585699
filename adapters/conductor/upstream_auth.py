"""The gateway's credentials towards an upstream Conductor (Orkes): a key id + secret traded for a
token at ``POST /api/token``, or a ready token; either way sent as ``X-Authorization``.

Orkes does not say how long a token lives in the answer; tokens are re-fetched after
``token_ttl_seconds`` (default 45 minutes, under Orkes' hour) or at once after a 401.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wfgateway.backends.upstream_credentials import (
    CLIENT_CREDENTIAL_HEADERS,
    NoAuth,
    StaticHeaderAuth,
    TokenCache,
    secret,
)
from wfgateway.core.errors import Unavailable

HEADER = "X-Authorization"
_STRIP = CLIENT_CREDENTIAL_HEADERS | {"x-authorization"}


class KeyAuth:
    scheme = "Orkes key id + secret -> X-Authorization"
    strip = _STRIP
    static_headers = None  # a fetched token

    def __init__(self, key_id: str, key_secret: str, ttl_s: float) -> None:
        self.key_id, self.key_secret, self.ttl_s = key_id, key_secret, ttl_s
        self._cache = TokenCache(margin_s=0)

    async def headers(self, transport: Any) -> Mapping[str, str]:
        return {HEADER: await self._cache.get(lambda: self._fetch(transport))}

    async def _fetch(self, transport: Any) -> tuple[str, float]:
        status, document = await transport.fetch_json(
            "POST", "/api/token", json={"keyId": self.key_id, "keySecret": self.key_secret})
        if status != 200 or not isinstance(document, dict) or not document.get("token"):
            raise Unavailable(f"upstream {transport.name}: POST /api/token answered {status}")
        return str(document["token"]), self.ttl_s

    def invalidate(self) -> bool:
        self._cache.clear()
        return True


def create_upstream_auth(credentials: dict[str, Any], settings: dict[str, Any]) -> Any:
    """Conductor's schemes; None for anything else (the generic loader then decides)."""
    if not credentials:  # an open upstream: still never pass on the client's own X-Authorization
        auth = NoAuth()
        auth.strip = _STRIP
        return auth
    if "key_id" in credentials:
        return KeyAuth(str(credentials["key_id"]), str(secret(credentials, "key_secret_env")),
                       float(credentials.get("token_ttl_seconds") or 2700))
    if "token_env" in credentials:
        return StaticHeaderAuth(HEADER, str(secret(credentials, "token_env")), f"token in {HEADER}", _STRIP)
    return None
