"""8. Scale-out: the same number of tiny predict jobs with one worker, then with two
(a second `horn worker` started for that phase): jobs per second and their ratio.

A few client threads keep jobs in flight (each its own model and API key); every model
has predicted once before the timing, and the new worker has run jobs before the
second phase.
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

from bench import models
from bench.context import Context
from bench.report import Row

NAME = "scaleout"
RATIO_TARGET = 1.8
"""What "close to 2" is taken to mean."""


def _phase(work: list[Any], x: Any, jobs: int) -> float:
    """Run `jobs` predictions spread over one thread per model; jobs per second."""
    taken = itertools.count()
    failures: list[BaseException] = []

    def loop(model: Any) -> None:
        try:
            while next(taken) < jobs:
                model.predict(x, verbose=0)
        except BaseException as exc:  # re-raised in the caller
            failures.append(exc)

    threads = [threading.Thread(target=loop, args=(m,)) for m in work]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    if failures:
        raise failures[0]
    return jobs / seconds


def run(ctx: Context) -> list[Row]:
    """One worker, then two."""
    import client

    sizes = ctx.sizes
    x, _ = models.data("tiny", 64)
    work = []
    for key in ctx.stack.create_keys("bench", sizes.scaleout_threads):
        model = models.build(client, "tiny")
        model._connection = client.Connection(ctx.stack.url, api_key=key)
        model.predict(x, verbose=0)
        work.append(model)
    one = _phase(work, x, sizes.scaleout_jobs)
    second = ctx.stack.start_worker()
    try:
        _phase(work, x, 2 * len(work))  # both workers warm
        two = _phase(work, x, sizes.scaleout_jobs)
    finally:
        ctx.stack.stop_worker(second)
        for model in work:
            model._connection.close()
    ratio = two / one
    return [
        Row(NAME, f"{sizes.scaleout_jobs} tiny predict jobs, 1 worker", f"{one:.1f} jobs/s",
            values={"jobs_per_s": one}),
        Row(NAME, f"{sizes.scaleout_jobs} tiny predict jobs, 2 workers", f"{two:.1f} jobs/s",
            values={"jobs_per_s": two}),
        Row(NAME, "  throughput ratio 2 workers / 1", f"{ratio:.2f}", "",
            f"close to 2 (>= {RATIO_TARGET})", ratio >= RATIO_TARGET, {"ratio": ratio}),
    ]
