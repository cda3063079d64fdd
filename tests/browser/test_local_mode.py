"""The dashboard without authentication (`HORN_AUTH=none`, the embedded mode), its
session signing and its secret key, in process (no browser, no worker)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from horn.server.dashboard.auth import SessionData, read_session, sign_session
from horn.server.dashboard.workers import device_of
from horn.server.main import create_app
from horn.server.store import jobs as job_store
from horn.server.store.db import make_engine, transaction
from horn.server.store.migrate import upgrade
from horn.server.store.models import create_model
from horn.server.store.tables import LOCAL_USER, User
from horn.settings import ServerSettings as Settings


@pytest.fixture()
def local(tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    """An auth-less app on SQLite with one queued job of the local user."""
    settings = Settings(data_dir=tmp_path, auth="none")
    upgrade(settings.resolved_database_url())
    engine = make_engine(settings.resolved_database_url())
    with transaction(engine) as session:
        if session.get(User, LOCAL_USER) is None:
            session.add(User(name=LOCAL_USER, is_admin=False))
            session.flush()
        model = create_model(session, LOCAL_USER, "mlp", {"class_name": "Sequential",
                                                          "config": {"layers": []}})
        job = job_store.create_job(session, owner=LOCAL_USER, model_id=model.id, kind="fit",
                                   queue="horn", compile_config={}, compile_id=None,
                                   args={"epochs": 3}, data={"x": "0" * 64},
                                   idempotency_key=None)
        job_id = job.id
    engine.dispose()
    with TestClient(create_app(settings)) as client:
        yield client, job_id


def test_pages_work_without_login_as_the_local_user(local: tuple[TestClient, str]) -> None:
    client, job_id = local
    page = client.get("/dashboard")
    assert page.status_code == 200 and job_id in page.text
    assert 'data-user="local"' in page.text
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert client.get("/dashboard/login", follow_redirects=False).status_code == 303
    body = client.get("/v1/dashboard/jobs").json()
    assert body["count"] == 1 and body["data"][0]["progress"]["label"] == "epoch 0/3"
    assert client.get(f"/dashboard/jobs/{job_id}").status_code == 200
    assert client.get("/v1/dashboard/summary").json()["counts"]["queued"] == 1


def test_cancel_needs_the_csrf_token_even_without_auth(local: tuple[TestClient, str]) -> None:
    client, job_id = local
    page = client.get(f"/dashboard/jobs/{job_id}").text
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    refused = client.post(f"/dashboard/jobs/{job_id}/cancel", data={"csrf_token": "x"})
    assert refused.status_code == 403
    assert client.get(f"/v1/jobs/{job_id}").json()["status"] == "queued"
    done = client.post(f"/dashboard/jobs/{job_id}/cancel", data={"csrf_token": token},
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].endswith("notice=cancelled")
    assert client.get(f"/v1/jobs/{job_id}").json()["status"] == "cancelled"


def test_sessions_are_signed_and_expire() -> None:
    data = SessionData(user="alice", csrf="t", expires=2_000_000_000)
    value = sign_session(data, "k" * 32)
    assert read_session(value, "k" * 32) == data
    assert read_session(value, "j" * 32) is None  # another key
    payload, mac = value.split(".")
    assert read_session(payload[:-2] + "xx." + mac, "k" * 32) is None  # tampered
    assert read_session(value, "k" * 32, now=2_000_000_001) is None  # expired
    assert read_session("garbage", "k" * 32) is None


def test_placeholder_secret_refused_outside_development(tmp_path: Path) -> None:
    for secret in ("", "changeme", "change-me-please", "short"):
        with pytest.raises(ValueError, match="HORN_SECRET_KEY"):
            Settings(data_dir=tmp_path, environment="production",
                     secret_key=secret).resolved_secret_key()
    strong = "s3cr3t-" + "x" * 40
    assert Settings(environment="production", secret_key=strong).resolved_secret_key() \
        == strong
    dev = Settings(data_dir=tmp_path).resolved_secret_key()  # kept across restarts
    assert len(dev) >= 32 and Settings(data_dir=tmp_path).resolved_secret_key() == dev


def test_device_from_node_name() -> None:
    assert device_of("horn-gpu0@host") == "GPU 0"
    assert device_of("horn@host").startswith("CPU")
    assert device_of(None) == "unknown"
