"""The dashboard's database reads: one page of jobs and what its rows need, in a fixed
number of indexed queries per page (never one per row)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from horn.schemas.api import JobStatus
from horn.schemas.events import BATCH_END, EPOCH_BEGIN, EPOCH_END, JOB_END, STATUS
from horn.server.store.tables import EventRow, JobRow, MetricRow, ModelRow, utcnow

EPOCH_EVENTS = (EPOCH_BEGIN, EPOCH_END)
LOG_EVENT_LIMIT = 300


def page_of_jobs(session: Session, *, owner: str | None, status: str | None, limit: int,
                 offset: int) -> tuple[Sequence[JobRow], int]:
    """A page of jobs, newest first, and how many match in all.

    Served by the indexes `(owner, created_at)` and `(status, created_at)`.
    """
    query = select(JobRow)
    counted = select(func.count()).select_from(JobRow)
    if owner is not None:
        query = query.where(JobRow.owner == owner)
        counted = counted.where(JobRow.owner == owner)
    if status is not None:
        query = query.where(JobRow.status == status)
        counted = counted.where(JobRow.status == status)
    count = int(session.scalar(counted) or 0)
    rows = session.scalars(
        query.order_by(JobRow.created_at.desc(), JobRow.id.desc()).limit(limit).offset(offset)
    ).all()
    return rows, count


def model_names(session: Session, model_ids: set[str]) -> dict[str, str]:
    """Names of these models."""
    if not model_ids:
        return {}
    return {mid: name for mid, name in session.execute(
        select(ModelRow.id, ModelRow.name).where(ModelRow.id.in_(model_ids)))}


def latest_epoch_events(session: Session, job_ids: list[str]) -> dict[str, tuple[str, int]]:
    """Each job's newest `epoch_begin`/`epoch_end` event, as (type, epoch)."""
    if not job_ids:
        return {}
    newest = (select(func.max(EventRow.id).label("id"))
              .where(EventRow.job_id.in_(job_ids), EventRow.type.in_(EPOCH_EVENTS))
              .group_by(EventRow.job_id).subquery())
    found: dict[str, tuple[str, int]] = {}
    for job_id, type_, data in session.execute(
            select(EventRow.job_id, EventRow.type, EventRow.data)
            .join(newest, EventRow.id == newest.c.id)):
        epoch = data.get("epoch") if isinstance(data, dict) else None
        if isinstance(epoch, int):
            found[job_id] = (type_, epoch)
    return found


def latest_metrics(session: Session, job_ids: list[str]) -> dict[str, dict[str, float]]:
    """Each job's metrics of its newest recorded epoch."""
    if not job_ids:
        return {}
    last = (select(MetricRow.job_id, func.max(MetricRow.epoch).label("epoch"))
            .where(MetricRow.job_id.in_(job_ids)).group_by(MetricRow.job_id).subquery())
    found: dict[str, dict[str, float]] = {}
    for job_id, name, value in session.execute(
            select(MetricRow.job_id, MetricRow.name, MetricRow.value)
            .join(last, (MetricRow.job_id == last.c.job_id) & (MetricRow.epoch == last.c.epoch))
            .order_by(MetricRow.id)):
        found.setdefault(job_id, {})[name] = value
    return found


def status_counts(session: Session, owner: str | None) -> dict[str, int]:
    """Jobs by status (of `owner`, or of everyone)."""
    query = select(JobRow.status, func.count()).group_by(JobRow.status)
    if owner is not None:
        query = query.where(JobRow.owner == owner)
    counts = {status.value: 0 for status in JobStatus}
    for status, n in session.execute(query):
        counts[str(status)] = int(n)
    return counts


def finished_since(session: Session, owner: str | None, since: datetime) -> dict[str, int]:
    """Jobs that succeeded or failed since `since`, by status."""
    query = (select(JobRow.status, func.count())
             .where(JobRow.status.in_([JobStatus.SUCCEEDED.value, JobStatus.FAILED.value]),
                    JobRow.finished_at >= since)
             .group_by(JobRow.status))
    if owner is not None:
        query = query.where(JobRow.owner == owner)
    return {str(status): int(n) for status, n in session.execute(query)}


def known_queues(session: Session) -> list[str]:
    """Every named queue some job was sent to."""
    return sorted(str(q) for q in session.scalars(select(JobRow.queue).distinct()) if q)


def running_jobs(session: Session, limit: int = 1000) -> Sequence[Any]:
    """(id, owner, worker, queue, lease_expires_at) of running jobs."""
    return session.execute(
        select(JobRow.id, JobRow.owner, JobRow.worker, JobRow.queue, JobRow.lease_expires_at)
        .where(JobRow.status == JobStatus.RUNNING.value).limit(limit)).all()


def recent_workers(session: Session, window: timedelta) -> dict[str, datetime]:
    """Workers that finished a job within `window`, with when they last did."""
    since = utcnow() - window
    return {str(worker): when for worker, when in session.execute(
        select(JobRow.worker, func.max(JobRow.finished_at))
        .where(JobRow.finished_at >= since, JobRow.worker.is_not(None))
        .group_by(JobRow.worker)) if worker and when}


def job_metrics(session: Session, job_id: str) -> Sequence[MetricRow]:
    """All metric rows of a job, by epoch."""
    return session.scalars(select(MetricRow).where(MetricRow.job_id == job_id)
                           .order_by(MetricRow.epoch, MetricRow.id)).all()


def log_events(session: Session, job_id: str, limit: int = LOG_EVENT_LIMIT
               ) -> tuple[list[EventRow], bool]:
    """The job's newest events except per-batch progress, oldest first, and whether
    older ones were left out."""
    rows = list(session.scalars(
        select(EventRow).where(EventRow.job_id == job_id, EventRow.type != BATCH_END)
        .order_by(EventRow.id.desc()).limit(limit + 1)))
    truncated = len(rows) > limit
    return list(reversed(rows[:limit])), truncated


def status_events(session: Session, job_id: str) -> Sequence[EventRow]:
    """The job's `status` and `job_end` events, oldest first (its attempts)."""
    return session.scalars(
        select(EventRow).where(EventRow.job_id == job_id,
                               EventRow.type.in_((STATUS, JOB_END)))
        .order_by(EventRow.id)).all()
