"""The Celery app of the worker.

Settings and why:
- `task_acks_late` + `worker_prefetch_multiplier=1`: a worker takes one job at a time
  and the message is acknowledged only when the job ends, so a lost worker's job is
  delivered again. The database lease decides whether that delivery may run: the
  claim is one conditional UPDATE (`queued -> running`), so a duplicate finds nothing
  to claim and exits.
- Redis's `visibility_timeout` (see `Settings.broker_transport_options`) is longer
  than the hard time limit of a job, so Redis never redelivers a job that is still
  running.
- JSON only: no pickle crosses the broker.
- `worker_max_tasks_per_child`: a warm child runs many jobs (TensorFlow imported once),
  then is replaced to bound memory growth.
"""

from __future__ import annotations

import logging
import os

from celery import Celery, signals

from server.core.config import get_settings

log = logging.getLogger(__name__)

settings = get_settings()

app = Celery("horn-worker", broker=settings.resolved_broker_url(), include=["worker.tasks"])
app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    result_serializer="json",
    task_ignore_result=True,
    task_acks_late=True,
    task_reject_on_worker_lost=False,
    worker_prefetch_multiplier=1,
    worker_max_tasks_per_child=settings.max_jobs_per_child,
    task_default_queue=settings.queue,
    task_soft_time_limit=settings.job_soft_time_limit,
    task_time_limit=settings.job_time_limit,
    broker_transport_options=settings.broker_transport_options(),
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


@signals.worker_process_init.connect
def _warm_child(**_: object) -> None:
    """In each fresh child: new DB connections, then import TensorFlow once."""
    from server.store.db import get_engine

    get_engine.cache_clear()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from worker import runtime

    runtime.warm_up()
