"""`History`: what `fit` returns, as in Keras."""

from __future__ import annotations

from typing import Any

from client.callbacks import Callback


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
