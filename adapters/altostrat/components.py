"""The Altostrat node components wfgateway runs, and how each one's ``data`` is checked.

Component ids confirmed by the vendor's docs are ``manual_trigger``, ``webhook_trigger``,
``webhook`` and ``altostrat_api`` (a call to Altostrat's own API at ``ALTOSTRAT_API_BASE``, which
the ``tasks.http.allow`` list must admit, as any HTTP call); ``schedule``, ``condition`` (also ``string_condition``, ``number_condition``, ...),
``delay`` and ``terminate`` follow the node guides.  A node names its component in
``data.componentId`` or, in the current docs' examples, in ``type``.
"""

from __future__ import annotations

from typing import Any

TRIGGERS = frozenset({"manual_trigger", "webhook_trigger", "schedule"})
WEBHOOK = "webhook"
ALTOSTRAT_API = "altostrat_api"
ALTOSTRAT_API_BASE = "https://v1.api.altostrat.io"
DELAY = "delay"
TERMINATE = "terminate"
HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
DELAY_UNITS_S = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
MAX_DELAY_S = 900
NODE_TIMEOUT_MS = 5 * 60 * 1000

# Altostrat condition operators (and common spellings) -> the engine's condition operators.
CONDITION_OPERATORS = {
    "equals": "equals", "==": "equals", "eq": "equals", "is": "equals",
    "not_equals": "not_equals", "!=": "not_equals", "ne": "not_equals", "is_not": "not_equals",
    "greater_than": "greater_than", ">": "greater_than", "gt": "greater_than",
    "greater_than_or_equal": "greater_or_equal", "greater_or_equal": "greater_or_equal", ">=": "greater_or_equal",
    "less_than": "less_than", "<": "less_than", "lt": "less_than",
    "less_than_or_equal": "less_or_equal", "less_or_equal": "less_or_equal", "<=": "less_or_equal",
    "contains": "contains", "not_contains": "not_contains",
    "is_empty": "is_empty", "is_not_empty": "is_not_empty",
    "is_true": "is_true", "is_false": "is_false",
}
UNARY_OPERATORS = frozenset({"is_empty", "is_not_empty", "is_true", "is_false"})
_CATEGORIES = frozenset({"trigger", "action", "condition", "default", "custom"})


def component_of(node: dict[str, Any]) -> str | None:
    """The node's component id: ``data.componentId``, else ``type`` unless it is only a category."""
    data = node.get("data") or {}
    cid = data.get("componentId")
    if isinstance(cid, str) and cid:
        return cid
    t = node.get("type")
    if isinstance(t, str) and t and t not in _CATEGORIES:
        return t
    if t == "condition":
        return "condition"
    return None


def is_condition(component: str) -> bool:
    return component == "condition" or component.endswith("_condition")


def is_trigger(component: str | None) -> bool:
    return component in TRIGGERS


def condition_operands(data: dict[str, Any]) -> tuple[Any, Any, Any]:
    """(left, operator, right) of a condition node's data."""
    left = next((data[k] for k in ("left", "value1", "field") if k in data), None)
    right = next((data[k] for k in ("right", "value2", "value") if k in data), None)
    return left, data.get("operator"), right


def check_node(node: dict[str, Any], component: str) -> list[str]:
    """Configuration errors of one node (empty when it is runnable)."""
    nid = node.get("id")
    data = node.get("data") or {}
    if not isinstance(data, dict):
        return [f"Node '{nid}' has invalid data: expected an object."]
    errors: list[str] = []
    if component == WEBHOOK:
        method = data.get("method")
        if not isinstance(method, str) or method.upper() not in HTTP_METHODS:
            errors.append(f"Node '{nid}' (webhook) needs a method: one of GET, POST, PUT, PATCH, DELETE.")
        url = data.get("url")
        if not isinstance(url, str) or not url.strip():
            errors.append(f"Node '{nid}' (webhook) needs a url.")
        headers = data.get("headers")
        if headers is not None and not isinstance(headers, (dict, list)):
            errors.append(f"Node '{nid}' (webhook) has invalid headers: expected an object or a list.")
    elif component == ALTOSTRAT_API:
        method = data.get("method", "GET")
        if not isinstance(method, str) or method.upper() not in HTTP_METHODS:
            errors.append(f"Node '{nid}' (altostrat_api) has an invalid method: use GET, POST, PUT, PATCH or DELETE.")
        endpoint = data.get("endpoint")
        if not isinstance(endpoint, str) or not endpoint.startswith("/"):
            errors.append(f"Node '{nid}' (altostrat_api) needs an endpoint: a path starting with '/'.")
    elif component == DELAY:
        duration = data.get("duration")
        unit = data.get("unit", "seconds")
        if isinstance(duration, bool) or not isinstance(duration, (int, float)) or duration < 0:
            errors.append(f"Node '{nid}' (delay) needs a non-negative duration.")
        elif unit not in DELAY_UNITS_S:
            errors.append(f"Node '{nid}' (delay) has an invalid unit '{unit}': use seconds, minutes, hours or days.")
        elif duration * DELAY_UNITS_S[unit] > MAX_DELAY_S:
            errors.append(f"Node '{nid}' (delay) is longer than the maximum of {MAX_DELAY_S} seconds.")
    elif is_condition(component):
        left, operator, _right = condition_operands(data)
        if operator not in CONDITION_OPERATORS:
            errors.append(f"Node '{nid}' (condition) has an unknown operator '{operator}'.")
        if left is None:
            errors.append(f"Node '{nid}' (condition) needs a value to test (left).")
    elif component == TERMINATE:
        if data.get("status", "completed") not in ("completed", "failed"):
            errors.append(f"Node '{nid}' (terminate) status must be completed or failed.")
    elif component not in TRIGGERS:
        errors.append(f"Node '{nid}' uses the unsupported component '{component}'.")
    return errors
