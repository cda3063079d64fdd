"""6. Event latency: an epoch's end on the worker -> the client's `on_epoch_end` called.

The worker's side is the `time` of the `epoch_end` event: the worker's clock when
Keras called its `on_epoch_end`, before the checkpoint is packed and written with the
event. The client's side is `time.time()` in a local callback. Same machine, one
clock.
"""

from __future__ import annotations

import time
from typing import Any

from bench import models
from bench.context import Context
from bench.report import Row, median, ms, percentile

NAME = "events"
P95_TARGET_S = 0.100
SAMPLES = 2048


def _clock() -> Any:
    from horn.keras.callbacks import Callback

    class Clock(Callback):
        """Notes when each `on_epoch_end` is called."""

        def __init__(self) -> None:
            super().__init__()
            self.seen: dict[int, float] = {}

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self.seen[epoch] = time.time()

    return Clock()


def _worker_times(conn: Any, job_id: str) -> dict[int, float]:
    return {int(event.data["epoch"]): float(event.data["time"])
            for event in conn.events(job_id) if event.type == "epoch_end"}


def delays(ctx: Context, name: str) -> list[float]:
    """Seconds from each epoch's end on the worker to `on_epoch_end` in the client, over
    `event_fits` fits of model `name` for `event_epochs` epochs on a small set."""
    from horn import keras
    x, y = models.data(name, SAMPLES)
    found: list[float] = []
    for _ in range(ctx.sizes.event_fits):
        clock = _clock()
        model = models.build(keras, name)
        history = model.fit(x, y, epochs=ctx.sizes.event_epochs, batch_size=128, verbose=0,
                            callbacks=[clock])
        worker = _worker_times(ctx.conn, str(history.job_id))
        found += [clock.seen[epoch] - worker[epoch] for epoch in sorted(clock.seen)]
    return found


def run(ctx: Context) -> list[Row]:
    """The MLP (a 2.8 MB checkpoint with each epoch), then the tiny model (a small one):
    the difference is the checkpoint's write, in the same transaction as the event."""
    rows = []
    for name, label in (("mlp", "MLP"), ("tiny", "tiny model")):
        found = delays(ctx, name)
        p95 = percentile(found, 95)
        rows.append(Row(NAME, f"epoch end on worker -> client on_epoch_end, {label}: p95",
                        ms(p95), f"p50 {ms(median(found))}, max {ms(max(found))}",
                        f"<= {ms(P95_TARGET_S)}", p95 <= P95_TARGET_S, {"delays_s": found}))
    return rows
