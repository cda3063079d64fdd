"""2. Fixed latency: a tiny model, one epoch on 256 samples, from `fit` called to
`History` returned, minus the worker's own training time (`fit_seconds` of the job's
result: Keras's whole `fit` call on the worker, which a local `fit` costs as well).
The floor is an empty Celery task's round trip through the same Redis
(`bench.celery_floor`).

Where the rest goes, from the job row's timestamps (same machine, one clock):
`submit` is `fit` called -> job row created (model registered, arrays checked, request);
`queue` is created -> claimed by the worker (broker send, delivery, claim);
`worker` is claimed -> finished, outside Keras's `fit` (load arrays, build and compile
the model or take the warm one, store weights, record the outcome);
`return` is finished -> `History` in hand (event poll, stream, result).
"""

from __future__ import annotations

import time
from typing import Any

from bench import celery_floor, models
from bench.context import Context, job_timing
from bench.report import Row, median, ms

NAME = "latency"
TARGET_S = 0.150
WARMUP = 1
"""Untimed fits first (the worker is warm already; this absorbs a fresh child)."""


def _one_fit(ctx: Context, model: Any, x: object, y: object) -> dict[str, float]:
    wall0, began = time.time(), time.perf_counter()
    job = model.fit(x, y, epochs=1, verbose=0, wait=False)
    job.wait()
    total, wall2 = time.perf_counter() - began, time.time()
    timing = job_timing(ctx.conn, job.id)
    return {"total": total, "training": timing.training,
            "fixed": total - timing.training,
            "submit": timing.created - wall0, "queue": timing.started - timing.created,
            "worker": timing.finished - timing.started - timing.training,
            "return": wall2 - timing.finished}


def _rows(label: str, runs: list[dict[str, float]], floor: float) -> list[Row]:
    parts = {key: median([r[key] for r in runs]) for key in runs[0]}
    raw = {key: [r[key] for r in runs] for key in runs[0]}
    return [
        Row(NAME, f"{label}: fit -> History", ms(parts["total"]),
            f"worker fit {ms(parts['training'])}", values=raw),
        Row(NAME, f"{label}: fixed latency (wall - worker fit)", ms(parts["fixed"]),
            f"{ms(floor)} Celery floor", f"<= {ms(TARGET_S)}", parts["fixed"] <= TARGET_S,
            {"fixed_s": parts["fixed"]}),
        Row(NAME, "  submit / queue / worker / return",
            " / ".join(f"{parts[k] * 1000:.0f}" for k in ("submit", "queue", "worker",
                                                          "return")) + " ms"),
    ]


def run(ctx: Context) -> list[Row]:
    """Time the tiny fit on a fresh model each time (a script's first fit), then again
    and again on one model (a notebook's next fits), then the Celery floor."""
    from horn import keras
    sizes = ctx.sizes
    x, y = models.data("tiny", sizes.tiny_samples)
    fresh = [_one_fit(ctx, models.build(keras, "tiny"), x, y)
             for _ in range(WARMUP + sizes.tiny_repeats)][WARMUP:]
    model = models.build(keras, "tiny")
    again = [_one_fit(ctx, model, x, y) for _ in range(WARMUP + sizes.tiny_repeats)][WARMUP:]
    floor = celery_floor.round_trips(ctx.stack.env["HORN_BROKER_URL"],
                                     f"{ctx.stack.queue}-floor", sizes.floor_repeats,
                                     ctx.workdir / "celery-floor.log")
    what = f"tiny fit ({sizes.tiny_samples} samples, 1 epoch)"
    return (_rows(f"{what}, new model", fresh, median(floor))
            + _rows(f"{what}, same model again", again, median(floor))
            + [Row(NAME, "Celery+Redis empty task round trip", ms(median(floor)),
                   values={"floor_s": floor})])
