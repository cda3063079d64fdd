"""Keras callbacks (``keras.callbacks``) for horn.

Two kinds, as the design asks:

* `Callback` is a LOCAL base class mirroring ``keras.callbacks.Callback``. Subclass it;
  your hooks run in your own process, called by ``fit``/``evaluate``/``predict`` from
  the worker's events (``on_epoch_end(epoch, logs)`` and friends).
* The built-in callbacks whose arguments are plain values (``EarlyStopping``,
  ``ReduceLROnPlateau``, ``TerminateOnNaN``, ...) are catalog objects that also
  subclass `Callback` and have ``_remote = True``: they are sent by ``_serialize()``
  and run on the worker.

``LambdaCallback`` runs locally. Callbacks that write files, call URLs or take Python
functions for the worker (``ModelCheckpoint``, ``TensorBoard``, ``CSVLogger``,
``BackupAndRestore``, ``RemoteMonitor``, ``LearningRateScheduler``) refuse construction
with the reason and what to do instead.

Example:
    >>> from client import callbacks
    >>> callbacks.EarlyStopping(patience=2)._remote
    True
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from typing import Any

from client._namespace import install_namespace, missing_attribute

Logs = dict[str, Any] | None


class Callback:
    """Base class for callbacks that run in your own process (``keras.callbacks.Callback``).

    Attributes:
        model: The model being trained (set by `set_model`).
        params: Training parameters (``verbose``, ``epochs``, ``steps``), set by `set_params`.

    Example:
        >>> class Printer(Callback):
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         print(epoch, logs)
    """

    _remote = False

    def __init__(self) -> None:
        self.model: Any = None
        self.params: dict[str, Any] = {}
        self.validation_data: Any = None

    def set_params(self, params: dict[str, Any]) -> None:
        """Store the training parameters."""
        self.params = params

    def set_model(self, model: Any) -> None:
        """Store the model being trained."""
        self.model = model

    def on_batch_begin(self, batch: int, logs: Logs = None) -> None:
        """A backwards-compatibility alias for `on_train_batch_begin`."""

    def on_batch_end(self, batch: int, logs: Logs = None) -> None:
        """A backwards-compatibility alias for `on_train_batch_end`."""

    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        """Called at the start of an epoch (training only)."""

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        """Called at the end of an epoch with its metrics (``val_`` ones included)."""

    def on_train_batch_begin(self, batch: int, logs: Logs = None) -> None:
        """Called at the beginning of a training batch."""
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
        """Called at the end of a training batch."""
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch: int, logs: Logs = None) -> None:
        """Called at the beginning of a batch in `evaluate`."""

    def on_test_batch_end(self, batch: int, logs: Logs = None) -> None:
        """Called at the end of a batch in `evaluate`."""

    def on_predict_batch_begin(self, batch: int, logs: Logs = None) -> None:
        """Called at the beginning of a batch in `predict`."""

    def on_predict_batch_end(self, batch: int, logs: Logs = None) -> None:
        """Called at the end of a batch in `predict`."""

    def on_train_begin(self, logs: Logs = None) -> None:
        """Called at the beginning of training."""

    def on_train_end(self, logs: Logs = None) -> None:
        """Called at the end of training."""

    def on_test_begin(self, logs: Logs = None) -> None:
        """Called at the beginning of evaluation or validation."""

    def on_test_end(self, logs: Logs = None) -> None:
        """Called at the end of evaluation or validation."""

    def on_predict_begin(self, logs: Logs = None) -> None:
        """Called at the beginning of prediction."""

    def on_predict_end(self, logs: Logs = None) -> None:
        """Called at the end of prediction."""


_Hook = Callable[..., Any] | None


class LambdaCallback(Callback):
    """``keras.callbacks.LambdaCallback``: a callback built from functions, run locally.

    Args:
        on_epoch_begin, on_epoch_end: called with ``(epoch, logs)``.
        on_train_begin, on_train_end: called with ``(logs)``.
        on_train_batch_begin, on_train_batch_end: called with ``(batch, logs)``.
        **kwargs: any other hook, e.g. ``on_test_end=...``.
    """

    def __init__(
        self,
        on_epoch_begin: _Hook = None,
        on_epoch_end: _Hook = None,
        on_train_begin: _Hook = None,
        on_train_end: _Hook = None,
        on_train_batch_begin: _Hook = None,
        on_train_batch_end: _Hook = None,
        **kwargs: Callable[..., Any],
    ) -> None:
        super().__init__()
        hooks = {
            "on_epoch_begin": on_epoch_begin,
            "on_epoch_end": on_epoch_end,
            "on_train_begin": on_train_begin,
            "on_train_end": on_train_end,
            "on_train_batch_begin": on_train_batch_begin,
            "on_train_batch_end": on_train_batch_end,
            **kwargs,
        }
        for hook, fn in hooks.items():
            if not hook.startswith("on_") or not hasattr(Callback, hook):
                raise ValueError(f"Unrecognized callback hook for LambdaCallback: `{hook}`")
            if fn is not None:
                setattr(self, hook, fn)


class CSVLogger(Callback):
    """Streams epoch results to a CSV file in your process, as `keras.callbacks.CSVLogger`.

    Args:
        filename: the CSV file to write.
        separator: the field separator.
        append: append to an existing file instead of overwriting it.
    """

    def __init__(self, filename: str, separator: str = ",", append: bool = False) -> None:
        super().__init__()
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = append
        self._file: Any = None
        self._writer: Any = None
        self._keys: list[str] | None = None
        self._header = True

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._header = True
        if self.append and os.path.exists(self.filename):
            with open(self.filename) as existing:
                self._header = not existing.readline()
        if self._file is not None and not self._file.closed:
            self._file.close()
        self._file = open(self.filename, "a" if self.append else "w", newline="")  # noqa: SIM115
        self._writer, self._keys = None, None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        if self._keys is None:
            self._keys = sorted(logs)
            if self._keys and not any(k.startswith("val_") for k in self._keys):
                self._keys += [f"val_{k}" for k in self._keys]
        if self._writer is None:
            dialect = type("HornDialect", (csv.excel,), {"delimiter": self.sep})
            self._writer = csv.DictWriter(self._file, fieldnames=["epoch", *self._keys],
                                          dialect=dialect)
            if self._header:
                self._writer.writeheader()
        self._writer.writerow({"epoch": epoch,
                               **{k: logs.get(k, "NA") for k in self._keys}})
        self._file.flush()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._file is not None and not self._file.closed:
            self._file.close()
        self._writer = None


__all__ = install_namespace("callbacks", globals(), extra=["Callback"], extra_bases=(Callback,))


def __getattr__(name: str) -> Any:
    """Generated names are set at import; anything else is a misspelling."""
    raise missing_attribute(__name__, "callbacks", name)
