"""Settings: the same `HORN_*` variables as before the split, no side effects, and the
`postgresql://` URLs every PostgreSQL tool prints."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import horn
from horn.server.store.db import DatabaseURLError, check_database_url, make_engine
from horn.settings import (
    BrokerSettings,
    ServerSettings,
    StoreSettings,
    WorkerSettings,
    normalize_database_url,
)

ROOT = Path(__file__).resolve().parents[2]

# Every setting an operator could set before the split (one `Settings` of 51 fields).
_DOCUMENTED = """
DATA_DIR DATABASE_URL BROKER_URL BLOB_DIR BLOB_URL S3_ENDPOINT_URL QUEUE ENVIRONMENT HOST
PORT ALLOW_UNAUTHENTICATED_BIND AUTH LEASE_SECONDS PROGRESS_INTERVAL MAX_JOBS_PER_CHILD
MAX_MEMORY_PER_CHILD_MB MODEL_CACHE MODEL_CACHE_SIZE MODEL_CACHE_MB DATA_CACHE_MB
DATA_AUTOTUNE MAX_INLINE_OUTPUT_BYTES JOB_SOFT_TIME_LIMIT JOB_TIME_LIMIT WORKER_GPUS
MIXED_PRECISION DISTRIBUTE WORKER_METRICS_PORT WORKER_METRICS_HOST LOG_FORMAT
REAPER_INTERVAL RESEND_GRACE RESEND_BLIND_AFTER HEARTBEAT_INTERVAL MAX_UPLOAD_BYTES
MAX_IMPORT_BYTES MAX_UNPACKED_BYTES MAX_COMPRESSION_RATIO MAX_ARRAYS_PER_JOB
MAX_MODEL_PARAMS MAX_MODEL_MEMORY_BYTES MAX_TOTAL_STEPS MAX_TIME_LIMIT
MAX_QUEUED_JOBS_PER_USER MAX_RUNNING_JOBS_PER_USER RATE_LIMIT_PER_SECOND RATE_LIMIT_BURST
SERVER_WORKERS SERVER_THREADS EVENT_POLL_INTERVAL SECRET_KEY
"""
DOCUMENTED = _DOCUMENTED.split()


def test_every_documented_variable_is_still_read() -> None:
    assert len(DOCUMENTED) == 51
    read = set(ServerSettings.model_fields) | set(WorkerSettings.model_fields)
    assert {f"HORN_{name}" for name in DOCUMENTED} == {f"HORN_{f.upper()}" for f in read}


def test_server_and_worker_read_the_shared_variables_alike(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HORN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HORN_QUEUE", "gpu")
    monkeypatch.setenv("HORN_LEASE_SECONDS", "30")
    monkeypatch.setenv("HORN_MAX_TOTAL_STEPS", "7")
    monkeypatch.setenv("HORN_MODEL_CACHE_MB", "3")
    server, worker = ServerSettings(), WorkerSettings()
    for settings in (server, worker):
        assert settings.data_dir == tmp_path and settings.queue == "gpu"
        assert settings.lease_seconds == 30
        assert settings.resolved_database_url() == f"sqlite:///{tmp_path / 'horn.db'}"
    assert server.max_total_steps == 7 and worker.model_cache_mb == 3


def test_building_settings_makes_no_directory(tmp_path: Path) -> None:
    data_dir = tmp_path / "not-yet"
    for cls in (StoreSettings, BrokerSettings, ServerSettings, WorkerSettings):
        settings = cls(data_dir=data_dir)
        if isinstance(settings, StoreSettings):
            settings.resolved_database_url()
            settings.resolved_blob_dir()
        if isinstance(settings, BrokerSettings):
            options = settings.broker_transport_options()
            assert options["data_folder_in"] == str(data_dir / "broker" / "queue")
    assert not data_dir.exists()
    BrokerSettings(data_dir=data_dir).make_broker_folders()
    assert sorted(p.name for p in (data_dir / "broker").iterdir()) == [
        "control", "processed", "queue"]


def test_redis_broker_makes_no_folder(tmp_path: Path) -> None:
    settings = BrokerSettings(data_dir=tmp_path / "d", broker_url="redis://localhost:6379/0")
    settings.make_broker_folders()
    assert not (tmp_path / "d").exists()
    assert settings.broker_transport_options()["visibility_timeout"] > settings.job_time_limit


@pytest.mark.parametrize("url", ["postgresql://horn@db.example:5432/horn",
                                 "postgres://horn:pw@db.example/horn"])
def test_a_postgresql_url_means_psycopg_3(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HORN_DATABASE_URL", url)
    resolved = StoreSettings().resolved_database_url()
    assert resolved == "postgresql+psycopg://" + url.split("://", 1)[1]
    engine = make_engine(resolved)  # no connection yet: only the driver is loaded
    assert engine.dialect.driver == "psycopg"
    engine.dispose()


def test_urls_naming_their_driver_are_kept() -> None:
    for url in ("postgresql+psycopg://h/db", "postgresql+psycopg2://h/db", "sqlite:///x.db",
                "mysql://h/db"):
        assert normalize_database_url(url) == url


def test_a_driver_not_installed_is_named_with_the_setting() -> None:
    pytest.importorskip("sqlalchemy")
    try:
        import psycopg2  # noqa: F401
        pytest.skip("psycopg2 is installed here")
    except ModuleNotFoundError:
        pass
    with pytest.raises(DatabaseURLError) as info:
        check_database_url("postgresql+psycopg2://horn@db/horn")
    message = str(info.value)
    assert "HORN_DATABASE_URL" in message and "psycopg2" in message
    assert "postgresql://" in message  # what to write instead
    with pytest.raises(DatabaseURLError, match="HORN_DATABASE_URL.*unknown database"):
        make_engine("nosuchdb://h/db")


def test_an_unreadable_url_is_shown_without_its_password() -> None:
    with pytest.raises(DatabaseURLError) as info:
        check_database_url("not a url:s3cret@db-host")
    message = str(info.value)
    assert "HORN_DATABASE_URL is not a database URL" in message
    assert "Received: '***@db-host'" in message and "s3cret" not in message


def test_the_worker_app_reads_settings_without_the_server() -> None:
    code = ("import sys, horn.worker.app; "
            "bad = sorted(m for m in sys.modules if m.startswith(('horn.server.core', "
            "'horn.server.api', 'horn.server.main', 'fastapi', 'starlette'))); "
            "print(bad); raise SystemExit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


def test_env_example_names_this_version() -> None:
    text = (ROOT / ".env.example").read_text()
    assert re.search(r"^HORN_VERSION=(.*)$", text, re.M)[1] == horn.__version__  # type: ignore[index]
