"""Running one claimed job with Keras: fit, evaluate or predict."""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import Engine

from schemas.api import JobKind
from schemas.npy import to_npy_bytes
from server.core.config import Settings
from server.store import jobs as job_store
from server.store import models as model_store
from server.store.blobs import BlobStore, record_blob
from server.store.db import transaction
from worker import runtime
from worker.events import EventSink, clean_logs
from worker.progress import ProgressCallback


def _load(blobs: BlobStore, ref: Any) -> Any:
    if ref is None:
        return None
    if isinstance(ref, str):
        return np.load(blobs.path(ref), allow_pickle=False)
    if isinstance(ref, dict):
        return {k: _load(blobs, v) for k, v in ref.items()}
    return [_load(blobs, v) for v in ref]


def run(engine: Engine, settings: Settings, job_id: str,
        sink: EventSink) -> tuple[dict[str, Any], int | None]:
    """Run the job; returns its result and the weights version it produced (if any)."""
    with transaction(engine) as session:
        job = job_store.get_job(session, job_id)
        assert job is not None
        model_row = model_store.get_model(session, job.model_id)
        assert model_row is not None
        weights = model_store.get_weights(session, job.model_id)
        spec, kind = model_row.spec, JobKind(job.kind)
        model_id, owner = job.model_id, job.owner
        compile_config, compile_id = job.compile_config, job.compile_id
        args, data = dict(job.args), dict(job.data)
        weights_in = weights.version if weights else None
        weights_data = weights.data if weights else None
        weights_compile_id = weights.compile_id if weights else None
        job_store.set_weights_version_in(session, job_id, weights_in)

    runtime.reset_session()
    model = runtime.build_model(spec)
    blobs = BlobStore(settings.resolved_blob_dir())
    arrays = {name: _load(blobs, ref) for name, ref in data.items()}
    runtime.ensure_built(model, arrays["x"])
    if compile_config:
        runtime.compile_model(model, compile_config)
    if weights_data is not None:
        same_compile = compile_id is not None and compile_id == weights_compile_id
        runtime.restore_state(model, weights_data, restore_optimizer=same_compile)
    progress = ProgressCallback(sink, settings.progress_interval)

    if kind is JobKind.FIT:
        result = _fit(model, args, arrays, progress)
        trained = _save_weights(engine, model, model_id, job_id, compile_id)
        result["weights_version"] = trained
        return result, trained
    version: int | None = None
    if weights_data is None:
        # Evaluate/predict on an untrained model: keep its initial weights, so the
        # next call sees the same model (as in one Keras process).
        version = _save_weights(engine, model, model_id, job_id, compile_id)
    if kind is JobKind.EVALUATE:
        return _evaluate(model, args, arrays, progress), version
    return _predict(model, args, arrays, progress, blobs, engine, owner), version


def _save_weights(engine: Engine, model: Any, model_id: str, job_id: str,
                  compile_id: str | None) -> int:
    data = runtime.pack_state(model, include_optimizer=True)
    with transaction(engine) as session:
        return model_store.add_weights(session, model_id, data, job_id, compile_id)


def _fit(model: Any, args: dict[str, Any], arrays: dict[str, Any],
         progress: ProgressCallback) -> dict[str, Any]:
    validation_data = None
    if arrays.get("validation_x") is not None:
        parts = [arrays["validation_x"], arrays.get("validation_y")]
        if arrays.get("validation_sample_weight") is not None:
            parts.append(arrays["validation_sample_weight"])
        validation_data = tuple(parts)
    class_weight = args.get("class_weight")
    history = model.fit(
        arrays["x"], arrays.get("y"),
        batch_size=args.get("batch_size"), epochs=args.get("epochs", 1), verbose=0,
        callbacks=[*runtime.build_callbacks(args.get("callbacks") or []), progress],
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
    return {
        "history": {k: [clean_logs({k: v})[k] for v in values]
                    for k, values in history.history.items()},
        "epoch": list(history.epoch),
        "params": progress.params_sent,
    }


def _evaluate(model: Any, args: dict[str, Any], arrays: dict[str, Any],
              progress: ProgressCallback) -> dict[str, Any]:
    logs = model.evaluate(arrays["x"], arrays.get("y"), batch_size=args.get("batch_size"),
                          verbose=0, sample_weight=arrays.get("sample_weight"),
                          steps=args.get("steps"), callbacks=[progress], return_dict=True)
    cleaned = clean_logs(logs)
    return {"logs": cleaned, "order": runtime.metric_names_in_order(model, cleaned)}


def _predict(model: Any, args: dict[str, Any], arrays: dict[str, Any],
             progress: ProgressCallback, blobs: BlobStore, engine: Engine,
             owner: str) -> dict[str, Any]:

    outputs = model.predict(arrays["x"], batch_size=args.get("batch_size"), verbose=0,
                            steps=args.get("steps"), callbacks=[progress])

    def store(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: store(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [store(v) for v in value]
        data = to_npy_bytes(np.asarray(value))
        blob_id, header = blobs.write_bytes(data)
        with transaction(engine) as session:
            record_blob(session, blob_id, owner, len(data), header)
        return blob_id

    return {"outputs": store(outputs)}
