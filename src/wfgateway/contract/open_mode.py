"""The spec as an open-mode gateway enforces it: every credential optional.

A dialect configured without credentials accepts calls that carry none, so the spec it serves at
``/openapi/<dialect>.yaml`` (and the one ``wfgateway contract --open`` checks) lists the empty
security requirement ``{}`` beside the vendor's schemes -- OpenAPI's way of saying "credentials
optional".  Contract tools then neither expect a 401 without a token nor count a call without one as
schema-violating, and the vendor's schemes stay documented for gateways that configure them.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from wfgateway.contract.spec import HTTP_METHODS


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
