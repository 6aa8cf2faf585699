"""Console actions carried out as the vendors' own operations.

``Performer`` calls one dialect's operation handler the way the request pipeline does -- the same
backend selection (routes, run registry), the same handler, the same engine operation -- with the
console user as the caller and the run's tenant as the tenant.  A GatewayError is rendered by the
dialect exactly as an API client would get it, and the vocabulary reads the vendor's message out of
that body: the console shows the refusal an API user would get, in the same words.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from wfgateway.adapter import Dialect
from wfgateway.console.vocabulary import ConsoleVocabulary, Refused
from wfgateway.core.errors import ErrorContext, GatewayError
from wfgateway.dialect import Call, Principal
from wfgateway.pipeline import Forwarding, Pipeline

log = logging.getLogger("wfgateway.console")


class Performer:
    """A ``Perform`` for one dialect, one caller and one tenant."""

    def __init__(self, pipeline: Pipeline, gateway: Any, dialect: Dialect, vocabulary: ConsoleVocabulary,
                 request: Request, principal: Principal) -> None:
        self.pipeline = pipeline
        self.gateway = gateway
        self.dialect = dialect
        self.vocabulary = vocabulary
        self.request = request
        self.principal = principal

    async def __call__(self, operation_id: str, *, path: Mapping[str, Any] | None = None,
                       query: Mapping[str, Any] | None = None, body: Any = None) -> Any:
        target = self.pipeline.targets.get((self.dialect.name, operation_id))
        if target is None:
            raise Refused(f"{self.vocabulary.title} has no operation {operation_id}", 501)
        raw = orjson.dumps(body) if body is not None else b""
        call = Call(request=self.request, operation_id=operation_id, path=dict(path or {}), query=dict(query or {}),
                    headers={}, body=body, raw_body=raw, principal=self.principal, backend=self.gateway.engine,
                    gateway=self.gateway)
        try:
            selected = await self.pipeline.select_backend(target, call)
            if isinstance(selected, Forwarding):
                raise Refused(f"This run's route forwards {self.vocabulary.title} calls to an upstream "
                              f"{self.vocabulary.title} as they come; act on it there", 501)
            call.backend = selected
            response = await target.handler(call)
        except GatewayError as exc:
            response = self.dialect.render_error(exc, ErrorContext(path=self.request.url.path))
        return self._answer(response)

    def _answer(self, response: Response) -> Any:
        raw = bytes(response.body) if response.body else b""
        try:
            parsed: Any = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            parsed = raw.decode("utf-8", "replace")
        if response.status_code >= 400:
            raise Refused(self.vocabulary.refusal(response.status_code, parsed), response.status_code)
        return parsed
