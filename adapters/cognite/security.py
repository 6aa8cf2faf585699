"""Bearer tokens per project: ``dialects.cognite.auth.tokens: [{token_env, projects}]``.

Every token is compared in constant time against every configured one.  No token configured = open
(the gateway then refuses to bind anything but loopback).  Missing or unknown token -> 401; a known
token used for a project it is not allowed -> 403.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wfgateway.client_auth import bearer_token, match_static_token, secret_from_env
from wfgateway.core.errors import Forbidden, Unauthorized
from wfgateway.dialect import Principal

PROJECT_PREFIX = "/api/v1/projects/"
ANY_PROJECT = "*"


@dataclass(frozen=True)
class TokenGrant:
    subject: str  # the env var name: identifies the token in logs without revealing it
    projects: frozenset[str]

    def allows(self, project: str) -> bool:
        return ANY_PROJECT in self.projects or project in self.projects


class TokenAuth:
    """The configured tokens, read from the environment once at start."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        entries = list((settings or {}).get("tokens") or [])
        self.configured = bool(entries)
        self._grants: dict[str, TokenGrant] = {}
        for entry in entries:
            value = secret_from_env(entry.get("token_env"))
            if value:
                self._grants[value] = TokenGrant(entry.get("token_env", ""), frozenset(entry.get("projects") or []))

    @property
    def open_mode(self) -> bool:
        return not self.configured

    def grant_for(self, headers: Mapping[str, str]) -> TokenGrant | None:
        """The grant of the request's bearer token; Unauthorized if missing or unknown (closed mode)."""
        if self.open_mode:
            return None
        token = bearer_token(headers)
        if token is None:
            raise Unauthorized("Unauthorized: missing bearer token")
        grant = match_static_token(token, self._grants)
        if grant is None:
            raise Unauthorized("Unauthorized: invalid token")
        return grant

    def authenticate(self, path: str, headers: Mapping[str, str]) -> Principal:
        project = project_of(path)
        grant = self.grant_for(headers)
        if grant is None:
            return Principal(tenant=project)
        if project and not grant.allows(project):
            raise Forbidden(f"Token is not allowed to access project '{project}'")
        return Principal(tenant=project, subject=grant.subject, claims={"projects": sorted(grant.projects)})


def project_of(path: str) -> str:
    """The ``{project}`` segment of ``/api/v1/projects/{project}/...`` ("" for other paths)."""
    if not path.startswith(PROJECT_PREFIX):
        return ""
    return path[len(PROJECT_PREFIX):].split("/", 1)[0]
