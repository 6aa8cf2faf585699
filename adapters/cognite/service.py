"""What every Cognite handler shares: settings, state, sessions, the translator, JSON answers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response
from wfgateway.adapters.cognite.security import TokenAuth
from wfgateway.adapters.cognite.sessions import Sessions
from wfgateway.adapters.cognite.state import KeyValue
from wfgateway.adapters.cognite.translate import Translator

from wfgateway.core.model import RetryPolicy
from wfgateway.exact_json import dumps

# Cognite's retry rules (seed 003): optional tasks stay as they are, a task past its retry limit gets
# one more attempt per retry request, failures inside subworkflows are retried in place.
RETRY_POLICY = RetryPolicy(skip_optional=True, extra_attempt_past_limit=True, resume_subworkflows=True)


@dataclass
class CogniteService:
    settings: Mapping[str, Any]
    kv: KeyValue
    sessions: Sessions
    translator: Translator
    auth: TokenAuth


def json(body: Any, status: int = 200) -> Response:
    return Response(dumps(body), status_code=status, media_type="application/json")


def limit_of(value: Any, default: int = 100) -> int:
    return int(value) if isinstance(value, int) else default
