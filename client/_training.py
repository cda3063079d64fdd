"""fit / evaluate / predict: upload, submit the job, follow its events, return results."""

from __future__ import annotations

import sys
import uuid
from typing import TYPE_CHECKING, Any

import numpy as np

from client import _data, errors
from client._history import History
from client._progress import Progbar

if TYPE_CHECKING:
    from client.models import Model


def _verbosity(verbose: Any) -> int:
    if verbose == "auto":
        return 1
    if verbose in (0, 1, 2) and not isinstance(verbose, bool) or verbose in (True, False):
        return int(verbose)
    raise ValueError(f"Expected `verbose` to be 'auto', 0, 1 or 2. Received: verbose={verbose!r}")


def _split_callbacks(callbacks: list[Any]) -> tuple[list[Any], list[dict[str, Any]]]:
    from client import callbacks as cb

    local, remote = [], []
    for callback in callbacks:
        if getattr(callback, "_remote", False):
            remote.append(callback._serialize())
        if isinstance(callback, cb.Callback):
            local.append(callback)
        elif not getattr(callback, "_remote", False):
            raise ValueError(f"Expected callbacks to be instances of `keras.callbacks.Callback`. "
                             f"Received: {callback!r}")
    return local, remote


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
            prepared: dict[str, dict[str, Any]]) -> str:
    conn = model._conn()
    model_id = model._ensure_remote()
    items = [item for group in prepared.values() for p in group.values()
             for item in _data.flatten(p)]
    _data.upload(conn, items)
    data = {}
    for prefix, group in prepared.items():
        for name, p in group.items():
            key = name if prefix == "" else f"{prefix}_{name}"
            data[key] = _data.refs(p)
    body = {"model_id": model_id, "kind": kind, "compile_config": model._compile_config,
            "compile_id": model._compile_id, "args": args, "data": data}
    job = conn.post("/v1/jobs", body, headers={"Idempotency-Key": uuid.uuid4().hex})
    return str(job["id"])


class _Follower:
    """Turns a job's events into progress bars and callback calls."""

    def __init__(self, model: Model, job_id: str, verbose: int, callbacks: list[Any],
                 params: dict[str, Any]) -> None:
        self.model = model
        self.job_id = job_id
        self.verbose = verbose
        self.callbacks = callbacks
        self.params = params
        self.bar: Progbar | None = None
        self.end: dict[str, Any] | None = None

    def _call(self, hook: str, *args: Any) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(*args)

    def _new_bar(self, steps: int | None) -> None:
        self.bar = Progbar(steps, verbose=self.verbose) if self.verbose else None

    def run(self) -> dict[str, Any]:
        conn = self.model._conn()
        try:
            for event in conn.events(self.job_id):
                self.handle(event.type, event.data)
        except KeyboardInterrupt:
            print(f"\nhorn: stopped following job {self.job_id}; it goes on running on the "
                  "server.", file=sys.stderr)
            raise
        if self.end is None:  # pragma: no cover - the stream always ends with job_end
            raise errors.HornError(f"The event stream of job {self.job_id} ended early.")
        return self.end

    def handle(self, type_: str, data: dict[str, Any]) -> None:
        if type_ == "train_begin":
            self.params.update(data.get("params") or {})
            for callback in self.callbacks:
                callback.set_params(dict(self.params))
            self._call("on_train_begin", {})
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
            logs = _floats(data.get("logs"))
            step = int(data["step"])
            if self.bar is not None and self.verbose == 1:
                self.bar.update(step, logs, float(data.get("elapsed", 0.0)))
            hook = {"train": "on_train_batch_end", "test": "on_test_batch_end",
                    "predict": "on_predict_batch_end"}[data.get("phase", "train")]
            self._call(hook, step - 1, logs)
        elif type_ == "epoch_end":
            logs = _floats(data.get("logs"))
            steps = data.get("steps") or self.params.get("steps")
            if self.bar is not None:
                self.bar.target = self.bar.target or steps
                self.bar.update(int(steps or 0), logs, float(data.get("elapsed", 0.0)),
                                finalize=True)
            self._call("on_epoch_end", int(data["epoch"]), logs)
        elif type_ == "test_end":
            logs = _floats(data.get("logs"))
            if self.bar is not None:
                self.bar.update(int(self.bar.target or 0), logs,
                                float(data.get("elapsed", 0.0)), finalize=True)
            self._call("on_test_end", logs)
        elif type_ == "predict_end":
            if self.bar is not None:
                self.bar.update(int(self.bar.target or 0), {},
                                float(data.get("elapsed", 0.0)), finalize=True)
            self._call("on_predict_end", {})
        elif type_ == "train_end":
            self._call("on_train_end", _floats(data.get("logs")))
        elif type_ == "job_end":
            self.end = data


def _floats(logs: dict[str, Any] | None) -> dict[str, float]:
    return {k: float(v) for k, v in (logs or {}).items()}


def _finish(model: Model, job_id: str, end: dict[str, Any]) -> dict[str, Any]:
    status = end.get("status")
    if status == "succeeded":
        return dict(end.get("result") or {})
    if status == "cancelled":
        raise errors.JobCancelled(f"Job {job_id} was cancelled.", job_id=job_id)
    raise errors.job_failed(job_id, end.get("error"))


def _attach(model: Model, callbacks: list[Any]) -> None:
    for callback in callbacks:
        callback.set_model(model)


def fit(model: Model, x: Any, y: Any, sample_weight: Any, validation_data: Any,
        args: dict[str, Any], verbose: Any, callbacks: list[Any]) -> History:
    """`Model.fit` on the worker."""
    level = _verbosity(verbose)
    local, remote = _split_callbacks(callbacks)
    history = History()
    local.append(history)
    _attach(model, local)
    vx, vy, vw = _unpack_validation(validation_data)
    prepared = {"": _prepare({"x": x, "y": y, "sample_weight": sample_weight})}
    if vx is not None:
        prepared["validation"] = _prepare({"x": vx, "y": vy, "sample_weight": vw})
    job_id = _submit(model, "fit", {**args, "callbacks": remote}, prepared)
    params: dict[str, Any] = {"verbose": verbose, "epochs": args["epochs"]}
    end = _Follower(model, job_id, level, local, params).run()
    result = _finish(model, job_id, end)
    history.history = {k: [float(v) for v in values]
                       for k, values in result.get("history", {}).items()}
    history.epoch = [int(e) for e in result.get("epoch", [])]
    history.params = {"verbose": verbose, **{k: v for k, v in result.get("params", {}).items()
                                             if k != "verbose"}}
    history.job_id = job_id  # type: ignore[attr-defined]
    model.history = history
    return history


def evaluate(model: Model, x: Any, y: Any, sample_weight: Any, args: dict[str, Any],
             verbose: Any, callbacks: list[Any], return_dict: bool) -> Any:
    """`Model.evaluate` on the worker."""
    level = _verbosity(verbose)
    local, _ = _split_callbacks(callbacks)
    _attach(model, local)
    prepared = {"": _prepare({"x": x, "y": y, "sample_weight": sample_weight})}
    job_id = _submit(model, "evaluate", args, prepared)
    end = _Follower(model, job_id, level, local, {"verbose": verbose}).run()
    result = _finish(model, job_id, end)
    logs = _floats(result.get("logs"))
    if return_dict:
        return logs
    values = [logs[name] for name in result.get("order", list(logs)) if name in logs]
    return values[0] if len(values) == 1 else values


def predict(model: Model, x: Any, args: dict[str, Any], verbose: Any,
            callbacks: list[Any]) -> Any:
    """`Model.predict` on the worker."""
    level = _verbosity(verbose)
    local, _ = _split_callbacks(callbacks)
    _attach(model, local)
    prepared = {"": _prepare({"x": x})}
    job_id = _submit(model, "predict", args, prepared)
    end = _Follower(model, job_id, level, local, {"verbose": verbose}).run()
    result = _finish(model, job_id, end)
    conn = model._conn()

    def fetch(ref: Any) -> Any:
        if isinstance(ref, str):
            return _data.download_array(conn, ref)
        if isinstance(ref, dict):
            return {k: fetch(v) for k, v in ref.items()}
        return [fetch(v) for v in ref]

    outputs = fetch(result["outputs"])
    return outputs if not isinstance(outputs, np.ndarray) else np.asarray(outputs)
