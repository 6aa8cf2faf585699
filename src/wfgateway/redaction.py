"""Credentials carried in request paths and queries, masked wherever a path or query is written.

A spec marks a parameter that is a credential with ``x-credential: true`` (an Altostrat webhook's
path token is the endpoint's only credential).  The pipeline builds one ``Redactor`` from every
spec at start; the access log, error messages and anything else that writes a path (traces, the
console) pass it through ``Redactor.path`` / ``Redactor.query`` first.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode

MARK = "[redacted]"


class Redactor:
    """Masks the credential segments of paths and the credential values of queries.

    A path is masked from a credential segment to its end whenever the literal segments before it
    match the template -- also for a wrong method, a trailing slash or extra segments (a 404 or 405
    is logged too), for literal segments in another case (a 404 as well), and for an encoded ``/``
    inside the secret, which splits the decoded path."""

    def __init__(self) -> None:
        self._rules: set[tuple[tuple[str | None, ...], int]] = set()
        self._query_names: set[str] = set()
        # the first segments a credential path can start with (None: any): most paths start elsewhere
        self._heads: set[str] | None = set()

    def declare(self, template: str, path_params: Iterable[str] = (), query_params: Iterable[str] = ()) -> None:
        """``path_params`` of ``template`` and ``query_params`` (any path) are credentials."""
        secret = set(path_params)
        segments = tuple(None if s.startswith("{") and s.endswith("}") else s.lower() for s in _split(template))
        for i, seg in enumerate(_split(template)):
            if seg.startswith("{") and seg[1:-1] in secret:
                self._rules.add((segments[:i], i))
                if self._heads is not None:
                    if i == 0 or segments[0] is None:
                        self._heads = None
                    else:
                        self._heads.add(segments[0])
        self._query_names.update(query_params)

    @property
    def active(self) -> bool:
        return bool(self._rules or self._query_names)

    def path(self, path: str) -> str:
        """``path`` with every credential segment (and what follows it) replaced by ``[redacted]``."""
        at = self._secret_start(path)
        return path if at is None else path[:at] + MARK

    def query(self, query: str) -> str:
        """``query`` (``a=1&b=2``) with the values of credential parameters replaced."""
        if not self._query_names or not query:
            return query
        pairs = parse_qsl(query, keep_blank_values=True)
        if not any(name in self._query_names for name, _ in pairs):
            return query
        return urlencode([(n, MARK if n in self._query_names else v) for n, v in pairs], safe="[]")

    def text(self, text: str, path: str) -> str:
        """``text`` (an error message, say) with the credential part of ``path`` masked wherever it
        appears in it."""
        at = self._secret_start(path)
        return text if at is None else text.replace(path[at:], MARK)

    def _secret_start(self, path: str) -> int | None:
        """Index in ``path`` where its first credential segment starts (None when it carries none)."""
        if not self._rules:
            return None
        heads = self._heads
        if heads is not None:
            first = path[1:] if path.startswith("/") else path
            slash = first.find("/")
            if (first if slash < 0 else first[:slash]).lower() not in heads and not first.startswith("/"):
                return None
        starts: list[int] = []
        segments: list[str] = []
        pos = 0
        for part in path.split("/"):
            if part:
                starts.append(pos)
                segments.append(part)
            pos += len(part) + 1
        cut: int | None = None
        for head, i in self._rules:
            if i < len(segments) and (cut is None or i < cut) and all(
                    h is None or h == s.lower() for h, s in zip(head, segments, strict=False)):
                cut = i
        return None if cut is None else starts[cut]


def _split(path: str) -> list[str]:
    return [s for s in path.split("/") if s]
