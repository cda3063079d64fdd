"""3. Manual batches: `train_on_batch` and `predict_on_batch` on 32x784 through horn's
session versus local Keras, median seconds per call (after warm-up calls; the first
call opens the session). Also local Keras with a pause before each call as long as
horn's part of a `predict_on_batch`: the time TensorFlow's threads on the worker sit idle
between two calls, and then take to wake up (no target: the row says how much of horn's
overhead that is)."""

from __future__ import annotations

import time
from collections.abc import Callable

from bench import models
from bench.context import Context
from bench.report import Row, median, ms

NAME = "batches"
MARGIN_S = 0.005
BATCH = 32
WARMUP = 5


def _timed(call: Callable[[], object], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        began = time.perf_counter()
        call()
        samples.append(time.perf_counter() - began)
    return samples


def run(ctx: Context) -> list[Row]:
    """Time both calls both ways."""
    from horn import keras
    from horn.keras.models import batches as _batches

    calls = ctx.sizes.batch_calls
    model = models.build(keras, "mlp")
    x, y = models.data("mlp", BATCH)
    for _ in range(WARMUP):
        model.train_on_batch(x, y)
        model.predict_on_batch(x)
    horn = {"train": _timed(lambda: model.train_on_batch(x, y), calls),
            "predict": _timed(lambda: model.predict_on_batch(x), calls)}
    _batches.close(model)  # write the weights back, free the worker
    local = ctx.local.call("batches", model="mlp", calls=calls, batch_size=BATCH)
    # Between two of horn's calls Keras's threads on the worker wait out the transport;
    # the same pause in the local process shows what that idling costs Keras itself.
    pause = max(0.0, median(horn["predict"]) - median(local["predict"]))
    paused = ctx.local.call("batches", model="mlp", calls=calls, batch_size=BATCH,
                            pause_s=pause)
    rows = []
    for op in ("train", "predict"):
        h, loc = median(horn[op]), median(local[op])
        rows.append(Row(NAME, f"{op}_on_batch {BATCH}x784: median per call", ms(h),
                        f"{ms(loc)} local", f"<= local + {ms(MARGIN_S)}",
                        h <= loc + MARGIN_S, {"horn_s": horn[op], "local_s": local[op]}))
        rows.append(Row(NAME, f"  local, with a {ms(pause)} pause before each call",
                        ms(median(paused[op])), "(horn's predict overhead, idle)",
                        values={"local_paused_s": paused[op], "pause_s": pause}))
    return rows
