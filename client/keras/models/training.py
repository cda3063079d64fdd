"""`fit`, `evaluate` and `predict`: upload the data, submit the job, follow its events
(`follow.py`), return Keras's results."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, cast

from horn import _data
from horn.jobs import Job
from horn.keras.callbacks import History
from horn.keras.models.batches import close
from horn.keras.models.follow import evaluate_result, history_from, predict_result, verbosity
from horn.schemas.tree import flatten

if TYPE_CHECKING:
    from horn.keras.models.model import Model

JOB_OPTIONS = ("priority", "queue", "time_limit", "max_attempts")
"""horn's own keyword arguments of fit/evaluate/predict (besides `wait`)."""

INLINE_PREDICTIONS_BYTES = 16 * 1024
"""Predictions up to this many `.npy` bytes come back inside the job's result (the
server may allow less): a small `predict` needs no download, one request less."""


def job_options(options: dict[str, Any]) -> dict[str, Any]:
    """Check horn's job options (priority, queue, time_limit, max_attempts)."""
    unknown = sorted(set(options) - set(JOB_OPTIONS))
    if unknown:
        raise ValueError(f"Unrecognized keyword arguments: {unknown}. horn adds only "
                         f"`wait` and {list(JOB_OPTIONS)} to Keras's arguments.")
    priority = options.get("priority", "normal")
    if priority not in ("high", "normal", "low"):
        raise ValueError("Expected `priority` to be 'high', 'normal' or 'low'. "
                         f"Received: priority={priority!r}")
    return {k: v for k, v in options.items() if v is not None}


def _split_callbacks(callbacks: list[Any]
                     ) -> tuple[list[Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """The callbacks run here, those sent to the worker, and the checkpoints."""
    from horn.keras import callbacks as cb

    local: list[Any] = []
    remote: list[dict[str, Any]] = []
    checkpoints: list[dict[str, Any]] = []
    for callback in callbacks:
        if isinstance(callback, cb.ModelCheckpoint):
            checkpoints.append(callback._checkpoint_args(position=len(remote)))
        if getattr(callback, "_remote", False):
            remote.append(callback._serialize())
        if isinstance(callback, cb.Callback):
            local.append(callback)
        elif not getattr(callback, "_remote", False):
            raise ValueError(f"Expected callbacks to be instances of `keras.callbacks.Callback`. "
                             f"Received: {callback!r}")
    return local, remote, checkpoints


def _unpack_validation(validation_data: Any) -> tuple[Any, Any, Any]:
    if validation_data is None:
        return None, None, None
    if isinstance(validation_data, (list, tuple)) and len(validation_data) in (2, 3):
        parts = list(validation_data) + [None] * (3 - len(validation_data))
        return parts[0], parts[1], parts[2]
    raise ValueError("When passing a `validation_data` argument, it must contain either 2 "
                     "items (x_val, y_val), or 3 items (x_val, y_val, val_sample_weights). "
                     f"Received: validation_data of type {type(validation_data).__name__}")


def _prepare(named: dict[str, Any]) -> dict[str, Any]:
    prepared = {name: _data.prepare(value, name) for name, value in named.items()
                if value is not None}
    _data.check_cardinality({name: _data.arrays_of(p) for name, p in prepared.items()})
    return prepared


def submit(model: Model, kind: str, args: dict[str, Any],
            prepared: dict[str, dict[str, Any]], options: dict[str, Any]) -> str:
    """Upload what the server lacks of the data and create the job; returns its id."""
    conn = model._conn()
    if kind != "session":  # the session's worker writes its weights back first
        close(model)
    model_id = model._ensure_remote()
    items = [item for group in prepared.values() for p in group.values()
             for item in flatten(p)]
    _data.upload(conn, items)
    data = {}
    for prefix, group in prepared.items():
        for name, p in group.items():
            key = name if prefix == "" else f"{prefix}_{name}"
            data[key] = _data.refs(p)
    from horn.keras.utils import current_seed

    if current_seed() is not None:
        args = {**args, "seed": current_seed()}
    args = _without_defaults(kind, args)
    body = {"model_id": model_id, "kind": kind, "compile_config": model._compile_config,
            "compile_id": model._compile_id, "args": args, "data": data, **options}
    job = conn.post("/v1/jobs", body, headers={"Idempotency-Key": uuid.uuid4().hex})
    return str(job["id"])


def _without_defaults(kind: str, args: dict[str, Any]) -> dict[str, Any]:
    """The arguments that differ from the server's defaults (it fills those in): a
    second `fit` on the same arrays sends a few hundred bytes, not a kilobyte."""
    from horn.schemas.api import JobKind, args_model

    fields = args_model(JobKind(kind)).model_fields
    kept = {}
    for name, value in args.items():
        field = fields.get(name)
        if field is not None and not field.is_required():
            default = field.get_default(call_default_factory=True)
            if value == default and type(value) is type(default):
                continue
        kept[name] = value
    return kept


def _run(model: Model, kind: str, args: dict[str, Any], prepared: dict[str, Any],
         options: dict[str, Any], verbose: Any, callbacks: list[Any],
         finish: Callable[[str, dict[str, Any]], Any]) -> Any:
    wait = options.pop("wait", True)
    options = job_options(options)
    level = verbosity(verbose)
    job_id = submit(model, kind, args, prepared, options)
    model.stop_training = False
    job = Job(job_id, kind, connection=model._conn(), model=model, verbose=level,
              callbacks=callbacks, finish=finish)
    if not wait:
        return job
    return job._wait_interactively()


def inspect(model: Model, options: dict[str, Any]) -> dict[str, Any]:
    """Build the model on a worker and return its description (`summary()`)."""
    args = {k: v for k, v in options.items() if v is not None and v is not False}
    job_id = submit(model, "inspect", args, {}, {})
    job = Job(job_id, "inspect", connection=model._conn(), model=model, verbose=0,
              finish=lambda _, result: result)
    result: dict[str, Any] = job._wait_interactively()
    return result


def _fit(model: Model, x: Any, y: Any, sample_weight: Any, validation_data: Any,
        args: dict[str, Any], verbose: Any, callbacks: list[Any],
        options: dict[str, Any]) -> Any:
    """`Model.fit` on the worker: a `History`, or a `Job` with `wait=False`."""
    verbosity(verbose)
    local, remote, checkpoints = _split_callbacks(callbacks)
    history = History()
    local.append(history)
    for callback in local:
        callback.set_model(model)
    vx, vy, vw = _unpack_validation(validation_data)
    prepared = {"": _prepare({"x": x, "y": y, "sample_weight": sample_weight})}
    if vx is not None:
        prepared["validation"] = _prepare({"x": vx, "y": vy, "sample_weight": vw})

    def finish(job_id: str, result: dict[str, Any]) -> History:
        done = history_from(result, verbose, job_id, history)
        model.history = done
        return done

    fit_args = {**args, "callbacks": remote}
    if checkpoints:
        fit_args["checkpoints"] = checkpoints
    return _run(model, "fit", fit_args, prepared, options, verbose, local, finish)


def _evaluate(model: Model, x: Any, y: Any, sample_weight: Any, args: dict[str, Any],
             verbose: Any, callbacks: list[Any], return_dict: bool,
             options: dict[str, Any]) -> Any:
    """`Model.evaluate` on the worker."""
    local, _, _ = _split_callbacks(callbacks)
    for callback in local:
        callback.set_model(model)
    prepared = {"": _prepare({"x": x, "y": y, "sample_weight": sample_weight})}
    return _run(model, "evaluate", args, prepared, options, verbose, local,
                lambda _, result: evaluate_result(result, return_dict))


def _predict(model: Model, x: Any, args: dict[str, Any], verbose: Any,
            callbacks: list[Any], options: dict[str, Any]) -> Any:
    """`Model.predict` on the worker."""
    local, _, _ = _split_callbacks(callbacks)
    for callback in local:
        callback.set_model(model)
    prepared = {"": _prepare({"x": x})}
    conn = model._conn()
    args = {**args, "inline_bytes": INLINE_PREDICTIONS_BYTES}
    return _run(model, "predict", args, prepared, options, verbose, local,
                lambda _, result: predict_result(conn, result))


class TrainerMixin:
    """`Model`'s training methods: `fit`, `evaluate`, `predict` (each one job)."""

    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = None,
            epochs: int = 1, verbose: Any = "auto", callbacks: Iterable[Any] | None = None,
            validation_split: float = 0.0, validation_data: Any = None, shuffle: bool = True,
            class_weight: dict[int, float] | None = None, sample_weight: Any = None,
            initial_epoch: int = 0, steps_per_epoch: int | None = None,
            validation_steps: int | None = None, validation_batch_size: int | None = None,
            validation_freq: int = 1, *, wait: bool = True, **job_options: Any) -> Any:
        """Train the model on the horn worker, as `keras.Model.fit`.

        Prints Keras's progress bar from the worker's events and calls your callbacks'
        `on_epoch_end(epoch, logs)` (and friends) in this process.

        horn adds keyword arguments of its own: `wait=False` returns a `horn.jobs.Job`
        at once instead of waiting; `priority` (`"high"`, `"normal"`, `"low"`), `queue`
        (a named queue, e.g. `"gpu-a100"`), `time_limit` (seconds of wall time) and
        `max_attempts` (how many lost workers the job survives) schedule the job.

        Returns:
            A `History` whose `.history`, `.epoch` and `.params` are Keras's (a `Job`
            with `wait=False`).

        Raises:
            ValueError: bad arguments or data (before anything is sent), or a job that
                failed on the worker with a `ValueError` (shapes, for instance).
            RuntimeError: if the model was not compiled.
        """
        model = cast("Model", self)  # the class this mixes into
        model._require_compiled("fit")
        args = {"batch_size": batch_size, "epochs": epochs, "validation_split": validation_split,
                "shuffle": shuffle, "initial_epoch": initial_epoch,
                "steps_per_epoch": steps_per_epoch, "validation_steps": validation_steps,
                "validation_batch_size": validation_batch_size,
                "validation_freq": validation_freq,
                "class_weight": {str(int(k)): float(v) for k, v in class_weight.items()}
                if class_weight else None}
        return _fit(model, x, y, sample_weight, validation_data, args,
                             verbose, list(callbacks or []), {"wait": wait, **job_options})

    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None,
                 verbose: Any = "auto", sample_weight: Any = None, steps: int | None = None,
                 callbacks: Iterable[Any] | None = None, return_dict: bool = False,
                 *, wait: bool = True, **kwargs: Any) -> Any:
        """Compute the loss and metrics on the horn worker, as `keras.Model.evaluate`.

        Takes horn's `wait`, `priority`, `queue`, `time_limit` and `max_attempts` like
        `fit`.

        Returns:
            The loss (a float) when there are no metrics, else the list
            `[loss, metric, ...]`; a dict when `return_dict=True`.
        """
        model = cast("Model", self)  # the class this mixes into
        model._require_compiled("evaluate")
        return _evaluate(model, x, y, sample_weight,
                                  {"batch_size": batch_size, "steps": steps},
                                  verbose, list(callbacks or []), return_dict,
                                  {"wait": wait, **kwargs})

    def predict(self, x: Any, batch_size: int | None = None, verbose: Any = "auto",
                steps: int | None = None, callbacks: Iterable[Any] | None = None, *,
                wait: bool = True, **job_options: Any) -> Any:
        """Run the model on `x` on the horn worker, as `keras.Model.predict`.

        Takes horn's `wait`, `priority`, `queue`, `time_limit` and `max_attempts` like
        `fit`.

        Returns:
            NumPy array(s) of predictions.
        """
        model = cast("Model", self)  # the class this mixes into
        return _predict(model, x, {"batch_size": batch_size, "steps": steps},
                                 verbose, list(callbacks or []), {"wait": wait, **job_options})
