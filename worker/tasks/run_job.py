"""The one task, `horn.run_job`: claim a job by id, run it, record the outcome.

Keras is imported lazily (inside the child process, which imported it once at start):
`horn.worker.tasks.execute` runs the job's kind.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import traceback
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.exc import DBAPIError

from horn.schemas.api import JobKind, JobStatus
from horn.schemas.names import RUN_JOB_TASK
from horn.server.store import jobs as store
from horn.server.store.db import get_engine, is_outage, transaction
from horn.settings import get_worker_settings
from horn.worker.events import EventSink, LeaseLost, retry_db
from horn.worker.heartbeat import Heartbeat
from horn.worker.tasks.outcome import Outcome, describe_error, refused_write_error, timeout_error

log = logging.getLogger(__name__)


def worker_name() -> str:
    """How this worker child is named in the ledger."""
    return f"{socket.gethostname()}:{os.getpid()}"


@shared_task(name=RUN_JOB_TASK, bind=True, acks_late=True)
def run_job(self: Any, job_id: str) -> None:
    """Run the job `job_id` if it is still queued; a duplicate delivery does nothing."""
    settings = get_worker_settings()
    engine = get_engine(settings.resolved_database_url())
    worker = worker_name()
    lease = timedelta(seconds=settings.lease_seconds)
    with transaction(engine) as session:
        if not store.claim_job(session, job_id, worker, lease):
            log.info("job %s: already claimed or finished, nothing to do", job_id)
            return
        job = store.get_job(session, job_id)
        assert job is not None
        kind, time_limit = JobKind(job.kind), job.time_limit
    sink = EventSink(engine, job_id, worker, settings.lease_seconds,
                     notify=_notifier(settings.resolved_broker_url()))
    heartbeat = Heartbeat(sink, settings.heartbeat_interval,
                          renew_every=max(1.0, settings.lease_seconds / 4),
                          time_limit=time_limit)
    with heartbeat:
        try:
            from horn.worker.tasks import execute  # imports Keras: in the child only

            outcome = execute.run(engine, settings, job_id, sink, heartbeat)
        except LeaseLost:
            log.warning("job %s: another worker holds it now; this attempt stops", job_id)
            return
        except DBAPIError as exc:
            if is_outage(exc):
                # Our own database, unreachable past the retries of a write the job
                # needed (e.g. its final weights): not the job's fault. Nothing can be
                # recorded now; the lease expires and the reaper re-queues the job,
                # which resumes from its last checkpoint.
                log.error("job %s: database unreachable (%s); leaving the job to the "
                          "reaper", job_id, str(exc).splitlines()[0])
                return
            log.error("job %s: the database refused a write", job_id, exc_info=exc)
            outcome = Outcome(JobStatus.FAILED, error=describe_error(
                refused_write_error(exc)))
        except SoftTimeLimitExceeded:
            outcome = Outcome(JobStatus.FAILED, error=timeout_error(
                time_limit))
        except Exception as exc:
            log.warning("job %s (%s) failed: %s", job_id, kind.value, exc)
            log.debug("%s", traceback.format_exc())
            outcome = Outcome(JobStatus.FAILED, error=describe_error(exc))
    _record(engine, sink, job_id, worker, outcome, settings.lease_seconds)
    from horn.worker import memory

    memory.collect_garbage()


@functools.cache
def _notifier(broker_url: str) -> Callable[[str], None] | None:
    """Publishes event notices where the broker is Redis (one client per process)."""
    from horn.server.store.relay import EventNotifier, uses_redis

    return EventNotifier(broker_url).notify if uses_redis(broker_url) else None


def _record(engine: Any, sink: EventSink, job_id: str, worker: str, outcome: Outcome,
            patience: float) -> None:
    """Write the attempt's outcome, waiting out a short database outage. If the
    database stays away, the lease expires and the reaper re-queues the job, which
    then resumes from its last checkpoint."""
    try:
        if not sink.flush_until(patience):
            log.error("job %s: database unreachable; leaving the job to the reaper", job_id)
            return
    except LeaseLost:
        return

    def finish() -> bool:
        with transaction(engine) as session:
            return store.finish_job(session, job_id, worker, outcome.status,
                                    result=outcome.result, error=outcome.error,
                                    weights_version_out=outcome.weights_version)

    try:
        if not retry_db(finish, patience):
            log.warning("job %s: no longer ours when finishing; outcome dropped", job_id)
            return
    except DBAPIError as exc:
        if not is_outage(exc):
            raise
        log.error("job %s: database unreachable; leaving the job to the reaper", job_id)
        return
    sink.announce()  # `job_end` is written: wake the caller's stream
