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
from horn.schemas import events as ev
from horn.schemas.api import JobKind, JobStatus
from horn.schemas.events import EVENT_MODELS, event_data, parse_event
from horn.schemas.npy import from_data_url, is_data_url
from horn.schemas.tree import map_leaves


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
        """React to one event (one of a type this SDK does not know is skipped: a newer
        server may send it)."""
        if type_ in EVENT_MODELS:
            self.handle_event(parse_event(type_, data))

    def handle_event(self, event: ev.Event) -> None:
        """React to one typed event."""
        if isinstance(event, ev.TrainBegin):
            self.params.update(event.params)
            if not self._train_begun:  # a resumed attempt begins again: say it once
                self._train_begun = True
                for callback in self.callbacks:
                    callback.set_params(dict(self.params))
                self._call("on_train_begin", {})
        elif isinstance(event, ev.Resumed) and self.verbose:
            print(f"horn: job {self.job_id} resumed at epoch {event.epoch + 1} "
                  f"(attempt {event.attempt}) after its worker was lost.",
                  file=sys.stderr, flush=True)
        elif isinstance(event, ev.EpochBegin):
            self._new_bar(self.params.get("steps"))
            if self.verbose and self.params.get("epochs", 1) > 1:
                print(f"Epoch {event.epoch + 1}/{self.params['epochs']}", flush=True)
            self._call("on_epoch_begin", event.epoch, {})
        elif isinstance(event, (ev.TestBegin, ev.PredictBegin)):
            self._new_bar(event.steps)
            self._call("on_test_begin" if isinstance(event, ev.TestBegin)
                       else "on_predict_begin", {})
        elif isinstance(event, ev.BatchEnd):
            self._batch_end(event)
        elif isinstance(event, ev.EpochEnd):
            logs = _floats(event.logs)
            steps = event.steps or self.params.get("steps")
            if self.bar is not None:
                self.bar.target = self.bar.target or steps
                self.bar.update(int(steps or 0), logs, event.elapsed, finalize=True)
            self._call("on_epoch_end", event.epoch, logs)
            self._maybe_stop()
        elif isinstance(event, ev.TestEnd):
            self._phase_end(event.elapsed, _floats(event.logs))
            self._call("on_test_end", _floats(event.logs))
        elif isinstance(event, ev.PredictEnd):
            self._phase_end(event.elapsed, {})
            self._call("on_predict_end", {})
        elif isinstance(event, ev.Checkpoint):
            self._checkpoint(event)
        elif isinstance(event, ev.TrainEnd):
            self._call("on_train_end", _floats(event.logs))
        elif isinstance(event, ev.JobEnd):
            self.end = event_data(event)

    def _phase_end(self, elapsed: float, logs: dict[str, float]) -> None:
        """`evaluate` or `predict` ended: the bar's last line."""
        if self.bar is not None:
            self.bar.update(int(self.bar.target or 0), logs, elapsed, finalize=True)

    def _maybe_stop(self) -> None:
        """A local callback set `model.stop_training`: ask the job to stop after the
        epoch it is in (it finishes normally)."""
        if self.model is None or self._stop_sent or not getattr(self.model, "stop_training",
                                                                  False):
            return
        self._stop_sent = True
        with contextlib.suppress(errors.Conflict):  # it finished meanwhile
            self.conn.post(f"/v1/jobs/{self.job_id}/stop", {})

    def _checkpoint(self, event: ev.Checkpoint) -> None:
        """A ModelCheckpoint decision of the worker: the matching local one writes it."""
        from horn.keras import callbacks as cb

        mine = [c for c in self.callbacks if isinstance(c, cb.ModelCheckpoint)]
        if event.index < len(mine):
            with self._stopping_on_error():
                mine[event.index]._on_checkpoint(
                    event_data(event),
                    lambda blob: _data.download_array(self.conn, blob).tobytes())

    def _batch_end(self, event: ev.BatchEnd) -> None:
        logs = _floats(event.logs)
        if self.bar is not None and self.verbose == 1:
            self.bar.update(event.step, logs, event.elapsed)
        hook = {"train": "on_train_batch_end", "test": "on_test_batch_end",
                "predict": "on_predict_batch_end"}[event.phase]
        self._call(hook, event.step - 1, logs)


def _floats(logs: dict[str, Any] | None) -> dict[str, float]:
    return {k: float(v) for k, v in (logs or {}).items()}


def outcome(job_id: str, end: dict[str, Any]) -> dict[str, Any]:
    """The result of a finished job, or the exception it ended with."""
    status = end.get("status")
    if status == JobStatus.SUCCEEDED:
        return dict(end.get("result") or {})
    if status == JobStatus.CANCELLED:
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

    def fetch(ref: str) -> np.ndarray:
        return from_data_url(ref) if is_data_url(ref) else _data.download_array(conn, ref)

    outputs = map_leaves(fetch, result["outputs"])
    return outputs if not isinstance(outputs, np.ndarray) else np.asarray(outputs)


def default_result(conn: Connection, kind: str, job_id: str, result: dict[str, Any],
                   params: dict[str, Any]) -> Any:
    """The result of a re-attached job (no local model): as the blocking call's."""
    if kind == JobKind.FIT:
        return history_from(result, params.get("verbose", "auto"), job_id)
    if kind == JobKind.EVALUATE:
        return evaluate_result(result, return_dict=False)
    return predict_result(conn, result)
