"""The job ledger: creation, claims, state changes, events and metrics.

Every state change is one conditional UPDATE, so two actors (two deliveries of the
same task, a worker and a canceller) can never both win.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from schemas.api import JobStatus
from server.store.models import new_id
from server.store.tables import EventRow, JobRow, MetricRow, utcnow


def create_job(session: Session, *, owner: str, model_id: str, kind: str, queue: str,
               compile_config: dict | None, compile_id: str | None, args: dict,
               data: dict, idempotency_key: str | None) -> JobRow:
    """Write a new job row, `queued`."""
    row = JobRow(id=new_id(), owner=owner, model_id=model_id, kind=kind,
                 status=JobStatus.QUEUED.value, queue=queue, compile_config=compile_config,
                 compile_id=compile_id, args=args, data=data,
                 idempotency_key=idempotency_key, attempt=0)
    session.add(row)
    session.flush()
    add_event(session, row.id, "status", {"status": "queued"})
    return row


def find_by_idempotency_key(session: Session, owner: str, key: str) -> JobRow | None:
    """The job an earlier request with the same key created, if any."""
    return session.scalars(
        select(JobRow).where(JobRow.owner == owner, JobRow.idempotency_key == key)
    ).first()


def get_job(session: Session, job_id: str, owner: str | None = None) -> JobRow | None:
    """The job, if it exists and (when `owner` is given) belongs to `owner`."""
    row = session.get(JobRow, job_id)
    if row is None or (owner is not None and row.owner != owner):
        return None
    return row


def list_jobs(session: Session, *, owner: str | None, status: str | None, limit: int,
              offset: int) -> tuple[Sequence[JobRow], int]:
    """A page of jobs, newest first, and the count of all that match."""
    query = select(JobRow)
    if owner is not None:
        query = query.where(JobRow.owner == owner)
    if status is not None:
        query = query.where(JobRow.status == status)
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(JobRow.created_at.desc(), JobRow.id.desc()).limit(limit).offset(offset)
    ).all()
    return rows, count


def claim_job(session: Session, job_id: str, worker: str, lease: timedelta) -> bool:
    """Move a queued job to running for `worker`; False if someone else has it."""
    now = utcnow()
    result = session.execute(
        update(JobRow)
        .where(JobRow.id == job_id, JobRow.status == JobStatus.QUEUED.value)
        .values(status=JobStatus.RUNNING.value, worker=worker, attempt=JobRow.attempt + 1,
                lease_expires_at=now + lease, started_at=now)
    )
    claimed = result.rowcount == 1  # type: ignore[attr-defined]
    if claimed:
        add_event(session, job_id, "status", {"status": "running", "worker": worker})
    return claimed


def renew_lease(session: Session, job_id: str, worker: str, lease: timedelta) -> bool:
    """Extend the lease of a running job held by `worker`."""
    result = session.execute(
        update(JobRow)
        .where(JobRow.id == job_id, JobRow.worker == worker,
               JobRow.status == JobStatus.RUNNING.value)
        .values(lease_expires_at=utcnow() + lease)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def finish_job(session: Session, job_id: str, worker: str, status: JobStatus, *,
               result: dict | None = None, error: dict | None = None,
               weights_version_out: int | None = None) -> bool:
    """Move a running job held by `worker` to a terminal status."""
    done = session.execute(
        update(JobRow)
        .where(JobRow.id == job_id, JobRow.worker == worker,
               JobRow.status == JobStatus.RUNNING.value)
        .values(status=status.value, result=result, error=error, finished_at=utcnow(),
                lease_expires_at=None, weights_version_out=weights_version_out)
    )
    finished = done.rowcount == 1  # type: ignore[attr-defined]
    if finished:
        add_event(session, job_id, "job_end",
                  {"status": status.value, "result": result, "error": error})
    return finished


def set_weights_version_in(session: Session, job_id: str, version: int | None) -> None:
    """Record which weights version a job started from."""
    session.execute(update(JobRow).where(JobRow.id == job_id)
                    .values(weights_version_in=version))


def add_event(session: Session, job_id: str, type_: str, data: dict[str, Any]) -> None:
    """Append an event to the job's log."""
    session.add(EventRow(job_id=job_id, type=type_, data=data))


def events_after(session: Session, job_id: str, after_id: int, limit: int = 500
                 ) -> Sequence[EventRow]:
    """The job's events with id greater than `after_id`, oldest first."""
    return session.scalars(
        select(EventRow).where(EventRow.job_id == job_id, EventRow.id > after_id)
        .order_by(EventRow.id).limit(limit)
    ).all()


def add_epoch_metrics(session: Session, job_id: str, epoch: int,
                      logs: dict[str, float], step: int | None, when: datetime) -> None:
    """Store the metrics of one finished epoch (replacing a repeated epoch's values)."""
    names = list(logs)
    if names:
        session.query(MetricRow).filter(
            MetricRow.job_id == job_id, MetricRow.epoch == epoch, MetricRow.name.in_(names)
        ).delete(synchronize_session=False)
    session.add_all(
        MetricRow(job_id=job_id, epoch=epoch, step=step, name=name, value=value, time=when)
        for name, value in logs.items() if isinstance(value, (int, float))
    )


def job_metrics(session: Session, job_id: str) -> Sequence[MetricRow]:
    """All metrics of a job, by epoch then name."""
    return session.scalars(
        select(MetricRow).where(MetricRow.job_id == job_id)
        .order_by(MetricRow.epoch, MetricRow.name)
    ).all()
