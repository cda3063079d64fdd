"""Following a job from the client: its events become Keras's progress bar and calls
of the local callbacks, and its end becomes what the call returns (a `History`, the
loss and metrics, predictions) or the exception it ended with."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np

from horn import _data, errors
from horn._http import Connection
from horn._progress import Progbar
from horn.keras.callbacks import History
from horn.schemas.npy import from_data_url, is_data_url


def verbosity(verbose: Any) -> int:
    """Keras's `verbose` argument as 0, 1 or 2."""
    if verbose == "auto":
        return 1
    if verbose in (0, 1, 2):
        return int(verbose)
    raise ValueError(f"Expected `verbose` to be 'auto', 0, 1 or 2. Received: verbose={verbose!r}")


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
