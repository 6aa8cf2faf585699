"""Console sessions: a sealed, HttpOnly, SameSite=Strict cookie holding who logged in, the tenants
they may see and a per-session CSRF token that every state-changing call must echo in a header.

Sealing reuses the gateway's cursor signer (HMAC-SHA256 under ``server.cursor_key_env``): an edited
or forged cookie does not open, and the credential itself is never stored -- only what it grants.
"""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from wfgateway.console.vocabulary import Identity
from wfgateway.cursors import BadCursor, CursorSigner

COOKIE = "wfgateway_console"
CSRF_HEADER = "x-console-csrf"
_OPERATION = "console-session"


class Session:
    def __init__(self, identity: Identity, csrf: str) -> None:
        self.identity = identity
        self.csrf = csrf

    def may_see(self, tenant: str) -> bool:
        return self.identity.tenants is None or tenant in self.identity.tenants


class Sessions:
    def __init__(self, signer: CursorSigner, ttl_seconds: int) -> None:
        self.signer = signer
        self.ttl_seconds = ttl_seconds

    def issue(self, response: Response, identity: Identity, *, secure: bool) -> Session:
        csrf = secrets.token_urlsafe(24)
        state: dict[str, Any] = {
            "sub": identity.subject, "dialect": identity.dialect, "csrf": csrf,
            "tenants": None if identity.tenants is None else sorted(identity.tenants),
            "exp": int(time.time()) + self.ttl_seconds,
        }
        value = self.signer.seal(state, tenant="", operation=_OPERATION)
        response.set_cookie(COOKIE, value, max_age=self.ttl_seconds, path="/console", httponly=True,
                            samesite="strict", secure=secure)
        return Session(identity, csrf)

    def read(self, request: Request) -> Session | None:
        value = request.cookies.get(COOKIE)
        if not value:
            return None
        try:
            state = self.signer.open(value, tenant="", operation=_OPERATION)
        except BadCursor:
            return None
        if not isinstance(state.get("exp"), int) or state["exp"] < time.time():
            return None
        tenants = state.get("tenants")
        identity = Identity(str(state.get("sub")), str(state.get("dialect") or ""),
                            None if tenants is None else frozenset(str(t) for t in tenants))
        return Session(identity, str(state.get("csrf")))

    @staticmethod
    def clear(response: Response) -> None:
        response.delete_cookie(COOKIE, path="/console")


def csrf_ok(request: Request, session: Session) -> bool:
    """The header echoes the session's token, and a browser's Origin (when sent) is this host."""
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent or not hmac.compare_digest(sent, session.csrf):
        return False
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = request.headers.get("host", "")
        return origin.split("://", 1)[-1] == host
    return True
