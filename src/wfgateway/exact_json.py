"""JSON whose integers keep every digit, at orjson's speed for everything else.

A JSON number has no size and the vendors' servers keep an integer past 64 bits exact (Jackson reads
it as a BigInteger), but orjson reads one as a float and refuses to write one.  So:

* ``loads_body`` (text from outside: a request, an HTTP task's answer) parses with orjson, and again
  with the standard library only when the text holds a run of 20 digits -- the shortest integer orjson
  cannot keep has 20 -- found by a byte translation and a substring search, a few microseconds for a
  large body, against a pure-Python regex scan several times slower than orjson itself.
* ``dumps`` / ``dumps_text`` write with orjson and fall back to the standard library only when orjson
  refuses the value.  ``dumps_text`` (what the stores keep) marks such a text with one leading space,
  which JSON allows, so that ``loads_stored`` knows from its first byte which parser keeps it exact:
  stored texts without big integers, nearly all of them, pay nothing.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_OPTS = orjson.OPT_NON_STR_KEYS
_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= b <= 0x39 else b for b in range(256))
_TWENTY_DIGITS = b"0" * 20
_MARK = " "  # a stored text that the standard library wrote: it holds an integer orjson cannot hold


def _stdlib_loads(text: str | bytes, fast: Any) -> Any:
    try:
        return json.loads(text)
    except ValueError:  # past the interpreter's int digit limit: keep what orjson read
        return fast


def loads_body(text: bytes | str) -> Any:
    """Parse JSON from outside (orjson.JSONDecodeError when it is not JSON), its big integers exact."""
    value = orjson.loads(text)
    raw = text.encode() if isinstance(text, str) else text
    if _TWENTY_DIGITS in raw.translate(_DIGITS_AS_ZERO):
        return _stdlib_loads(raw, value)
    return value


def loads_stored(text: str | bytes) -> Any:
    """Parse a text ``dumps_text`` wrote."""
    if text[:1] in (_MARK, b" "):
        return _stdlib_loads(text, None)
    return orjson.loads(text)


def _stdlib_dumps(value: Any, sort_keys: bool) -> str:
    return json.dumps(value, separators=(",", ":"), default=str, ensure_ascii=False, sort_keys=sort_keys)


def dumps(value: Any, *, sort_keys: bool = False) -> bytes:
    """Compact JSON bytes of an answer."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort_keys else None)
    except TypeError:  # orjson.JSONEncodeError: an integer past 64 bits (or an object it cannot write)
        return _stdlib_dumps(value, sort_keys).encode()


def dumps_text(value: Any, *, sort_keys: bool = False) -> str:
    """Compact JSON text to store (non-string keys as strings, unknown objects stringified); one with an
    integer past 64 bits starts with the mark ``loads_stored`` looks for."""
    try:
        return orjson.dumps(value, option=_OPTS | orjson.OPT_SORT_KEYS if sort_keys else _OPTS, default=str).decode()
    except TypeError:
        return _MARK + _stdlib_dumps(value, sort_keys)
