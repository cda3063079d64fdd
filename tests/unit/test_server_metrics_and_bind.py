"""`GET /metrics` on the server, and the explicit opt-out of the loopback-only rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from horn.cli import server as cli
from horn.server.main import create_app
from horn.server.store.migrate import upgrade
from horn.settings import ServerSettings as Settings
from horn.settings import get_server_settings as get_settings


def _sample(text: str, name: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{") and \
                line.split(" ")[0] == name:
            return float(line.rsplit(" ", 1)[1])
    return None


def test_metrics_count_requests_by_route_and_jobs_by_state(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'horn.db'}"
    upgrade(url)
    app = create_app(Settings(data_dir=tmp_path, database_url=url))
    client = TestClient(app)
    assert client.get("/healthz").status_code == 200
    assert client.get("/v1/jobs/nope").status_code == 404
    text = client.get("/metrics").text
    assert 'horn_http_requests_total{method="GET",route="/healthz",status="200"} 1.0' in text
    assert any(line.startswith('horn_http_requests_total{method="GET",route="/v1/jobs/{')
               and 'status="404"' in line for line in text.splitlines())
    assert 'horn_http_request_duration_seconds_bucket{le="+Inf",method="GET",' \
           'route="/healthz"} 1.0' in text
    assert 'horn_jobs{status="queued"} 0.0' in text
    assert 'horn_jobs{status="succeeded"} 0.0' in text
    assert 'horn_queue_depth{queue="horn"} 0.0' in text
    assert _sample(text, "horn_database_up") == 1.0 and _sample(text, "horn_broker_up") == 1.0


def test_public_bind_needs_the_explicit_opt_out(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("HORN_ALLOW_UNAUTHENTICATED_BIND", raising=False)
    get_settings.cache_clear()
    try:
        cli._check_bind("127.0.0.1")
        with pytest.raises(SystemExit, match="HORN_ALLOW_UNAUTHENTICATED_BIND=1"):
            cli._check_bind("0.0.0.0")
        monkeypatch.setenv("HORN_ALLOW_UNAUTHENTICATED_BIND", "1")
        get_settings.cache_clear()
        cli._check_bind("0.0.0.0")
        assert "without authentication" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()
