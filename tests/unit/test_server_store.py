"""The server's store on a real (SQLite) database: migrations, the schema check, the
ledger's conditional updates, and the blob store's upload checks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine

from horn.schemas import npy
from horn.schemas.api import JobStatus
from horn.schemas.contenthash import blob_id as blob_id_of
from horn.server.store import jobs, models
from horn.server.store.blobs import BlobError, BlobTooLarge, LocalBlobStore
from horn.server.store.db import make_engine, transaction
from horn.server.store.migrate import SchemaOutOfDate, check_schema, upgrade


@pytest.fixture()
def engine(tmp_path: Path) -> Engine:
    url = f"sqlite:///{tmp_path / 'horn.db'}"
    upgrade(url)
    return make_engine(url)


def test_empty_database_is_refused_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(SchemaOutOfDate, match="horn db upgrade"):
        check_schema(make_engine(f"sqlite:///{tmp_path / 'empty.db'}"))


def test_upgraded_database_passes(engine: Engine) -> None:
    check_schema(engine)


def _job(engine: Engine) -> str:
    with transaction(engine) as session:
        model = models.create_model(session, "local", "m", {"class_name": "Sequential"})
        job = jobs.create_job(session, owner="local", model_id=model.id, kind="fit",
                              queue="q", compile_config={}, compile_id=None, args={},
                              data={}, idempotency_key="key-1")
        return job.id


def test_claim_is_won_once(engine: Engine) -> None:
    job_id = _job(engine)
    lease = timedelta(seconds=30)
    with transaction(engine) as session:
        assert jobs.claim_job(session, job_id, "w1", lease)
    with transaction(engine) as session:
        assert not jobs.claim_job(session, job_id, "w2", lease)
        row = jobs.get_job(session, job_id)
        assert row is not None and row.status == "running" and row.worker == "w1"
        assert row.attempt == 1
    with transaction(engine) as session:
        assert not jobs.finish_job(session, job_id, "w2", JobStatus.SUCCEEDED)
        assert jobs.finish_job(session, job_id, "w1", JobStatus.SUCCEEDED, result={"a": 1})
    with transaction(engine) as session:
        types = [e.type for e in jobs.events_after(session, job_id, 0)]
        assert types == ["status", "status", "job_end"]


def test_idempotency_key_finds_the_job(engine: Engine) -> None:
    job_id = _job(engine)
    with transaction(engine) as session:
        found = jobs.find_by_idempotency_key(session, "local", "key-1")
        assert found is not None and found.id == job_id
        assert jobs.find_by_idempotency_key(session, "someone-else", "key-1") is None


def test_repeated_epoch_metrics_are_replaced(engine: Engine) -> None:
    job_id = _job(engine)
    from horn.server.store.tables import utcnow

    with transaction(engine) as session:
        jobs.add_epoch_metrics(session, job_id, 0, {"loss": 1.0}, 10, utcnow())
    with transaction(engine) as session:
        jobs.add_epoch_metrics(session, job_id, 0, {"loss": 0.9}, 10, utcnow())
        jobs.add_epoch_metrics(session, job_id, 1, {"loss": 0.5}, 10, utcnow())
    with transaction(engine) as session:
        values = [(m.epoch, m.value) for m in jobs.job_metrics(session, job_id)]
    assert values == [(0, 0.9), (1, 0.5)]


def test_weights_versions_increase(engine: Engine) -> None:
    job_id = _job(engine)
    with transaction(engine) as session:
        model_id = jobs.get_job(session, job_id).model_id  # type: ignore[union-attr]
        assert models.add_weights(session, model_id, b"one", job_id, None) == 1
        assert models.add_weights(session, model_id, b"two", job_id, None) == 2
    with transaction(engine) as session:
        newest = models.get_weights(session, model_id)
        assert newest is not None and newest.data == b"two"
        assert models.get_model(session, model_id).weights_version == 2  # type: ignore[union-attr]
        assert models.get_model(session, model_id, owner="other") is None


async def _chunks(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


def test_blob_store_accepts_only_what_it_was_promised(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    data = npy.to_npy_bytes(np.arange(6, dtype="int16"))
    blob_id = blob_id_of(data)
    size, header = asyncio.run(store.receive(blob_id, _chunks(data), max_bytes=10_000))
    assert size == len(data) and header.shape == (6,) and store.exists(blob_id)
    other = npy.to_npy_bytes(np.arange(7, dtype="int16"))
    with pytest.raises(BlobError, match="hash"):
        asyncio.run(store.receive("0" * 64, _chunks(other), max_bytes=10_000))
    with pytest.raises(BlobTooLarge, match="HORN_MAX_UPLOAD_BYTES"):
        asyncio.run(store.receive(blob_id, _chunks(data), max_bytes=10))
    with pytest.raises(BlobError, match="64 lowercase hex"):
        store.path("../../etc/passwd")
    leftovers = [p for p in (tmp_path / "blobs").rglob(".upload-*")]
    assert leftovers == []


def test_a_job_read_as_its_view_columns_shows_as_the_row_does() -> None:
    from datetime import UTC, datetime

    from horn.server.api.routes.jobs import to_public
    from horn.server.store.loopreads import JOB_VIEW_COLUMNS
    from horn.server.store.tables import JobRow

    when = datetime(2026, 11, 30, 1, 2, 3, tzinfo=UTC)
    row = JobRow(id="a" * 32, owner="alice", model_id="b" * 32, kind="fit",
                 status="failed", queue="horn", priority="normal", cancel_requested=False,
                 stop_requested=False, time_limit=60, args={"epochs": 2},
                 data={"x": {"blob": "c" * 64}}, compile_config={"loss": "mse"},
                 result={"history": {"loss": [1.0]}},
                 error={"type": "ValueError", "bases": ["ValueError"], "message": "bad"},
                 attempt=1, max_attempts=3, worker="w1", weights_version_in=None,
                 weights_version_out=2, created_at=when, started_at=when, finished_at=when)
    columns = {name: getattr(row, name) for name in JOB_VIEW_COLUMNS}
    assert "data" not in columns and "compile_config" not in columns
    assert to_public(columns) == to_public(row)
    row.error = None
    assert to_public({**columns, "error": None}) == to_public(row)
