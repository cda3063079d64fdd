"""The one task: claim a job by id, run it, record the outcome.

Keras is imported lazily (inside the child process, which imported it once at start).
"""

from __future__ import annotations

import logging
import os
import socket
import traceback
from datetime import timedelta
from typing import Any

from celery import shared_task

from schemas.api import JobKind, JobStatus
from server.core.config import get_settings
from server.store import jobs as store
from server.store.db import get_engine, transaction
from worker.events import EventSink

log = logging.getLogger(__name__)

_BUILTIN_ERRORS = (ValueError, TypeError, KeyError, IndexError, RuntimeError,
                   NotImplementedError, MemoryError, ArithmeticError, AttributeError,
                   OSError, AssertionError)


def worker_name() -> str:
    """How this worker child is named in the ledger."""
    return f"{socket.gethostname()}:{os.getpid()}"


def describe_error(exc: BaseException) -> dict[str, Any]:
    """A failed job's error as the SDK needs it to raise the same kind of exception."""
    bases = [cls.__name__ for cls in type(exc).__mro__
             if cls.__module__ == "builtins" and issubclass(cls, Exception)
             and cls is not Exception]
    message = str(exc) or type(exc).__name__
    return {"type": type(exc).__name__, "bases": bases, "message": message[:20_000]}


@shared_task(name="horn.run_job", bind=True, acks_late=True)
def run_job(self: Any, job_id: str) -> None:
    """Run the job `job_id` if it is still queued; a duplicate delivery does nothing."""
    settings = get_settings()
    engine = get_engine(settings.resolved_database_url())
    worker = worker_name()
    with transaction(engine) as session:
        if not store.claim_job(session, job_id, worker,
                               timedelta(seconds=settings.lease_seconds)):
            log.info("job %s: already claimed or finished, nothing to do", job_id)
            return
        job = store.get_job(session, job_id)
        assert job is not None
        kind = JobKind(job.kind)
    sink = EventSink(engine, job_id, worker, settings.lease_seconds)
    try:
        from worker.tasks import execute

        result, weights_version = execute.run(engine, settings, job_id, sink)
    except Exception as exc:
        log.warning("job %s (%s) failed: %s", job_id, kind.value, exc)
        log.debug("%s", traceback.format_exc())
        with transaction(engine) as session:
            store.finish_job(session, job_id, worker, JobStatus.FAILED,
                             error=describe_error(exc))
        return
    with transaction(engine) as session:
        store.finish_job(session, job_id, worker, JobStatus.SUCCEEDED, result=result,
                         weights_version_out=weights_version)
