"""Prometheus metrics of a worker, served by the Celery parent on
`HORN_WORKER_METRICS_PORT` (off when 0); with one Celery worker per GPU, `horn worker`
serves them all on that port.

The worker is a prefork pool: jobs run in child processes. prometheus_client's
multiprocess mode lets each child write its samples to files in a private directory
(`PROMETHEUS_MULTIPROC_DIR`, made when the worker starts) and the parent's small HTTP
server adds them up at each scrape. So `prometheus_client` must not be imported before
`prepare()` ran in the parent: every import of it here is inside a function.

Metrics:
- `horn_worker_jobs_total{kind,status}`: jobs this worker ran, by outcome
  (`succeeded`, `failed`, `cancelled`; `unfinished` when the attempt ended without
  an outcome, e.g. the job was taken over after a lost lease).
- `horn_worker_job_duration_seconds{kind}` and `horn_worker_epoch_duration_seconds`.
- `horn_worker_task_errors_total`: exceptions that escaped the task itself.
- `horn_worker_jobs_running`: jobs running now.
- `horn_worker_models_total{source}`: models jobs ran on, by where they came from:
  `warm` (kept from an earlier job on the same model), `taken_over` (a new model's
  state given to a warm model of the same architecture), `built` (built from the spec).
- `horn_worker_device_info{worker,device,device_type,cuda_visible_devices}`: 1 for
  each device TensorFlow sees.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import tempfile
import time
from typing import Any

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
EPOCH_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
JOB_BUCKETS = (1, 5, 15, 30, 60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400)


def prepare(port: int) -> None:
    """In the worker's parent, before the pool forks: give the children a fresh
    directory to write their samples to. A no-op when metrics are off."""
    if not port:
        return
    folder = os.environ.get(MULTIPROC_ENV)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)  # samples of a previous run
        os.makedirs(folder, exist_ok=True)
    else:
        os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="horn-worker-metrics-")


def serve(port: int, host: str) -> None:
    """In the worker's parent: serve the children's metrics at `http://host:port/`."""
    if not port:
        return
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    start_http_server(port, addr=host, registry=registry)
    log.info("worker metrics on http://%s:%d/metrics", host, port,
             extra={"event": "metrics_listening", "port": port})


class _Metrics:
    """The worker's metric objects (made on first use, in the child)."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        self.jobs = Counter("horn_worker_jobs", "Jobs this worker ran, by outcome.",
                            ["kind", "status"])
        self.job_seconds = Histogram("horn_worker_job_duration_seconds",
                                     "Seconds one job attempt ran.", ["kind"],
                                     buckets=JOB_BUCKETS)
        self.epoch_seconds = Histogram("horn_worker_epoch_duration_seconds",
                                       "Seconds one training epoch took.",
                                       buckets=EPOCH_BUCKETS)
        self.task_errors = Counter("horn_worker_task_errors",
                                   "Exceptions that escaped the job task itself.")
        self.running = Gauge("horn_worker_jobs_running", "Jobs running now.",
                             multiprocess_mode="livesum")
        self.models = Counter("horn_worker_models", "Models jobs ran on, by source.",
                              ["source"])
        self.devices = Gauge("horn_worker_device_info",
                             "1 for each device TensorFlow sees on this worker.",
                             ["worker", "device", "device_type", "cuda_visible_devices"],
                             multiprocess_mode="max")


@functools.cache
def metrics() -> _Metrics:
    """The process's metric objects."""
    return _Metrics()


def record_devices(devices: list[dict[str, str]]) -> None:
    """Publish the devices a child sees (called once per child, after TensorFlow)."""
    worker = os.environ.get("HORN_WORKER_HOSTNAME", "")
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "")
    for device in devices:
        metrics().devices.labels(worker, device["name"], device["type"], visible).set(1)


def model_ready(source: str) -> None:
    """A job's model is ready: `warm`, `taken_over` or `built`."""
    metrics().models.labels(source).inc()


_started: dict[str, float] = {}


def job_started(task_id: str) -> None:
    """A job task begins in this child."""
    _started[task_id] = time.monotonic()
    metrics().running.inc()


def job_ended(task_id: str, job_id: str | None) -> None:
    """A job task ended in this child: count it by the outcome the database holds."""
    began = _started.pop(task_id, None)
    if began is None:
        return
    metrics().running.dec()
    if job_id is None:
        return
    outcome = _outcome(job_id)
    if outcome is None:  # a duplicate delivery: another worker ran (or runs) the job
        return
    kind, status = outcome
    metrics().jobs.labels(kind, status).inc()
    metrics().job_seconds.labels(kind).observe(time.monotonic() - began)


def task_failed() -> None:
    """An exception escaped the job task."""
    metrics().task_errors.inc()


def _outcome(job_id: str) -> tuple[str, str] | None:
    from horn.server.store.db import get_engine, transaction
    from horn.server.store.jobs import job_outcome
    from horn.settings import get_worker_settings
    from horn.worker.tasks.run_job import worker_name

    try:
        url = get_worker_settings().resolved_database_url()
        with transaction(get_engine(url)) as session:
            return job_outcome(session, job_id, worker_name())
    except Exception:  # the database is away: the job's own code reports that
        log.warning("metrics: cannot read the outcome of job %s", job_id, exc_info=True)
        return None


def epoch_timer() -> Any:
    """A Keras callback observing each epoch's duration in
    `horn_worker_epoch_duration_seconds` (add it to `fit`'s callbacks)."""
    return _epoch_timer_class()()


@functools.cache
def _epoch_timer_class() -> type:
    import keras

    class EpochTimer(keras.callbacks.Callback):
        """Times epochs for the worker's metrics."""

        def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self._began = time.monotonic()

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            began = getattr(self, "_began", None)
            if began is not None:
                metrics().epoch_seconds.observe(time.monotonic() - began)

    return EpochTimer
