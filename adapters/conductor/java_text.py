"""Values as the OSS server's messages write them: Java's ``String.valueOf`` of what Jackson and the
server's ParametersUtils make of JSON -- ``null``, ``true``, ``4.0``, ``[a, b]`` and ``{k=v, ...}`` with
a map's keys in the order a java.util.HashMap of String keys iterates them (its bucket order)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any


def java_text(value: Any) -> str:
    """``String.valueOf`` of a JSON value as the server holds it (maps are HashMaps)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _double(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}={java_text(value[k])}" for k in hash_map_order(list(value))) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(java_text(v) for v in value) + "]"
    return str(value)


def hash_map_order(keys: list[Any]) -> list[Any]:
    """The order a HashMap iterates ``keys`` put in this order: by bucket (the spread String hash masked
    by its table size: 16, doubled while over 3/4 full), then by insertion within a bucket."""
    size = 16
    while len(keys) > size * 3 // 4:
        size *= 2
    def bucket(key: Any) -> int:
        h = _string_hash(str(key))
        return (h ^ (h >> 16)) & (size - 1)
    return [k for _, k in sorted(enumerate(keys), key=lambda pair: (bucket(pair[1]), pair[0]))]


def _string_hash(text: str) -> int:
    """Java's String.hashCode over UTF-16 code units, as an unsigned 32-bit value."""
    h = 0
    data = text.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + (data[i] << 8 | data[i + 1])) & 0xFFFFFFFF
    return h


def _double(x: float) -> str:
    """Double.toString: plain between 10^-3 and 10^7, else d.dddE±n (shortest digits either way)."""
    if x != x or x in (float("inf"), float("-inf")):
        return "NaN" if x != x else ("Infinity" if x > 0 else "-Infinity")
    if x == 0 or 1e-3 <= abs(x) < 1e7:
        return repr(x)
    sign, digits, exponent = Decimal(repr(x)).as_tuple()
    text = "".join(map(str, digits)).rstrip("0") or "0"
    assert isinstance(exponent, int)
    power = exponent + len(digits) - 1
    return f"{'-' if sign else ''}{text[0]}.{text[1:] or '0'}E{power}"
