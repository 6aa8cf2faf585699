"""The page a run listing shows, read as Laravel's paginator reads ``?page=``.

Altostrat is a Laravel application: its paginator takes ``page`` when PHP's
``filter_var(..., FILTER_VALIDATE_INT)`` accepts it and it is at least 1, and page 1 otherwise, so
``?page=abc``, ``0``, ``-1``, ``1.5`` or ``02`` show the first page instead of failing.
"""

from __future__ import annotations

import re

# FILTER_VALIDATE_INT: an optional sign, then no leading zero ("0" alone is 0, and below 1 anyway)
_PHP_INT = re.compile(r"[+-]?[1-9][0-9]*")
PHP_INT_MAX = 2**63 - 1


def requested_page(raw: str | int | None) -> int:
    """The page Laravel shows for the query value ``raw`` (None when absent)."""
    text = "" if raw is None else str(raw).strip()  # Laravel's TrimStrings, then the filter's own trim
    if not _PHP_INT.fullmatch(text):
        return 1
    value = int(text)
    return value if 1 <= value <= PHP_INT_MAX else 1
