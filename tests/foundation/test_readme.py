"""The README is for users: it opens with the two commands and lists every endpoint we serve."""

from __future__ import annotations

from tests.support.endpoint_table import DIALECTS, REPO, rows


def test_readme_opens_with_the_two_commands():
    head = (REPO / "README.md").read_text().splitlines()[:6]
    assert any("make run" in line for line in head)
    assert any("make test" in line for line in head)


def test_readme_lists_every_operation_of_every_spec():
    readme = (REPO / "README.md").read_text()
    missing = [f"{d}: {m} {p}" for d in DIALECTS for m, p, _ in rows(d) if f"| {m} | `{p}` |" not in readme]
    assert not missing, "README endpoint table is stale; regenerate with python -m tests.support.endpoint_table:\n" + "\n".join(missing)
