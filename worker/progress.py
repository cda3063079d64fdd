"""The Keras callback that turns training into horn events (imported in the child only)."""

from __future__ import annotations

import time
from typing import Any, Literal

import keras

from horn.schemas.events import (
    BatchEnd,
    EpochBegin,
    EpochEnd,
    Event,
    PredictBegin,
    PredictEnd,
    TestBegin,
    TestEnd,
    TrainBegin,
    TrainEnd,
)
from horn.worker import runtime
from horn.worker.events import EventSink, clean_logs
from horn.worker.heartbeat import Heartbeat


class ProgressCallback(keras.callbacks.Callback):
    """Publishes batch progress (throttled), epoch ends with metrics and a checkpoint,
    and phase changes; stops training within a batch when the heartbeat says so
    (cancelled, out of time, or the job taken over by another worker).

    Batch events carry the number of finished steps and the seconds since the phase
    began, so the SDK can draw Keras's progress bar with the worker's own timing.
    """

    def __init__(self, sink: EventSink, interval: float, heartbeat: Heartbeat | None = None,
                 attempt: int = 1, prior: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.sink = sink
        self.interval = interval
        self.heartbeat = heartbeat
        self.attempt = attempt
        prior = prior or {}
        self.history: dict[str, list[float | str]] = {
            k: list(v) for k, v in (prior.get("history") or {}).items()}
        self.epochs: list[int] = list(prior.get("epoch") or [])
        self._phase_start = time.monotonic()
        self._last_sent = 0.0
        self._in_fit = False
        self.params_sent: dict[str, Any] = {}

    def history_so_far(self) -> dict[str, Any]:
        """`{"history": {name: values}, "epoch": [...]}` across every attempt."""
        return {"history": {k: list(v) for k, v in self.history.items()},
                "epoch": list(self.epochs)}

    # --- helpers ---------------------------------------------------------------
    def _elapsed(self) -> float:
        return time.monotonic() - self._phase_start

    def _begin(self, event: Event) -> None:
        self._phase_start = time.monotonic()
        self._last_sent = 0.0
        self.sink.emit(event, defer=True)

    def _raise_refused(self) -> None:
        """Fail here, in training, if the database refused an epoch's record that the
        heartbeat thread wrote (the job fails with the database's error)."""
        if self.sink.refused is not None:
            raise self.sink.refused

    def _batch(self, phase: Literal["train", "test", "predict"], batch: int,
               logs: dict[str, Any] | None) -> None:
        self._raise_refused()
        now = time.monotonic()
        if now - self._last_sent >= self.interval:
            self._last_sent = now
            self.sink.emit(BatchEnd(phase=phase, step=batch + 1, elapsed=self._elapsed(),
                                    logs=clean_logs(logs)), defer=True)
        if self.heartbeat is not None and self.heartbeat.should_stop:
            # Keras checks these after every batch.
            self.model.stop_training = True
            self.model.stop_evaluating = True
            self.model.stop_predicting = True

    # --- training ----------------------------------------------------------------
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._in_fit = True
        self.params_sent = {k: v for k, v in self.params.items() if k != "verbose"}
        self.sink.emit(TrainBegin(params=self.params_sent, attempt=self.attempt), defer=True)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._begin(EpochBegin(epoch=epoch))

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._batch("train", batch, logs)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        ended = time.time()  # the worker's clock when Keras ended the epoch
        self._raise_refused()
        cleaned = clean_logs(logs)
        self.epochs.append(epoch)
        for key, value in cleaned.items():
            self.history.setdefault(key, []).append(value)
        steps = self.params.get("steps")
        state = runtime.pack_state(self.model, include_optimizer=True)
        self.sink.epoch_end(EpochEnd(epoch=epoch, logs=cleaned, elapsed=self._elapsed(),
                                     steps=steps, time=ended),
                            step=steps,
                            checkpoint=(self.attempt, self.history_so_far(), state))
        if self.heartbeat is not None and (self.heartbeat.should_stop
                                           or self.heartbeat.stop_requested):
            self.model.stop_training = True

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._in_fit = False
        self.sink.emit(TrainEnd(logs=clean_logs(logs)))  # after every epoch's record
        self._raise_refused()

    # --- evaluation (alone, not the validation inside fit) ---------------------------
    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        if not self._in_fit:
            self._begin(TestBegin(steps=self.params.get("steps")))

    def on_test_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if not self._in_fit:
            self._batch("test", batch, logs)

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        if not self._in_fit:
            self.sink.emit(TestEnd(logs=clean_logs(logs), elapsed=self._elapsed()))

    # --- prediction ----------------------------------------------------------------
    def on_predict_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._begin(PredictBegin(steps=self.params.get("steps")))

    def on_predict_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._batch("predict", batch, None)

    def on_predict_end(self, logs: dict[str, Any] | None = None) -> None:
        self.sink.emit(PredictEnd(elapsed=self._elapsed()))
