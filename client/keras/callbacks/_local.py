"""The callbacks that run in the user's own process (``horn.keras.callbacks``).

`Callback` mirrors ``keras.callbacks.Callback``; the generated remote callbacks also
subclass it. `LambdaCallback`, `CSVLogger` and `History` run here only;
`ModelCheckpoint` writes, here, the files the worker decides to save.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from typing import Any

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


class ModelCheckpoint(Callback):
    """Saves the model or its weights as training goes, as `keras.callbacks.ModelCheckpoint`.

    The worker decides when to save with Keras's own logic (``save_best_only`` against
    ``monitor`` in ``mode``, every epoch or every ``save_freq`` batches) and the saved
    file is written to ``filepath`` on this machine, formatted with ``epoch`` (1-based)
    and the epoch's logs as Keras formats it (``"model-{epoch:02d}-{val_loss:.2f}.keras"``),
    before your other callbacks see that epoch's end.

    Args:
        filepath: Where to write; ends in ``.keras`` (``.weights.h5`` with
            ``save_weights_only=True``).
        monitor: The metric compared by ``save_best_only``.
        verbose: 1 prints Keras's messages when a file is saved (or not).
        save_best_only: Save only when ``monitor`` improved.
        save_weights_only: Write ``model.save_weights`` files instead of ``.keras`` ones.
        mode: ``"auto"``, ``"min"`` or ``"max"``.
        save_freq: ``"epoch"`` or a number of batches.
        initial_value_threshold: The value ``monitor`` must beat for the first save.
    """

    _remote = False  # travels as a checkpoint, not as a plain remote callback

    def __init__(self, filepath: str | os.PathLike[str], monitor: str = "val_loss",
                 verbose: int = 0, save_best_only: bool = False,
                 save_weights_only: bool = False, mode: str = "auto",
                 save_freq: str | int = "epoch",
                 initial_value_threshold: float | None = None) -> None:
        super().__init__()
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self.initial_value_threshold = initial_value_threshold
        if mode not in ("auto", "min", "max"):
            import warnings

            warnings.warn(f"ModelCheckpoint mode '{mode}' is unknown, fallback to auto mode.",
                          stacklevel=2)
            mode = "auto"
        self.mode = mode
        if save_freq != "epoch" and (not isinstance(save_freq, int)
                                     or isinstance(save_freq, bool)):
            raise ValueError(f"Unrecognized save_freq: {save_freq}. "
                             "Expected save_freq are 'epoch' or integer values")
        if save_weights_only:
            if not self.filepath.endswith(".weights.h5"):
                raise ValueError(
                    "When using `save_weights_only=True` in `ModelCheckpoint`, the filepath "
                    "provided must end in `.weights.h5` (Keras weights format). Received: "
                    f"filepath={self.filepath}")
        elif not self.filepath.endswith((".keras", ".h5")):
            raise ValueError("The filepath provided must end in `.keras` (Keras model "
                             f"format). Received: filepath={self.filepath}")
        self.best: float | None = initial_value_threshold

    def _checkpoint_args(self, position: int) -> dict[str, Any]:
        """What the worker needs (never the path): see `horn.schemas.api.CheckpointArgs`."""
        fmt = "weights.h5" if self.save_weights_only else \
            ("keras" if self.filepath.endswith(".keras") else "h5")
        return {"position": position, "format": fmt, "monitor": self.monitor,
                "mode": self.mode, "save_best_only": self.save_best_only,
                "save_weights_only": self.save_weights_only, "save_freq": self.save_freq,
                "initial_value_threshold": self.initial_value_threshold}

    def _file_path(self, epoch: int, batch: int | None, logs: dict[str, Any]) -> str:
        """``filepath`` formatted as Keras formats it."""
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". '
                           f"Reason: {e}") from None

    def _on_checkpoint(self, data: dict[str, Any], fetch: Callable[[str], bytes]) -> None:
        """A decision of the worker: print Keras's messages and write the saved file."""
        logs = {k: float(v) for k, v in (data.get("logs") or {}).items()}
        epoch = int(data["epoch"])
        batch = data.get("batch")
        path = self._file_path(epoch, None if batch is None else int(batch), logs)
        if self.save_best_only and data.get("missing_monitor"):
            import warnings

            warnings.warn(f"Can save best model only with {self.monitor} available.",
                          stacklevel=2)
        elif self.save_best_only and self.verbose > 0:
            before = data.get("best_before")
            best_str = "None" if before is None else f"{float(before):.5f}"
            if data.get("saved"):
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_str} to "
                      f"{float(data['current']):.5f}, saving model to {path}", flush=True)
            else:
                print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_str}",
                      flush=True)
        elif self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: saving model to {path}", flush=True)
        if not data.get("saved") or not data.get("blob"):
            return
        if self.save_best_only and data.get("current") is not None:
            self.best = float(data["current"])
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        partial = f"{path}.horn-partial"
        with open(partial, "wb") as handle:
            handle.write(fetch(str(data["blob"])))
        os.replace(partial, path)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: finished saving model to {path}", flush=True)


class History(Callback):
    """Records the events of `fit`: `history` (metric name -> one value per epoch),
    `epoch` (the epoch indices) and `params` (`verbose`, `epochs`, `steps`).

    Example:
        >>> history = model.fit(x, y, epochs=3)  # doctest: +SKIP
        >>> history.history["loss"]  # doctest: +SKIP
        [0.61, 0.42, 0.35]
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.epoch = []

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        if self.model is not None:
            self.model.history = self

    def __repr__(self) -> str:
        return f"<History epochs={len(self.epoch)} keys={sorted(self.history)}>"
