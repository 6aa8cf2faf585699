"""Condition operators and switch branch selection (pure functions)."""

from __future__ import annotations

from typing import Any


def _num(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v.strip())
        except ValueError:
            return None
    return None


def _eq(a: Any, b: Any) -> bool:
    if a == b:
        return True
    na, nb = _num(a), _num(b)
    if na is not None and nb is not None:
        return na == nb
    if isinstance(a, (str, int, float, bool)) and isinstance(b, (str, int, float, bool)):
        return _s(a) == _s(b)
    return False


def _s(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _cmp(a: Any, b: Any) -> int | None:
    na, nb = _num(a), _num(b)
    if na is not None and nb is not None:
        return (na > nb) - (na < nb)
    if isinstance(a, str) and isinstance(b, str):
        return (a > b) - (a < b)
    return None


def _contains(a: Any, b: Any) -> bool:
    if isinstance(a, str):
        return _s(b) in a if b is not None else False
    if isinstance(a, (list, tuple)):
        return any(_eq(x, b) for x in a)
    if isinstance(a, dict):
        return isinstance(b, str) and b in a
    return False


def _empty(a: Any) -> bool:
    return a is None or a == "" or a == [] or a == {}


def _truthy(a: Any) -> bool:
    return a is True or (isinstance(a, str) and a.strip().lower() == "true") or (
        isinstance(a, (int, float)) and not isinstance(a, bool) and a == 1
    )


def _falsy(a: Any) -> bool:
    return a is False or (isinstance(a, str) and a.strip().lower() == "false") or (
        isinstance(a, (int, float)) and not isinstance(a, bool) and a == 0
    )


def _ordered(test):  # type: ignore[no-untyped-def]
    def run(a: Any, b: Any) -> bool:
        c = _cmp(a, b)
        return c is not None and test(c)

    return run


OPERATORS = {
    "equals": _eq,
    "not_equals": lambda a, b: not _eq(a, b),
    "contains": _contains,
    "not_contains": lambda a, b: not _contains(a, b),
    "greater_than": _ordered(lambda c: c > 0),
    "less_than": _ordered(lambda c: c < 0),
    "greater_or_equal": _ordered(lambda c: c >= 0),
    "less_or_equal": _ordered(lambda c: c <= 0),
    "is_empty": lambda a, b: _empty(a),
    "is_not_empty": lambda a, b: not _empty(a),
    "is_true": lambda a, b: _truthy(a),
    "is_false": lambda a, b: _falsy(a),
}


def evaluate(left: Any, operator: str, right: Any) -> bool:
    """True/False for a condition; KeyError for an unknown operator."""
    return bool(OPERATORS[operator](left, right))


def select_case(value: Any, cases: Any) -> str:
    """``str(value)`` when it is one of ``cases`` (a list of names or an object keyed by name), else "default"."""
    key = _s(value) if value is not None else "null"
    if isinstance(cases, dict):
        return key if key in cases else "default"
    if isinstance(cases, (list, tuple)):
        return key if key in [_s(c) for c in cases] else "default"
    return "default"
