"""The spec as an open-mode gateway enforces it: every credential optional.

A dialect configured without credentials accepts calls that carry none, so the spec it serves at
``/openapi/<dialect>.yaml`` (and the one ``wfgateway contract --open`` checks) lists the empty
security requirement ``{}`` beside the vendor's schemes -- OpenAPI's way of saying "credentials
optional".  Contract tools then neither expect a 401 without a token nor count a call without one as
schema-violating, and the vendor's schemes stay documented for gateways that configure them.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Mapping
from typing import Any

import yaml

from wfgateway.contract.spec import HTTP_METHODS
from wfgateway.contract.yaml_documents import load_document


def open_security(document: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``document`` whose every security requirement list also allows no credentials."""
    out = copy.deepcopy(dict(document))
    _allow_none(out)
    for item in (out.get("paths") or {}).values():
        for method in HTTP_METHODS:
            op = item.get(method) if isinstance(item, dict) else None
            if isinstance(op, dict):
                _allow_none(op)
    return out


def _allow_none(node: dict[str, Any]) -> None:
    requirements = node.get("security")
    if isinstance(requirements, list) and requirements and {} not in requirements:
        node["security"] = [*requirements, {}]


class ServedSpec:
    """The text of ``/openapi/<dialect>.yaml``: the spec file as read at start or, for an open dialect,
    that spec with every credential optional.  The open text is written on its first request, in a
    thread: PyYAML's pure-Python emitter takes some 0.4 s of CPU for the three specs, which every start
    paid before.  The pure emitter is kept (libyaml's may fold or quote some text differently), so the
    text is byte for byte what it was."""

    def __init__(self, raw: bytes, *, open_mode: bool) -> None:
        self._raw = raw
        self._text: bytes | None = None if open_mode else raw
        self._writing: asyncio.Lock | None = None

    async def text(self) -> bytes:
        if self._text is None:
            self._writing = self._writing or asyncio.Lock()
            async with self._writing:  # requests that arrive meanwhile wait for the one text
                if self._text is None:
                    self._text = await asyncio.to_thread(self._open_text)
        return self._text

    def _open_text(self) -> bytes:
        document = load_document(self._raw)
        return yaml.safe_dump(open_security(document), sort_keys=False, allow_unicode=True).encode()
