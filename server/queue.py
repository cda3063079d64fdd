"""Sending jobs to workers. The server only sends: it never imports worker code."""

from __future__ import annotations

from typing import Any

from celery import Celery

from horn.schemas.names import RUN_JOB_TASK
from horn.schemas.queues import queue_for
from horn.server.store.tables import JobRow
from horn.settings import BrokerSettings


def make_sender(settings: BrokerSettings) -> Celery:
    """A Celery app used only to publish (no tasks registered, no result backend)."""
    settings.make_broker_folders()
    app = Celery("horn-server", broker=settings.resolved_broker_url(), set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        broker_transport_options=settings.broker_transport_options(),
        broker_connection_retry_on_startup=True,
        task_ignore_result=True,
        broker_connection_timeout=3,
        broker_connection_max_retries=2,
    )
    return app


SOFT_LIMIT_GRACE = 30
"""The worker's heartbeat stops a job cooperatively at its time limit (after the current
batch, keeping its checkpoint); Celery's soft limit is a backstop this much later."""
HARD_LIMIT_GRACE = 120
"""Seconds after the time limit at which Celery kills a job that did not stop."""


def send_job(sender: Celery, job: JobRow) -> None:
    """Send the job's task to its queue. Call only after the job row is committed.

    The message carries only the job id; the worker re-reads everything else.
    """
    options: dict[str, Any] = {}
    if job.time_limit:
        options = {"soft_time_limit": job.time_limit + SOFT_LIMIT_GRACE,
                   "time_limit": job.time_limit + HARD_LIMIT_GRACE}
    sender.send_task(RUN_JOB_TASK, args=[job.id], queue=queue_for(job.queue, job.priority),
                     retry=True, retry_policy={"max_retries": 2, "interval_start": 0.2,
                                               "interval_step": 0.5}, **options)
