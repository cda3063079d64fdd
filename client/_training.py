"""fit / evaluate / predict: upload, submit the job, follow its events, return results."""

from __future__ import annotations

import contextlib
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from horn import _data, errors
from horn._http import Connection
from horn._progress import Progbar
from horn.jobs import Job
from horn.keras.callbacks import History
from horn.schemas.npy import from_data_url, is_data_url

if TYPE_CHECKING:
    from horn.keras.models import Model

JOB_OPTIONS = ("priority", "queue", "time_limit", "max_attempts")
"""horn's own keyword arguments of fit/evaluate/predict (besides `wait`)."""

INLINE_PREDICTIONS_BYTES = 16 * 1024
"""Predictions up to this many `.npy` bytes come back inside the job's result (the
server may allow less): a small `predict` needs no download, one request less."""


def verbosity(verbose: Any) -> int:
    """Keras's `verbose` argument as 0, 1 or 2."""
    if verbose == "auto":
        return 1
    if verbose in (0, 1, 2):
        return int(verbose)
    raise ValueError(f"Expected `verbose` to be 'auto', 0, 1 or 2. Received: verbose={verbose!r}")


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


def _submit(model: Model, kind: str, args: dict[str, Any],
            prepared: dict[str, dict[str, Any]], options: dict[str, Any]) -> str:
    conn = model._conn()
    if kind != "session":  # the session's worker writes its weights back first
        from horn import _batches

        _batches.close(model)
    model_id = model._ensure_remote()
    items = [item for group in prepared.values() for p in group.values()
             for item in _data.flatten(p)]
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


class Follower:
    """Turns a job's events into progress bars and callback calls."""

    def __init__(self, conn: Connection, job_id: str, verbose: int, callbacks: list[Any],
                 params: dict[str, Any], model: Any = None) -> None:
        self.conn = conn
        self.model = model
        self._stop_sent = False
        self.job_id = job_id
        self.verbose = verbose
        self.callbacks = callbacks
        self.params = params
        self.bar: Progbar | None = None
        self.end: dict[str, Any] | None = None
        self._train_begun = False

    def _call(self, hook: str, *args: Any) -> None:
        for callback in self.callbacks:
            with self._stopping_on_error():
                getattr(callback, hook)(*args)

    @contextlib.contextmanager
    def _stopping_on_error(self) -> Iterator[None]:
        """A local callback raised: as in Keras, training ends with that exception, so
        the job is cancelled before the exception propagates."""
        try:
            yield
        except Exception:
            with contextlib.suppress(Exception):  # the callback's error matters, not this
                self.conn.post(f"/v1/jobs/{self.job_id}/cancel", {})
            raise

    def _new_bar(self, steps: int | None) -> None:
        self.bar = Progbar(steps, verbose=self.verbose) if self.verbose else None

    def run(self, deadline: float | None = None) -> dict[str, Any]:
        """Follow the events to the job's end; returns the `job_end` event's data."""
        for event in self.conn.events(self.job_id, deadline=deadline):
            self.handle(event.type, event.data)
        if self.end is None:  # pragma: no cover - the stream always ends with job_end
            raise errors.HornError(f"The event stream of job {self.job_id} ended early.")
        return self.end

    def handle(self, type_: str, data: dict[str, Any]) -> None:
        """React to one event."""
        if type_ == "train_begin":
            self.params.update(data.get("params") or {})
            if not self._train_begun:  # a resumed attempt begins again: say it once
                self._train_begun = True
                for callback in self.callbacks:
                    callback.set_params(dict(self.params))
                self._call("on_train_begin", {})
        elif type_ == "resumed" and self.verbose:
            print(f"horn: job {self.job_id} resumed at epoch {int(data['epoch']) + 1} "
                  f"(attempt {data.get('attempt')}) after its worker was lost.",
                  file=sys.stderr, flush=True)
        elif type_ == "epoch_begin":
            epoch = int(data["epoch"])
            self._new_bar(self.params.get("steps"))
            if self.verbose and self.params.get("epochs", 1) > 1:
                print(f"Epoch {epoch + 1}/{self.params['epochs']}", flush=True)
            self._call("on_epoch_begin", epoch, {})
        elif type_ in ("test_begin", "predict_begin"):
            self._new_bar(data.get("steps"))
            self._call("on_test_begin" if type_ == "test_begin" else "on_predict_begin", {})
        elif type_ == "batch_end":
            self._batch_end(data)
        elif type_ == "epoch_end":
            logs = _floats(data.get("logs"))
            steps = data.get("steps") or self.params.get("steps")
            if self.bar is not None:
                self.bar.target = self.bar.target or steps
                self.bar.update(int(steps or 0), logs, float(data.get("elapsed", 0.0)),
                                finalize=True)
            self._call("on_epoch_end", int(data["epoch"]), logs)
            self._maybe_stop()
        elif type_ in ("test_end", "predict_end"):
            logs = _floats(data.get("logs"))
            if self.bar is not None:
                self.bar.update(int(self.bar.target or 0), logs,
                                float(data.get("elapsed", 0.0)), finalize=True)
            self._call("on_test_end" if type_ == "test_end" else "on_predict_end",
                       logs if type_ == "test_end" else {})
        elif type_ == "checkpoint":
            self._checkpoint(data)
        elif type_ == "train_end":
            self._call("on_train_end", _floats(data.get("logs")))
        elif type_ == "job_end":
            self.end = data

    def _maybe_stop(self) -> None:
        """A local callback set `model.stop_training`: ask the job to stop after the
        epoch it is in (it finishes normally)."""
        if self.model is None or self._stop_sent or not getattr(self.model, "stop_training",
                                                                  False):
            return
        self._stop_sent = True
        with contextlib.suppress(errors.Conflict):  # it finished meanwhile
            self.conn.post(f"/v1/jobs/{self.job_id}/stop", {})

    def _checkpoint(self, data: dict[str, Any]) -> None:
        """A ModelCheckpoint decision of the worker: the matching local one writes it."""
        from horn.keras import callbacks as cb

        mine = [c for c in self.callbacks if isinstance(c, cb.ModelCheckpoint)]
        index = int(data.get("index", 0))
        if index < len(mine):
            with self._stopping_on_error():
                mine[index]._on_checkpoint(
                    data, lambda blob: _data.download_array(self.conn, blob).tobytes())

    def _batch_end(self, data: dict[str, Any]) -> None:
        logs = _floats(data.get("logs"))
        step = int(data["step"])
        if self.bar is not None and self.verbose == 1:
            self.bar.update(step, logs, float(data.get("elapsed", 0.0)))
        hook = {"train": "on_train_batch_end", "test": "on_test_batch_end",
                "predict": "on_predict_batch_end"}[data.get("phase", "train")]
        self._call(hook, step - 1, logs)


def _floats(logs: dict[str, Any] | None) -> dict[str, float]:
    return {k: float(v) for k, v in (logs or {}).items()}


def outcome(job_id: str, end: dict[str, Any]) -> dict[str, Any]:
    """The result of a finished job, or the exception it ended with."""
    status = end.get("status")
    if status == "succeeded":
        return dict(end.get("result") or {})
    if status == "cancelled":
        raise errors.JobCancelled(f"Job {job_id} was cancelled.", job_id=job_id)
    raise errors.job_failed(job_id, end.get("error"))


def history_from(result: dict[str, Any], verbose: Any, job_id: str,
                 history: History | None = None) -> History:
    """The `History` of a finished fit, as Keras builds it."""
    history = history or History()
    history.history = {k: [float(v) for v in values]
                       for k, values in result.get("history", {}).items()}
    history.epoch = [int(e) for e in result.get("epoch", [])]
    history.params = {"verbose": verbose, **{k: v for k, v in result.get("params", {}).items()
                                             if k != "verbose"}}
    history.job_id = job_id  # type: ignore[attr-defined]
    return history


def evaluate_result(result: dict[str, Any], return_dict: bool) -> Any:
    """What `evaluate` returns: the loss, `[loss, metrics...]`, or a dict."""
    logs = _floats(result.get("logs"))
    if return_dict:
        return logs
    values = [logs[name] for name in result.get("order", list(logs)) if name in logs]
    return values[0] if len(values) == 1 else values


def predict_result(conn: Connection, result: dict[str, Any]) -> Any:
    """What `predict` returns: the predictions as NumPy arrays, read from the result
    (small ones, as `data:` URLs) or downloaded (blob ids)."""

    def fetch(ref: Any) -> Any:
        if is_data_url(ref):
            return from_data_url(ref)
        if isinstance(ref, str):
            return _data.download_array(conn, ref)
        if isinstance(ref, dict):
            return {k: fetch(v) for k, v in ref.items()}
        return [fetch(v) for v in ref]

    outputs = fetch(result["outputs"])
    return outputs if not isinstance(outputs, np.ndarray) else np.asarray(outputs)


def default_result(conn: Connection, kind: str, job_id: str, result: dict[str, Any],
                   params: dict[str, Any]) -> Any:
    """The result of a re-attached job (no local model): as the blocking call's."""
    if kind == "fit":
        return history_from(result, params.get("verbose", "auto"), job_id)
    if kind == "evaluate":
        return evaluate_result(result, return_dict=False)
    return predict_result(conn, result)


def _run(model: Model, kind: str, args: dict[str, Any], prepared: dict[str, Any],
         options: dict[str, Any], verbose: Any, callbacks: list[Any],
         finish: Callable[[str, dict[str, Any]], Any]) -> Any:
    wait = options.pop("wait", True)
    options = job_options(options)
    level = verbosity(verbose)
    job_id = _submit(model, kind, args, prepared, options)
    model.stop_training = False
    job = Job(job_id, kind, connection=model._conn(), model=model, verbose=level,
              callbacks=callbacks, finish=finish)
    if not wait:
        return job
    return job._wait_interactively()


def inspect(model: Model, options: dict[str, Any]) -> dict[str, Any]:
    """Build the model on a worker and return its description (`summary()`)."""
    args = {k: v for k, v in options.items() if v is not None and v is not False}
    job_id = _submit(model, "inspect", args, {}, {})
    job = Job(job_id, "inspect", connection=model._conn(), model=model, verbose=0,
              finish=lambda _, result: result)
    result: dict[str, Any] = job._wait_interactively()
    return result


def fit(model: Model, x: Any, y: Any, sample_weight: Any, validation_data: Any,
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


def evaluate(model: Model, x: Any, y: Any, sample_weight: Any, args: dict[str, Any],
             verbose: Any, callbacks: list[Any], return_dict: bool,
             options: dict[str, Any]) -> Any:
    """`Model.evaluate` on the worker."""
    local, _, _ = _split_callbacks(callbacks)
    for callback in local:
        callback.set_model(model)
    prepared = {"": _prepare({"x": x, "y": y, "sample_weight": sample_weight})}
    return _run(model, "evaluate", args, prepared, options, verbose, local,
                lambda _, result: evaluate_result(result, return_dict))


def predict(model: Model, x: Any, args: dict[str, Any], verbose: Any,
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
