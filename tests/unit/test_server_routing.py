"""How the server's `/v1` routes are laid out: every route documented with the error
envelope, and a running job's requests found among the first routes tried."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from horn.server.api.main import ERROR_RESPONSES
from horn.server.main import create_app
from horn.server.store.migrate import upgrade
from horn.settings import ServerSettings as Settings


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    tmp: Path = tmp_path_factory.mktemp("routing")
    url = f"sqlite:///{tmp / 'horn.db'}"
    upgrade(url)
    return create_app(Settings(data_dir=tmp, database_url=url))


@pytest.fixture
def route_checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The path of every route FastAPI tries against a request, in order."""
    tried: list[str] = []
    original = APIRoute.matches

    def matches(self: APIRoute, scope: dict[str, object]) -> object:
        tried.append(self.path)
        return original(self, scope)

    monkeypatch.setattr(APIRoute, "matches", matches)
    yield tried


def test_every_v1_route_documents_the_error_envelope(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    v1 = {path: ops for path, ops in paths.items() if path.startswith("/v1/")
          and not path.startswith("/v1/dashboard/")}
    assert {"/v1/jobs", "/v1/jobs/{job_id}", "/v1/blobs/{blob_id}", "/v1/models",
            "/v1/me", "/v1/jobs/{job_id}/calls"} <= set(v1)
    for path, operations in v1.items():
        for method, operation in operations.items():
            documented = {str(status) for status in operation["responses"]}
            assert {str(status) for status in ERROR_RESPONSES} <= documented, (path, method)


JOB = "00000000-0000-0000-0000-000000000000"


@pytest.mark.parametrize("method, path, most", [
    ("GET", f"/v1/jobs/{JOB}", 8),  # 39 with the /v1 router of routers, jobs fifth
    ("GET", f"/v1/jobs/{JOB}/events", 16),  # 51
    ("POST", "/v1/blobs/missing", 12),  # 27
])
def test_a_running_jobs_requests_are_found_among_the_first_routes(
        app: FastAPI, route_checks: list[str], method: str, path: str, most: int) -> None:
    """A job's poll, its event stream and the upload check are the requests a server
    answers most. Each route FastAPI tries costs CPU: with 39 tries per poll, routing
    and middleware took 1.09 million instructions of a poll, 0.37 million with 8."""
    response = TestClient(app).request(method, path, json={"ids": []})
    # The route itself answered (no such job, or nothing missing), not the router.
    assert response.status_code in (200, 404)
    assert response.json().get("error", {}).get("message") != "Not Found"
    assert 0 < len(route_checks) <= most, (len(route_checks), route_checks)
