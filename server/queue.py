"""Sending jobs to workers. The server only sends: it never imports worker code."""

from __future__ import annotations

from celery import Celery

from server.core.config import Settings

RUN_JOB_TASK = "horn.run_job"
"""The name of the worker's task; the message carries only the job id."""


def make_sender(settings: Settings) -> Celery:
    """A Celery app used only to publish (no tasks registered, no result backend)."""
    app = Celery("horn-server", broker=settings.resolved_broker_url(), set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        broker_transport_options=settings.broker_transport_options(),
        broker_connection_retry_on_startup=True,
        task_ignore_result=True,
    )
    return app


def enqueue(sender: Celery, job_id: str, queue: str) -> None:
    """Send the job's task. Call only after the job row is committed."""
    sender.send_task(RUN_JOB_TASK, args=[job_id], queue=queue, retry=True,
                     retry_policy={"max_retries": 3, "interval_start": 0.2,
                                   "interval_step": 0.5})
