"""Print the README's vendor endpoint table from the specs: ``python -m tests.support.endpoint_table``.

tests/foundation/test_readme.py checks the README lists every operation, so the table cannot drift.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from wfgateway.contract.spec import load_spec

REPO = Path(__file__).resolve().parents[2]
DIALECTS = ("conductor", "cognite", "altostrat")


def rows(dialect: str) -> list[tuple[str, str, str]]:
    spec = load_spec(dialect, REPO / "openapi" / f"{dialect}.yaml")
    doc = spec.document
    out = []
    for op in spec.operations:
        summary = doc["paths"][op.path][op.method.lower()].get("summary", "")
        out.append((op.method, op.path, summary))
    return out


def table() -> str:
    lines: list[str] = []
    for dialect in DIALECTS:
        title = yaml.safe_load((REPO / "openapi" / f"{dialect}.yaml").read_text())["info"]["title"]
        lines += [f"### {title}", "", "| method | path | what |", "|---|---|---|"]
        lines += [f"| {m} | `{p}` | {s} |" for m, p, s in rows(dialect)]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
