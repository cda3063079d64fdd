"""8. Scale-out: the same number of tiny predict jobs with one worker, then with two
(a second `horn worker` started for that phase): jobs per second and their ratio.

A few client threads keep jobs in flight (each its own model and API key); every model
has predicted once before the timing, and the new worker has run jobs before the
second phase.

Each phase runs its workers as an operator would on this machine: one worker with
TensorFlow's default thread pools (one thread per core), two workers with half the cores'
threads each (`TF_NUM_INTRAOP_THREADS`, `TF_NUM_INTEROP_THREADS`; docs/deploy.md). Two
workers with a thread per core each oversubscribe the cores: on 2 cores each job then
cost 19% more CPU than with one worker, against 1-7% with the threads shared out (one
run each).

What the machine allows is printed beside the ratio: with one worker the whole stack
kept `b` cores busy, so with two it can at most run `cores / b` times as many jobs per
second (and at most twice as many): the ratio's ceiling on this machine.
"""

from __future__ import annotations

import itertools
import os
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
    return _measured(work, x, jobs, None)[0]


def _measured(work: list[Any], x: Any, jobs: int, stack: Any
              ) -> tuple[float, dict[str, float]]:
    """`_phase`, and the cores each part of the stack kept busy meanwhile (CPU seconds
    per second of the phase; empty without `stack`)."""
    taken = itertools.count()
    failures: list[BaseException] = []

    def loop(model: Any) -> None:
        try:
            while next(taken) < jobs:
                model.predict(x, verbose=0)
        except BaseException as exc:  # re-raised in the caller
            failures.append(exc)

    threads = [threading.Thread(target=loop, args=(m,)) for m in work]
    cpu_before = stack.cpu_by_part() if stack is not None else {}
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    cpu_after = stack.cpu_by_part() if stack is not None else {}
    if failures:
        raise failures[0]
    return jobs / seconds, {part: (cpu_after[part] - cpu_before[part]) / seconds
                            for part in cpu_after}


def shared_threads(workers: int) -> dict[str, str]:
    """The environment that gives each of `workers` workers on this machine an equal
    share of its cores for TensorFlow's thread pools."""
    threads = str(max(1, (os.cpu_count() or 1) // workers))
    return {"TF_NUM_INTRAOP_THREADS": threads, "TF_NUM_INTEROP_THREADS": threads}


def _cores(busy: dict[str, float]) -> str:
    return ", ".join(f"{part} {value:.2f}" for part, value in busy.items()) + \
        f"; total {sum(busy.values()):.2f} of {os.cpu_count()}"


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
    one, busy_one = _measured(work, x, sizes.scaleout_jobs, ctx.stack)
    first = ctx.stack.workers[0]
    pair = [ctx.stack.start_worker(wait=False, env=shared_threads(2)) for _ in range(2)]
    try:
        for worker in pair:
            ctx.stack.wait_worker_ready(worker)
        ctx.stack.stop_worker(first)
        _phase(work, x, 4 * len(work))  # every model warm on both workers
        two, busy_two = _measured(work, x, sizes.scaleout_jobs, ctx.stack)
    finally:
        for worker in pair:
            ctx.stack.stop_worker(worker)
        if first not in ctx.stack.workers:  # as before, for any group after this one
            ctx.stack.start_worker()
        for model in work:
            model._connection.close()
    ratio = two / one
    # Two workers can at most double one worker's rate, and all the parts together can
    # at most keep every core busy: with one worker `sum(busy_one)` cores were busy.
    cores = os.cpu_count() or 1
    ceiling = min(2.0, cores / sum(busy_one.values())) if busy_one else 2.0
    return [
        Row(NAME, f"{sizes.scaleout_jobs} tiny predict jobs, 1 worker", f"{one:.1f} jobs/s",
            values={"jobs_per_s": one}),
        Row(NAME, "  cores busy, 1 worker", _cores(busy_one), values={"cores": busy_one}),
        Row(NAME, f"{sizes.scaleout_jobs} tiny predict jobs, 2 workers", f"{two:.1f} jobs/s",
            values={"jobs_per_s": two}),
        Row(NAME, "  cores busy, 2 workers", _cores(busy_two), values={"cores": busy_two}),
        Row(NAME, "  throughput ratio 2 workers / 1", f"{ratio:.2f}",
            f"ceiling {ceiling:.2f} on {cores} cores", f"close to 2 (>= {RATIO_TARGET})",
            ratio >= RATIO_TARGET, {"ratio": ratio, "ceiling": ceiling}),
    ]
