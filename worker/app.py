"""The Celery app of the worker.

Settings and why:
- `task_acks_late` + `worker_prefetch_multiplier=1`: a worker takes one job at a time
  and the message is acknowledged only when the job ends, so a lost worker's job is
  delivered again. The database lease decides whether that delivery may run: the
  claim is one conditional UPDATE (`queued -> running`), so a duplicate finds nothing
  to claim and exits.
- Redis's `visibility_timeout` (see `BrokerSettings.broker_transport_options`) is longer
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

from horn.settings import get_worker_settings

log = logging.getLogger(__name__)

settings = get_worker_settings()

app = Celery("horn-worker", broker=settings.resolved_broker_url(), include=["horn.worker.tasks"])
app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    result_serializer="json",
    task_ignore_result=True,
    task_acks_late=True,
    task_reject_on_worker_lost=False,
    worker_prefetch_multiplier=1,
    worker_max_tasks_per_child=settings.max_jobs_per_child,
    # Replace a child whose resident memory passed this (kB), after its current job:
    # TensorFlow keeps a few MB per new model it traced, whatever Keras clears.
    worker_max_memory_per_child=settings.max_memory_per_child_mb * 1024 or None,
    # A new child imports TensorFlow before it reports ready (seconds, more on a busy
    # machine); Celery's default of 4 s would kill and respawn it forever.
    worker_proc_alive_timeout=120,
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
    from horn.server.store.db import get_engine

    get_engine.cache_clear()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from horn.worker import memory, startup

    startup.warm_up()
    memory.freeze_startup_objects()


@signals.celeryd_init.connect
def _make_broker_folders(**_: object) -> None:
    """In the worker's parent, before it consumes: the file-system broker's folders."""
    settings.make_broker_folders()


@signals.celeryd_init.connect
def _prepare_metrics(**_: object) -> None:
    """In the worker's parent, before anything imports prometheus_client."""
    from horn.worker import metrics

    metrics.prepare(settings.worker_metrics_port)


@signals.setup_logging.connect
def _setup_logging(loglevel: object = None, **_: object) -> None:
    """Structured (JSON) or text logs, every line tagged with the current job id."""
    from horn.worker.logs import configure_logging

    configure_logging(settings.log_format, loglevel if isinstance(loglevel, (int, str))
                      else "INFO")


@signals.worker_ready.connect
def _worker_ready(sender: object = None, **_: object) -> None:
    """In the parent once the pool runs: serve metrics, say who and where we are."""
    from horn.worker import metrics

    metrics.serve(settings.worker_metrics_port, settings.worker_metrics_host)
    log.info("worker started", extra={
        "event": "worker_started", "hostname": getattr(sender, "hostname", None),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "metrics_port": settings.worker_metrics_port or None})


@signals.task_prerun.connect
def _task_prerun(task_id: str = "", args: object = None, **_: object) -> None:
    """In the child: tag log lines with the job id, count the job as running."""
    from horn.worker import logs, metrics

    job_id = args[0] if isinstance(args, (list, tuple)) and args else None
    logs.set_job_id(str(job_id) if job_id is not None else None)
    metrics.job_started(task_id)


@signals.task_postrun.connect
def _task_postrun(task_id: str = "", args: object = None, **_: object) -> None:
    """In the child: count the job by its outcome, stop tagging log lines."""
    from horn.worker import logs, metrics

    job_id = args[0] if isinstance(args, (list, tuple)) and args else None
    try:
        metrics.job_ended(task_id, str(job_id) if job_id is not None else None)
    finally:
        logs.set_job_id(None)


@signals.task_failure.connect
def _task_failure(**_: object) -> None:
    from horn.worker import metrics

    metrics.task_failed()


@signals.worker_process_shutdown.connect
def _child_exits(**_: object) -> None:
    """Drop the exiting child's live gauges from the summed metrics."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid())
