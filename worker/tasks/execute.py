"""Running one claimed job with Keras: fit, evaluate or predict."""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Engine

from horn.schemas.api import JobKind, JobStatus
from horn.schemas.npy import to_data_url, to_npy_bytes
from horn.schemas.tree import flatten, map_leaves
from horn.server.core.config import Settings
from horn.server.store import jobs as job_store
from horn.server.store import models as model_store
from horn.server.store.blobs import BlobStore, make_blob_store, record_blob
from horn.server.store.db import transaction
from horn.worker import checkpoints, data_cache, metrics, model_cache, runtime
from horn.worker.events import EventSink, LeaseLost, clean_logs, retry_db
from horn.worker.heartbeat import Heartbeat
from horn.worker.metrics import epoch_timer
from horn.worker.progress import ProgressCallback

log = logging.getLogger(__name__)


def _load(blobs: BlobStore, ref: Any) -> Any:
    """The job's arrays (a name, list or dict of blob ids): NumPy arrays, or the tensors
    this child kept of them (`horn.worker.data_cache`)."""
    if ref is None:
        return None
    if isinstance(ref, str):
        return data_cache.cache().get(ref, lambda: blobs.load_array(ref))
    if isinstance(ref, dict):
        return {k: _load(blobs, v) for k, v in ref.items()}
    return [_load(blobs, v) for v in ref]


@dataclass
class Outcome:
    """How an attempt ended: the job's new status and what to record with it."""

    status: JobStatus
    result: dict[str, Any] | None = None
    weights_version: int | None = None
    error: dict[str, Any] | None = None


def _timeout_error(limit: int | None) -> dict[str, Any]:
    return {"type": "TimeoutError", "bases": ["TimeoutError", "OSError"],
            "message": f"The job ran past its time limit of {limit} s and was stopped. "
                       "Its last end-of-epoch checkpoint is kept; raise `time_limit` or "
                       "train fewer epochs per job."}


def run(engine: Engine, settings: Settings, job_id: str, sink: EventSink,
        heartbeat: Heartbeat) -> Outcome:
    """Run one attempt of a claimed job.

    A fit that was interrupted before (worker lost) resumes from its last checkpoint:
    weights and optimizer state restored, training continued at the next epoch.

    Raises:
        LeaseLost: another worker took the job over; nothing must be written.
    """
    with transaction(engine) as session:
        job = job_store.get_job(session, job_id)
        assert job is not None
        model_row = model_store.get_model(session, job.model_id)
        assert model_row is not None
        wanted = job.args.get("weights_version") if job.kind == JobKind.SESSION.value else None
        weights = model_store.get_weights(session, job.model_id, wanted)
        checkpoint = job_store.get_checkpoint(session, job_id) \
            if job.kind == JobKind.FIT.value else None
        spec, kind = model_row.spec, JobKind(job.kind)
        model_id, owner, attempt, queue = job.model_id, job.owner, job.attempt, job.queue
        compile_config, compile_id = job.compile_config, job.compile_id
        args, data, time_limit = dict(job.args), dict(job.data), job.time_limit
        weights_in = weights.version if weights else None
        weights_data = weights.data if weights else None
        weights_compile_id = weights.compile_id if weights else None
        imported = model_row.import_weights_blob if weights is None else None
        resume = (checkpoint.epoch, dict(checkpoint.history), checkpoint.data) \
            if checkpoint is not None else None
        if resume is None:
            job_store.set_weights_version_in(session, job_id, weights_in)

    key = (model_id, compile_id)
    cacheable = (settings.model_cache and kind is not JobKind.INSPECT and resume is None
                 and imported is None and args.get("seed") is None)
    shape = model_cache.shape_of(owner, spec, compile_config) if cacheable else ""
    cache = model_cache.cache()
    warm = cache.take(key) if cacheable else None
    twin: model_cache.Warm | None = None
    if warm is not None and warm.weights_version != weights_in and not (
            compile_id is not None and compile_id == weights_compile_id):
        # Weights without this compile's optimizer state: the model starts afresh (in
        # the warm one, given a new model's state, as for another model's below).
        twin, warm = warm, None
    blobs = make_blob_store(settings)
    arrays = {name: _load(blobs, ref) for name, ref in data.items()}
    source = "warm"
    if warm is not None:
        model = warm.model
    else:
        # A warm model of the same architecture takes this new model's state over.
        if settings.distribute == "mirrored":
            twin = None
        elif twin is None and cacheable:
            twin = cache.take_shape(shape)
        model = _build(spec, compile_config, args, arrays.get("x"), twin is not None)
        source = "built"
        if twin is not None:
            if runtime.adopt_state(twin.model, model):
                model, source = twin.model, "taken_over"
            else:  # built for data of another shape: build this one where it runs
                model = _build(spec, compile_config, args, arrays.get("x"), False)
    log.info("job %s: model %s %s (%s)", job_id, model_id, _SOURCES[source], kind.value,
             extra={"event": "model_ready", "job_id": job_id, "model_id": model_id,
                    "kind": kind.value, "source": source, "warm_models": len(cache)})
    metrics.model_ready(source)
    prior: dict[str, Any] = {"history": {}, "epoch": []}
    has_weights = weights_data is not None
    if resume is not None:
        last_epoch, prior, state = resume
        runtime.restore_state(model, state, restore_optimizer=True)
        args["initial_epoch"] = max(int(args.get("initial_epoch", 0)), last_epoch + 1)
        sink.emit("resumed", {"epoch": last_epoch + 1, "attempt": attempt})
    elif weights_data is not None:
        if warm is None or warm.weights_version != weights_in:
            same_compile = compile_id is not None and compile_id == weights_compile_id
            runtime.restore_state(model, weights_data, restore_optimizer=same_compile)
    elif imported is not None:  # a model imported from a `.keras` file (checked by the server)
        runtime.load_weights_file(model, blobs.read_bytes(imported))
        _save_weights(engine, sink, model, model_id, job_id, compile_id)
        has_weights = True  # the imported weights are now the model's first version
    progress = ProgressCallback(sink, settings.progress_interval, heartbeat, attempt, prior)
    # A job that raises keeps nothing: the model in hand may be half-trained.
    outcome = _run_kind(engine, settings, job_id, sink, heartbeat, kind, model, args, arrays,
                        progress, blobs, has_weights, queue, owner, time_limit, model_id,
                        compile_id)
    if cacheable and outcome.status is JobStatus.SUCCEEDED:
        cache.keep(key, shape, model, outcome.weights_version or weights_in)
    return outcome


_SOURCES = {"warm": "was warm in this worker child",
            "taken_over": "took over a warm model of the same architecture",
            "built": "built from its spec"}


def _build(spec: dict[str, Any], compile_config: dict[str, Any] | None, args: dict[str, Any],
           x: Any, as_twin: bool) -> Any:
    """A new model from its spec, compiled: in the job's strategy scope, or on the CPU
    when only its state is wanted (a warm model takes it over)."""
    seeded = args.get("seed") is not None
    runtime.reset_session(keep_kernels=not seeded)
    if seeded:  # as the user's `keras.utils.set_random_seed`
        runtime.set_seed(int(args["seed"]))
    # All GPUs (HORN_DISTRIBUTE) and mixed precision; a twin only needs the policy.
    scope = runtime.twin_scope() if as_twin else contextlib.nullcontext()
    with runtime.strategy_scope(), scope:
        model = runtime.build_model(spec)
        runtime.ensure_built(model, x)
        if compile_config:
            runtime.compile_model(model, compile_config)
            if as_twin and model.built and model.optimizer is not None:
                model.optimizer.build(model.trainable_variables)  # its initial state
    return model


def _run_kind(engine: Engine, settings: Settings, job_id: str, sink: EventSink,
              heartbeat: Heartbeat, kind: JobKind, model: Any, args: dict[str, Any],
              arrays: dict[str, Any], progress: ProgressCallback, blobs: BlobStore,
              has_weights: bool, queue: str, owner: str, time_limit: int | None,
              model_id: str, compile_id: str | None) -> Outcome:
    """Run the job's kind on its ready model; the outcome's `weights_version` is the
    version the model holds at the end when it stored one."""

    if kind is JobKind.INSPECT:
        return Outcome(JobStatus.SUCCEEDED, runtime.describe(model, args))
    if kind is JobKind.SESSION:
        from horn.worker.session import serve
        from horn.worker.tasks.run_job import describe_error

        initial = None
        if not has_weights:  # keep the initial weights, as one Keras process would
            initial = _save_weights(engine, sink, model, model_id, job_id, compile_id)
        calls, written = serve(
            engine, job_id, queue, model, heartbeat, args,
            lambda: _save_weights(engine, sink, model, model_id, job_id, compile_id),
            describe_error, settings.resolved_broker_url())
        _check_lease(heartbeat)
        return Outcome(JobStatus.SUCCEEDED, {"calls": calls},
                       written if written is not None else initial)
    if kind is JobKind.FIT:
        result = _fit(model, args, arrays, progress,
                      lambda data: _store_output(blobs, engine, owner, data))
        _check_lease(heartbeat)
        if heartbeat.timed_out and not heartbeat.cancel_requested:
            return Outcome(JobStatus.FAILED, result, error=_timeout_error(time_limit))
        trained = _save_weights(engine, sink, model, model_id, job_id, compile_id)
        result["weights_version"] = trained
        status = JobStatus.CANCELLED if heartbeat.cancel_requested else JobStatus.SUCCEEDED
        return Outcome(status, result, trained)
    version: int | None = None
    if not has_weights:
        # Evaluate/predict on an untrained model: keep its initial weights, so the
        # next call sees the same model (as in one Keras process).
        version = _save_weights(engine, sink, model, model_id, job_id, compile_id)
    if kind is JobKind.EVALUATE:
        result = _evaluate(model, args, arrays, progress)
    else:
        result = _predict(model, args, arrays, progress, blobs, engine, owner,
                          settings.max_inline_output_bytes)
    _check_lease(heartbeat)
    if heartbeat.cancel_requested:
        return Outcome(JobStatus.CANCELLED, None, version)
    if heartbeat.timed_out:
        return Outcome(JobStatus.FAILED, None, version, _timeout_error(time_limit))
    return Outcome(JobStatus.SUCCEEDED, result, version)


def _check_lease(heartbeat: Heartbeat) -> None:
    if heartbeat.lost:
        raise LeaseLost(heartbeat.sink.job_id)


OUTAGE_PATIENCE = 60.0
"""Seconds a finished job waits for an unreachable database to store its weights."""


def _save_weights(engine: Engine, sink: EventSink, model: Any, model_id: str, job_id: str,
                  compile_id: str | None) -> int:
    """Store a new weights version, only while this worker still holds the job."""
    data = runtime.pack_state(model, include_optimizer=True)

    def save() -> int:
        with transaction(engine) as session:
            if not job_store.renew_lease(session, job_id, sink.worker, sink.lease):
                sink.lost = True
                raise LeaseLost(job_id)
            return model_store.add_weights(session, model_id, data, job_id, compile_id)

    # Retried for at least OUTAGE_PATIENCE, even past a shorter lease: the write renews
    # the lease only if the job is still ours, so a job the reaper re-queued meanwhile
    # is never written to.
    return retry_db(save, seconds=max(sink.lease.total_seconds(), OUTAGE_PATIENCE))


def _store_output(blobs: BlobStore, engine: Engine, owner: str, data: bytes) -> str:
    """Store `.npy` bytes the job produced as a blob its owner may download."""
    blob_id, header = blobs.write_bytes(data)
    with transaction(engine) as session:
        record_blob(session, blob_id, owner, len(data), header)
    return blob_id


def _fit_callbacks(args: dict[str, Any], progress: ProgressCallback,
                   store_file: checkpoints.StoreFile) -> list[Any]:
    """The remote callbacks in the user's order (checkpoints at their positions), then
    horn's own."""
    remote = runtime.build_callbacks(args.get("callbacks") or [])
    for position, checkpoint in checkpoints.build(args.get("checkpoints") or [],
                                                  progress.sink, store_file):
        remote.insert(position, checkpoint)
    return [*remote, epoch_timer(), progress]


def _fit(model: Any, args: dict[str, Any], arrays: dict[str, Any],
         progress: ProgressCallback, store_file: checkpoints.StoreFile) -> dict[str, Any]:
    validation_data = None
    if arrays.get("validation_x") is not None:
        parts = [arrays["validation_x"], arrays.get("validation_y")]
        if arrays.get("validation_sample_weight") is not None:
            parts.append(arrays["validation_sample_weight"])
        validation_data = tuple(parts)
    class_weight = args.get("class_weight")
    callbacks = _fit_callbacks(args, progress, store_file)
    started = time.perf_counter()
    try:
        _keras_fit(model, args, arrays, validation_data, class_weight, callbacks)
    finally:
        for callback in callbacks:
            if isinstance(callback, checkpoints.RemoteModelCheckpoint):
                callback.on_train_end()  # removes its directory, also after an error
    # The history of every attempt (a resumed job continues the earlier ones'), and the
    # seconds Keras's `fit` took here (what the same call costs in a local process).
    return {**progress.history_so_far(), "params": progress.params_sent,
            "fit_seconds": time.perf_counter() - started}


def _keras_fit(model: Any, args: dict[str, Any], arrays: dict[str, Any],
               validation_data: Any, class_weight: dict[str, float] | None,
               callbacks: list[Any]) -> None:
    model.fit(
        arrays["x"], arrays.get("y"),
        batch_size=args.get("batch_size"), epochs=args.get("epochs", 1), verbose=0,
        callbacks=callbacks,
        validation_split=args.get("validation_split", 0.0),
        validation_data=validation_data, shuffle=args.get("shuffle", True),
        class_weight={int(k): v for k, v in class_weight.items()} if class_weight else None,
        sample_weight=arrays.get("sample_weight"),
        initial_epoch=args.get("initial_epoch", 0),
        steps_per_epoch=args.get("steps_per_epoch"),
        validation_steps=args.get("validation_steps"),
        validation_batch_size=args.get("validation_batch_size"),
        validation_freq=args.get("validation_freq", 1),
    )


def _evaluate(model: Any, args: dict[str, Any], arrays: dict[str, Any],
              progress: ProgressCallback) -> dict[str, Any]:
    logs = model.evaluate(arrays["x"], arrays.get("y"), batch_size=args.get("batch_size"),
                          verbose=0, sample_weight=arrays.get("sample_weight"),
                          steps=args.get("steps"), callbacks=[progress], return_dict=True)
    cleaned = clean_logs(logs)
    return {"logs": cleaned, "order": runtime.metric_names_in_order(model, cleaned)}


def _predict(model: Any, args: dict[str, Any], arrays: dict[str, Any],
             progress: ProgressCallback, blobs: BlobStore, engine: Engine,
             owner: str, inline_limit: int) -> dict[str, Any]:
    """`Model.predict`; the outputs as blob ids, or inside the result as `data:` URLs when
    they fit in `inline_limit` and the job's `inline_bytes` (the caller reads them)."""
    outputs = model.predict(arrays["x"], batch_size=args.get("batch_size"), verbose=0,
                            steps=args.get("steps"), callbacks=[progress])
    inline = _as_data_urls(outputs, min(int(args.get("inline_bytes") or 0), inline_limit))
    if inline is not None:  # small: no blob to write, record and fetch
        return {"outputs": inline}
    return {"outputs": map_leaves(lambda value: _store_output(
        blobs, engine, owner, to_npy_bytes(np.asarray(value))), outputs)}


def _as_data_urls(outputs: Any, limit: int) -> Any:
    """The outputs as `data:` URLs when their `.npy` bytes come to at most `limit` in
    all; None otherwise. Large outputs are not encoded here: each is encoded only as it
    is stored, as before."""
    if sum(np.asarray(leaf).nbytes for leaf in flatten(outputs)) > limit:
        return None
    encoded = map_leaves(lambda value: to_npy_bytes(np.asarray(value)), outputs)
    if sum(len(data) for data in flatten(encoded)) > limit:  # with the headers
        return None
    return map_leaves(to_data_url, encoded)
