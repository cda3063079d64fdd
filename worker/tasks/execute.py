"""Running one claimed job with Keras: its model made ready, then its kind run on it.

Imported in the worker's child only (`horn.worker.tasks.run_job` imports it inside the
task): the job kinds import Keras.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from horn.schemas.api import JobKind, JobStatus
from horn.schemas.tree import map_leaves
from horn.server.store.blobs import BlobStore, make_blob_store
from horn.settings import WorkerSettings
from horn.worker import data_cache, metrics, model_cache
from horn.worker.events import EventSink
from horn.worker.heartbeat import Heartbeat
from horn.worker.progress import ProgressCallback
from horn.worker.tasks import evaluate, fit, inspect, model, predict, session
from horn.worker.tasks.context import JobContext, read_job
from horn.worker.tasks.outcome import Outcome

log = logging.getLogger(__name__)

RUNNERS: dict[JobKind, Callable[[JobContext], Outcome]] = {
    JobKind.FIT: fit.run, JobKind.EVALUATE: evaluate.run, JobKind.PREDICT: predict.run,
    JobKind.INSPECT: inspect.run, JobKind.SESSION: session.run}
"""Each job kind's runner; the outcome's `weights_version` is the version the model
holds at the end when the job stored one."""


def run(engine: Engine, settings: WorkerSettings, job_id: str, sink: EventSink,
        heartbeat: Heartbeat) -> Outcome:
    """Run one attempt of a claimed job.

    A fit that was interrupted before (worker lost) resumes from its last checkpoint:
    weights and optimizer state restored, training continued at the next epoch.

    Raises:
        LeaseLost: another worker took the job over; nothing must be written.
    """
    job = read_job(engine, job_id)
    choice = model.choose(job, settings.model_cache)
    blobs = make_blob_store(settings)
    arrays = {name: _load(blobs, ref) for name, ref in job.data.items()}
    keras_model, source = model.obtain(job, choice, arrays.get("x"),
                                       mirrored=settings.distribute == "mirrored")
    cache = model_cache.cache()
    log.info("job %s: model %s %s (%s)", job_id, job.model_id, model.SOURCES[source],
             job.kind.value,
             extra={"event": "model_ready", "job_id": job_id, "model_id": job.model_id,
                    "kind": job.kind.value, "source": source, "warm_models": len(cache)})
    metrics.model_ready(source)
    ctx = JobContext(job=job, engine=engine, settings=settings, sink=sink,
                     heartbeat=heartbeat, blobs=blobs, model=keras_model,
                     args=dict(job.args), arrays=arrays)
    prior = model.restore(ctx, choice.warm)
    ctx.progress = ProgressCallback(sink, settings.progress_interval, heartbeat,
                                    job.attempt, prior)
    # A job that raises keeps nothing: the model in hand may be half-trained.
    outcome = RUNNERS[job.kind](ctx)
    if choice.cacheable and outcome.status is JobStatus.SUCCEEDED:
        cache.keep(choice.key, choice.shape, keras_model,
                   outcome.weights_version or job.weights_in)
    return outcome


def _load(blobs: BlobStore, ref: Any) -> Any:
    """The job's arrays (a name, list or dict of blob ids): NumPy arrays, or the tensors
    this child kept of them (`horn.worker.data_cache`)."""
    if ref is None:
        return None
    return map_leaves(lambda blob_id: data_cache.cache().get(
        blob_id, lambda: blobs.load_array(blob_id)), ref)
