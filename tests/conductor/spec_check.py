"""An httpx client that checks every answer against openapi/conductor.yaml with openapi-core (the
reference validator), so a response that drifts from the spec fails the test that provoked it."""

from __future__ import annotations

from pathlib import Path

import httpx
from openapi_core import OpenAPI
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from openapi_core.testing import MockRequest, MockResponse

SPEC = OpenAPI.from_file_path(str(Path(__file__).resolve().parents[2] / "openapi" / "conductor.yaml"))


def check_against_spec(response: httpx.Response) -> None:
    """Raise AssertionError when a response to a Conductor path is not what the spec documents."""
    response.read()
    request = response.request
    path = request.url.path
    if not path.startswith("/api/"):
        return
    mock_request = MockRequest(f"{request.url.scheme}://{request.url.netloc.decode()}", request.method.lower(), path)
    mock_response = MockResponse(response.content, status_code=response.status_code,
                                 content_type=response.headers.get("content-type"))
    try:
        SPEC.validate_response(mock_request, mock_response)
    except (PathNotFound, OperationNotFound):
        if response.status_code not in (404, 405):  # only unknown routes may fall outside the spec
            raise AssertionError(f"{request.method} {path} answered {response.status_code} outside the spec") from None
    except Exception as exc:
        raise AssertionError(f"{request.method} {path} -> {response.status_code} {response.text[:300]!r} "
                             f"does not match openapi/conductor.yaml: {exc!r}") from exc


def checked_client(base_url: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, timeout=10, event_hooks={"response": [check_against_spec]})
