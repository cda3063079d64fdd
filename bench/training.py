"""1. Training overhead: the same model, data, seed and epochs trained by local Keras and
through horn; wall time of the whole `fit` call each way, and the ratio.

Local and horn runs alternate (local, horn, local, horn, ...) so that a change in the
machine's load hits both sides alike. Each timed run builds a fresh seeded model; each
side first runs one untimed warm-up fit of two steps (for horn: it also uploads the
arrays, which later fits find on the server).
"""

from __future__ import annotations

import time

import numpy as np

from bench import models
from bench.context import Context, job_timing
from bench.report import Row, median, secs

NAME = "training"
TARGET = 1.10
GOAL = 1.05


def _horn_fit(name: str, x: np.ndarray, y: np.ndarray, epochs: int, batch_size: int
              ) -> tuple[float, str]:
    import client

    model = models.build(client, name, models.SEED)
    began = time.perf_counter()
    history = model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0)
    return time.perf_counter() - began, str(history.job_id)


def compare(ctx: Context, name: str, samples: int, label: str) -> list[Row]:
    """Time `fit` of model `name` on `samples` samples both ways; three rows."""
    sizes = ctx.sizes
    x, y = models.data(name, samples)
    paths = {part: ctx.workdir / f"{name}-{part}.npy" for part in ("x", "y")}
    np.save(paths["x"], x)
    np.save(paths["y"], y)
    import client

    warm = models.build(client, name, models.SEED)
    warm.fit(x, y, epochs=1, batch_size=sizes.batch_size, steps_per_epoch=2, verbose=0)
    local: list[float] = []
    horn: list[float] = []
    inside: list[float] = []
    for _ in range(sizes.repeats):
        local += ctx.local.call("fit", model=name, x=str(paths["x"]), y=str(paths["y"]),
                                epochs=sizes.epochs, batch_size=sizes.batch_size,
                                repeats=1)["seconds"]
        seconds, job_id = _horn_fit(name, x, y, sizes.epochs, sizes.batch_size)
        horn.append(seconds)
        inside.append(job_timing(ctx.conn, job_id).training)
    for path in paths.values():
        path.unlink()
    ratio = median(horn) / median(local)
    what = f"{label} {'x'.join(map(str, x.shape))}, {sizes.epochs} epochs"
    values = {"horn_s": horn, "local_s": local, "worker_fit_s": inside}
    return [
        Row(NAME, f"{what}: fit wall time", secs(median(horn)),
            f"{secs(median(local))} local", values=values),
        Row(NAME, f"{label}: ratio horn/local", f"{ratio:.3f}", "",
            f"<= {TARGET:.2f} (goal {GOAL:.2f})", ratio <= TARGET, {"ratio": ratio}),
        Row(NAME, f"{label}: Keras fit on the worker / rest of the call",
            f"{secs(median(inside))} / {secs(median(horn) - median(inside))}",
            values={"worker_fit_s": median(inside)}),
    ]


def run(ctx: Context) -> list[Row]:
    """Both models of the issue: the MLP and the small convnet."""
    return (compare(ctx, "mlp", ctx.sizes.mlp_samples, "MLP")
            + compare(ctx, "convnet", ctx.sizes.conv_samples, "convnet"))
