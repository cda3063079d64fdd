"""The job ledger: creation, claims, state changes, events and metrics.

Every state change is one conditional UPDATE, so two actors (two deliveries of the
same task, a worker and a canceller) can never both win.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from horn.schemas.api import JobStatus
from horn.schemas.events import CancelRequested, Event, JobEnd, Status, event_data
from horn.server.store.models import is_id, new_id
from horn.server.store.tables import CheckpointRow, EventRow, JobRow, MetricRow, utcnow


def create_job(session: Session, *, owner: str, model_id: str, kind: str, queue: str,
               compile_config: dict | None, compile_id: str | None, args: dict,
               data: dict, idempotency_key: str | None, priority: str = "normal",
               max_attempts: int = 3, time_limit: int | None = None,
               sending: bool = False) -> JobRow:
    """Write a new job row, `queued`; with `sending`, already marked as sent (the caller
    sends its task right after the commit, and calls `mark_unsent` if that fails)."""
    row = JobRow(id=new_id(), owner=owner, model_id=model_id, kind=kind,
                 status=JobStatus.QUEUED.value, queue=queue, compile_config=compile_config,
                 compile_id=compile_id, args=args, data=data,
                 idempotency_key=idempotency_key, attempt=0, priority=priority,
                 max_attempts=max_attempts, time_limit=time_limit, cancel_requested=False,
                 sent_at=utcnow() if sending else None)
    session.add(row)
    session.flush()
    add_event(session, row.id, Status(status=JobStatus.QUEUED))
    return row


def find_by_idempotency_key(session: Session, owner: str, key: str) -> JobRow | None:
    """The job an earlier request with the same key created, if any."""
    return session.scalars(
        select(JobRow).where(JobRow.owner == owner, JobRow.idempotency_key == key)
    ).first()


def get_job(session: Session, job_id: str, owner: str | None = None) -> JobRow | None:
    """The job, if it exists and (when `owner` is given) belongs to `owner`."""
    if not is_id(job_id):
        return None
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
        add_event(session, job_id, Status(status=JobStatus.RUNNING, worker=worker))
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
        add_event(session, job_id, JobEnd(status=status, result=result, error=error))
    return finished


def job_outcome(session: Session, job_id: str, worker: str) -> tuple[str, str] | None:
    """A job's kind and how it ended, as `worker` ran it.

    Returns:
        `(kind, status)` with status one of `succeeded`, `failed`, `cancelled` or
        `unfinished`; None when the job is unknown or another worker holds it (a
        duplicate delivery).
    """
    row = session.execute(select(JobRow.kind, JobRow.status, JobRow.worker)
                          .where(JobRow.id == job_id)).one_or_none()
    if row is None or row.worker != worker:
        return None
    ended = (JobStatus.SUCCEEDED.value, JobStatus.FAILED.value, JobStatus.CANCELLED.value)
    return str(row.kind), row.status if row.status in ended else "unfinished"


def set_weights_version_in(session: Session, job_id: str, version: int | None) -> None:
    """Record which weights version a job started from."""
    session.execute(update(JobRow).where(JobRow.id == job_id)
                    .values(weights_version_in=version))


def add_event(session: Session, job_id: str, event: Event) -> None:
    """Append an event to the job's log (its type, and `event_data` as its data)."""
    session.add(EventRow(job_id=job_id, type=event.type, data=event_data(event)))


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


# --- job control ------------------------------------------------------------------


def mark_sent(session: Session, job_id: str) -> None:
    """Record that the job's task was just sent to the broker."""
    session.execute(update(JobRow).where(JobRow.id == job_id).values(sent_at=utcnow()))


def mark_unsent(session: Session, job_id: str) -> None:
    """Record that the job's task never reached the broker (the reaper sends it)."""
    session.execute(update(JobRow).where(JobRow.id == job_id).values(sent_at=None))


def cancel_job(session: Session, job_id: str) -> str:
    """Cancel a job: a queued job at once, a running one by asking its worker.

    Returns:
        The job's status after the request: `cancelled` (it never ran, or had already
        been cancelled), `running` (the worker will stop within a batch), or the terminal
        status it already had (`succeeded`/`failed`), which the caller reports as a
        conflict.
    """
    now = utcnow()
    done = session.execute(
        update(JobRow).where(JobRow.id == job_id, JobRow.status == JobStatus.QUEUED.value)
        .values(status=JobStatus.CANCELLED.value, cancel_requested=True, finished_at=now)
    )
    if done.rowcount == 1:  # type: ignore[attr-defined]
        add_event(session, job_id, JobEnd(status=JobStatus.CANCELLED))
        return JobStatus.CANCELLED.value
    asked = session.execute(
        update(JobRow).where(JobRow.id == job_id, JobRow.status == JobStatus.RUNNING.value)
        .values(cancel_requested=True)
    )
    if asked.rowcount == 1:  # type: ignore[attr-defined]
        add_event(session, job_id, CancelRequested())
        return JobStatus.RUNNING.value
    row = session.get(JobRow, job_id)
    return row.status if row is not None else JobStatus.CANCELLED.value


def cancel_requested(session: Session, job_id: str) -> tuple[bool, bool]:
    """Whether someone asked to cancel the job, and to stop it after this epoch."""
    row = session.execute(select(JobRow.cancel_requested, JobRow.stop_requested)
                          .where(JobRow.id == job_id)).first()
    return (bool(row[0]), bool(row[1])) if row is not None else (True, False)


def request_stop(session: Session, job_id: str) -> bool:
    """Ask an unfinished job to stop after its current epoch and finish normally."""
    done = session.execute(
        update(JobRow).where(JobRow.id == job_id,
                             JobRow.status.in_((JobStatus.QUEUED.value,
                                                JobStatus.RUNNING.value)))
        .values(stop_requested=True))
    return done.rowcount == 1  # type: ignore[attr-defined]


def job_control(session: Session, job_id: str, worker: str) -> tuple[bool, bool, bool]:
    """What a worker's heartbeat needs: (still ours, cancel requested, stop after this
    epoch requested)."""
    row = session.execute(
        select(JobRow.worker, JobRow.status, JobRow.cancel_requested, JobRow.stop_requested)
        .where(JobRow.id == job_id)
    ).first()
    if row is None:
        return False, True, False
    ours = row.worker == worker and row.status == JobStatus.RUNNING.value
    return ours, bool(row.cancel_requested), bool(row.stop_requested)


def expired_leases(session: Session, now: datetime, limit: int = 100) -> Sequence[JobRow]:
    """Running jobs whose worker stopped renewing its lease."""
    return session.scalars(
        select(JobRow).where(JobRow.status == JobStatus.RUNNING.value,
                             JobRow.lease_expires_at < now)
        .order_by(JobRow.lease_expires_at).limit(limit)
    ).all()


def requeue_expired(session: Session, job: JobRow, now: datetime) -> str | None:
    """Put a job whose lease expired back in the queue, or fail it after its last
    attempt. Returns the new status, or None if someone else changed it first."""
    lost_worker = job.worker
    if job.cancel_requested or job.attempt >= job.max_attempts:
        status = (JobStatus.CANCELLED if job.cancel_requested else JobStatus.FAILED)
        error = None if job.cancel_requested else {
            "type": "RuntimeError", "bases": ["RuntimeError"],
            "message": f"The job's worker was lost {job.attempt} time(s) "
                       f"(the last one: {lost_worker}); it reached its maximum of "
                       f"{job.max_attempts} attempts. Its last checkpoint is kept."}
        done = session.execute(
            update(JobRow).where(JobRow.id == job.id, JobRow.status == JobStatus.RUNNING.value,
                                 JobRow.lease_expires_at < now)
            .values(status=status.value, error=error, finished_at=now, lease_expires_at=None)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            return None
        add_event(session, job.id, JobEnd(status=status, error=error))
        return status.value
    done = session.execute(
        update(JobRow).where(JobRow.id == job.id, JobRow.status == JobStatus.RUNNING.value,
                             JobRow.lease_expires_at < now)
        .values(status=JobStatus.QUEUED.value, worker=None, lease_expires_at=None,
                sent_at=None)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        return None
    add_event(session, job.id, Status(
        status=JobStatus.QUEUED, reason=f"lease of worker {lost_worker} expired; "
        f"attempt {job.attempt + 1} of {job.max_attempts} will resume from the last "
        "checkpoint"))
    return JobStatus.QUEUED.value


def stale_queued(session: Session, sent_before: datetime, limit: int = 500
                 ) -> Sequence[JobRow]:
    """Queued jobs whose task was last sent (or, never sent, that were created) before
    `sent_before`: younger ones may still be on their way to the broker."""
    return session.scalars(
        select(JobRow).where(JobRow.status == JobStatus.QUEUED.value,
                             func.coalesce(JobRow.sent_at, JobRow.created_at) < sent_before)
        .order_by(JobRow.created_at).limit(limit)
    ).all()


def save_checkpoint(session: Session, job_id: str, attempt: int, epoch: int,
                    history: dict[str, Any], data: bytes) -> None:
    """Store the end-of-epoch state (call in the transaction that checked the lease).

    One upsert: the previous checkpoint (megabytes) is replaced without being read.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = {"job_id": job_id, "epoch": epoch, "attempt": attempt, "history": history,
              "data": data, "created_at": utcnow()}
    statement = insert(CheckpointRow).values(**values)
    session.execute(statement.on_conflict_do_update(
        index_elements=[CheckpointRow.job_id],
        set_={k: statement.excluded[k] for k in values if k != "job_id"}))
    loaded = session.identity_map.get(identity_key(CheckpointRow, job_id))
    if loaded is not None:  # loaded earlier in this session: stale now
        session.expire(loaded)


def get_checkpoint(session: Session, job_id: str) -> CheckpointRow | None:
    """The job's newest checkpoint, if any."""
    return session.get(CheckpointRow, job_id)
