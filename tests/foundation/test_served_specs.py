"""``/openapi/<dialect>.yaml`` serves the spec the gateway enforces, byte for byte as it always did:
an open dialect's spec with every credential optional (written on the first request, no longer at
start: PyYAML's pure emitter was a fifth of the start), a dialect with credentials its file as read."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import yaml

from tests.support.server import run_gateway
from wfgateway.contract.open_mode import open_security

REPO = Path(__file__).resolve().parents[2]


def open_text(dialect: str) -> bytes:
    """The open-mode spec as the gateway wrote it at start before (pure loader and emitter)."""
    document = yaml.load((REPO / f"openapi/{dialect}.yaml").read_bytes(), Loader=yaml.SafeLoader)
    return yaml.safe_dump(open_security(document), sort_keys=False, allow_unicode=True).encode()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory):  # conductor with credentials, the others open
    mp = pytest.MonkeyPatch()
    mp.setenv("WFG_TEST_SPEC_SECRET", "spec-secret-0123456789")
    mp.setenv("WFG_TEST_SPEC_TOKEN", "token-signing-secret-of-at-least-32-bytes")
    auth = {"keys": [{"key_id": "k", "key_secret_env": "WFG_TEST_SPEC_SECRET", "tenant": "acme"}],
            "token_secret_env": "WFG_TEST_SPEC_TOKEN"}
    try:
        with run_gateway(tmp_path_factory.mktemp("specs"), dialects={"conductor": {"auth": auth}}) as gw:
            yield gw.url
    finally:
        mp.undo()


def test_an_open_dialects_spec_is_the_one_written_at_start_before(gateway: str) -> None:
    with ThreadPoolExecutor(4) as pool:  # first requests at once: one text, the same for each
        answers = list(pool.map(lambda _: httpx.get(f"{gateway}/openapi/cognite.yaml", timeout=60), range(4)))
    assert {r.status_code for r in answers} == {200}
    assert {r.content for r in answers} == {open_text("cognite")}
    assert answers[0].headers["content-type"].startswith("application/yaml")
    again = httpx.get(f"{gateway}/openapi/altostrat.yaml", timeout=60)
    assert again.content == open_text("altostrat")
    assert {} in yaml.safe_load(again.content)["security"]  # credentials optional


def test_a_dialect_with_credentials_serves_its_spec_file_as_is(gateway: str) -> None:
    answer = httpx.get(f"{gateway}/openapi/conductor.yaml", timeout=60)
    assert answer.status_code == 200 and answer.content == (REPO / "openapi/conductor.yaml").read_bytes()
