"""7. Worker stability: the resident memory (VmRSS) of the worker's child across many
sequential small jobs (a fresh tiny model fitted for one epoch, then used to predict,
alternately). The growth is the last reading minus the one after the first job (the
first job loads what every job then reuses); the growth over the second half of the
jobs, once the child's warm-model cache is full, shows whether anything still leaks."""

from __future__ import annotations

from typing import Any

from bench import models
from bench.context import Context
from bench.report import Row, mb
from bench.stack import rss_bytes

NAME = "stability"
GROWTH_TARGET = 50e6


def run(ctx: Context) -> list[Row]:
    """Run the jobs, reading the child's RSS after each."""
    from horn import keras
    x, y = models.data("tiny", ctx.sizes.tiny_samples)
    child = ctx.stack.worker_child()
    readings: list[int] = []
    model: Any = None
    for i in range(ctx.sizes.stability_jobs):
        if i % 2 == 0:
            model = models.build(keras, "tiny")
            model.fit(x, y, epochs=1, verbose=0)
        else:
            model.predict(x, verbose=0)
        now = ctx.stack.worker_child()
        if now != child:
            ctx.notes.append(f"stability: the worker child was replaced after job {i + 1}; "
                             "readings restart with the new child")
            child, readings = now, []
        readings.append(rss_bytes(child))
    growth = readings[-1] - readings[0]
    half = len(readings) // 2
    late = readings[-1] - readings[half]
    return [Row(NAME, f"worker child RSS over {ctx.sizes.stability_jobs} jobs: growth",
                mb(growth), f"{mb(readings[0])} after job 1, max {mb(max(readings))}",
                f"<= {mb(GROWTH_TARGET)}", growth <= GROWTH_TARGET,
                {"rss_bytes": readings}),
            Row(NAME, f"  of which over the last {len(readings) - half - 1} jobs", mb(late),
                "the warm-model cache is full by then (HORN_MODEL_CACHE_SIZE)",
                values={"late_growth_bytes": late})]
