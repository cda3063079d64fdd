"""`jobs.job_outcome`: what the worker's metrics count a job as, read through the store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from horn.schemas.api import JobStatus
from horn.server.store import jobs, models
from horn.server.store.db import make_engine, transaction
from horn.server.store.migrate import upgrade


def test_outcome_of_a_job_as_its_worker_ran_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'horn.db'}"
    upgrade(url)
    engine = make_engine(url)
    with transaction(engine) as session:
        model = models.create_model(session, "local", "m", {"class_name": "Sequential"})
        job_id = jobs.create_job(session, owner="local", model_id=model.id, kind="evaluate",
                                 queue="q", compile_config={}, compile_id=None, args={},
                                 data={}, idempotency_key=None).id
        assert jobs.job_outcome(session, "no-such-job", "w1") is None
    with transaction(engine) as session:
        assert jobs.claim_job(session, job_id, "w1", timedelta(seconds=30))
        assert jobs.job_outcome(session, job_id, "w1") == ("evaluate", "unfinished")
        assert jobs.job_outcome(session, job_id, "w2") is None  # a duplicate delivery
        assert jobs.finish_job(session, job_id, "w1", JobStatus.FAILED)
    with transaction(engine) as session:
        assert jobs.job_outcome(session, job_id, "w1") == ("evaluate", "failed")
    engine.dispose()
