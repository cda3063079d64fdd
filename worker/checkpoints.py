"""The worker's half of `keras.callbacks.ModelCheckpoint` (imported in the child only).

Keras decides when to save (``save_best_only``, ``monitor``, ``mode``, ``save_freq``,
``initial_value_threshold``) with its own code; the file goes to a temporary
directory of the worker, never to a path the client named. Each saved file is stored
as a blob of the job's owner and announced by a ``checkpoint`` event, from which the
client writes it to the user's path (formatted there with ``epoch`` and the logs, as
Keras formats it). Decisions not to save are announced too, so the client can print
Keras's ``did not improve`` line.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from horn.schemas.events import Checkpoint
from horn.schemas.npy import to_npy_bytes
from horn.worker.events import EventSink, clean_logs

StoreFile = Callable[[bytes], str]
"""Stores a saved file's bytes as a blob of the job's owner; returns the blob id."""

_SUFFIX = {"keras": ".keras", "h5": ".h5", "weights.h5": ".weights.h5"}


def _number(value: Any) -> float | str | None:
    if value is None:
        return None
    return clean_logs({"v": value}).get("v")


class RemoteModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """Keras's ModelCheckpoint, saving into a private directory and reporting each
    decision as an event (``index`` tells the client which of its checkpoints it is)."""

    def __init__(self, index: int, sink: EventSink, store_file: StoreFile,
                 config: dict[str, Any]) -> None:
        self._dir = tempfile.mkdtemp(prefix="horn-checkpoint-")
        fmt = str(config.get("format", "keras"))
        super().__init__(
            os.path.join(self._dir, "checkpoint" + _SUFFIX[fmt]),
            monitor=config.get("monitor", "val_loss"), verbose=0,
            save_best_only=bool(config.get("save_best_only", False)),
            save_weights_only=bool(config.get("save_weights_only", False)),
            mode=config.get("mode", "auto"), save_freq=config.get("save_freq", "epoch"),
            initial_value_threshold=config.get("initial_value_threshold"))
        self.index = index
        self.sink = sink
        self.store_file = store_file
        self._decision: dict[str, Any] = {}

    def _should_save_model(self, epoch: int, batch: int | None, logs: dict[str, Any] | None,
                           filepath: str) -> bool:
        best_before = self.best
        save: bool = super()._should_save_model(epoch, batch, logs, filepath)
        current = (logs or {}).get(self.monitor) if self.save_best_only else None
        self._decision = {"saved": save, "best_before": _number(best_before),
                          "current": _number(current),
                          "missing_monitor": self.save_best_only and current is None}
        return save

    def _save_model(self, epoch: int, batch: int | None, logs: dict[str, Any] | None) -> None:
        self._decision = {}
        path = self._get_file_path(epoch, batch, logs)
        if os.path.exists(path):
            os.remove(path)
        super()._save_model(epoch, batch, logs)
        if not self._decision:
            return
        blob = None
        if self._decision["saved"]:
            with open(path, "rb") as handle:
                data = handle.read()
            blob = self.store_file(to_npy_bytes(np.frombuffer(data, dtype=np.uint8)))
        self.sink.emit(Checkpoint(index=self.index, epoch=epoch, batch=batch, blob=blob,
                                  monitor=self.monitor, logs=clean_logs(logs),
                                  **self._decision))

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)


def build(configs: list[dict[str, Any]], sink: EventSink, store_file: StoreFile,
          ) -> list[tuple[int, RemoteModelCheckpoint]]:
    """The checkpoints of a fit, each with its position among the remote callbacks."""
    return [(int(config.get("position", 0)), RemoteModelCheckpoint(i, sink, store_file, config))
            for i, config in enumerate(configs)]
