"""The fit kind: Keras's `Model.fit` with the job's callbacks, then a new weights version."""

from __future__ import annotations

import time
from typing import Any

from horn.schemas.api import JobStatus
from horn.schemas.catalog import load_catalog
from horn.schemas.validate import validate_keras_config
from horn.worker import checkpoints
from horn.worker.metrics import epoch_timer
from horn.worker.progress import ProgressCallback
from horn.worker.tasks.context import JobContext
from horn.worker.tasks.outcome import Outcome, timeout_error


def run(ctx: JobContext) -> Outcome:
    """Train the job's model; store its weights unless the job ran out of time.

    Raises:
        LeaseLost: another worker took the job over; nothing must be written.
    """
    result = _fit(ctx.model, ctx.args, ctx.arrays, ctx.progress, ctx.store_output)
    ctx.check_lease()
    heartbeat = ctx.heartbeat
    if heartbeat.timed_out and not heartbeat.cancel_requested:
        return Outcome(JobStatus.FAILED, result, error=timeout_error(ctx.job.time_limit))
    trained = ctx.save_weights()
    result["weights_version"] = trained
    status = JobStatus.CANCELLED if heartbeat.cancel_requested else JobStatus.SUCCEEDED
    return Outcome(status, result, trained)


def build_callbacks(configs: list[dict[str, Any]]) -> list[Any]:
    """Keras callbacks from their serialized form; only those the catalog marks as
    safe to run on a worker (no paths, no Python functions).

    Raises:
        ValueError: a callback that cannot run on a worker, or an unknown argument.
    """
    import keras

    catalog = load_catalog()
    callbacks = []
    for config in configs:
        validate_keras_config(config, where="args.callbacks")
        name = str(config.get("class_name"))
        entry = catalog.entry("callbacks", name)
        if entry is None or not entry.get("remote"):
            raise ValueError(f"Callback `{name}` cannot run on a horn worker. Run it in your "
                             "own process (a `keras.callbacks.Callback` subclass) instead.")
        known = {p["name"] for p in entry["params"]}
        kwargs = dict(config.get("config") or {})
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise ValueError(f"Unknown argument(s) {unknown} for callback {name}. "
                             f"Expected some of: {sorted(known)}")
        callbacks.append(getattr(keras.callbacks, name)(**kwargs))
    return callbacks


def _fit_callbacks(args: dict[str, Any], progress: ProgressCallback,
                   store_file: checkpoints.StoreFile) -> list[Any]:
    """The remote callbacks in the user's order (checkpoints at their positions), then
    horn's own."""
    remote = build_callbacks(args.get("callbacks") or [])
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
