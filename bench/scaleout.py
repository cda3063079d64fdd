"""8. Scale-out: the same number of tiny predict jobs with one worker and with two:
jobs per second and their ratio.

A few client threads keep jobs in flight (each its own model and API key); every model
has predicted on every worker before the timing.

Each configuration runs its workers as an operator would on this machine: one worker
with TensorFlow's default thread pools (one thread per core), two workers with half the
cores' threads each (`TF_NUM_INTRAOP_THREADS`, `TF_NUM_INTEROP_THREADS`; docs/deploy.md).
Two workers with a thread per core each oversubscribe the cores: on 2 cores each job
then cost 19% more CPU than with one worker, against 1-7% with the threads shared out
(one run each).

All three workers run throughout, the pair on a queue of its own (the jobs name it,
as a user names a hardware queue), and the two configurations take turns: `rounds`
phases each, in the order one-two, two-one, one-two, ... The VM's speed drifts by a
third from one minute to the next (one worker's rate at the same cores busy: 8.8 and
11.4 jobs/s in two runs of the same code), and when each configuration ran once, one
after the other, that drift went straight into the ratio. Each figure is the median of
its configuration's phases; an idle worker waits on Redis and uses no measurable CPU.

What the machine allows is printed beside the ratio: with one worker the whole stack
kept `b` cores busy, so with two it can at most run `cores / b` times as many jobs per
second (and at most twice as many): the ratio's ceiling on this machine.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from bench import models
from bench.context import Context
from bench.report import Row, median

NAME = "scaleout"
RATIO_TARGET = 1.8
"""What "close to 2" is taken to mean."""


def _phase(work: list[Any], x: Any, jobs: int, queue: str | None = None) -> float:
    """Run `jobs` predictions spread over one thread per model; jobs per second."""
    return _measured(work, x, jobs, None, queue)[0]


def _measured(work: list[Any], x: Any, jobs: int, stack: Any, queue: str | None = None
              ) -> tuple[float, dict[str, float]]:
    """`_phase`, and the cores each part of the stack kept busy meanwhile (CPU seconds
    per second of the phase; empty without `stack`). Jobs go to `queue` (the stack's
    own when None)."""
    taken = itertools.count()
    failures: list[BaseException] = []

    def loop(model: Any) -> None:
        try:
            while next(taken) < jobs:
                model.predict(x, verbose=0, queue=queue)
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


@dataclass
class _Phases:
    """The phases one configuration ran: jobs per second, and cores busy, of each."""

    rates: list[float] = field(default_factory=list)
    busy: list[dict[str, float]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return median(self.rates)

    @property
    def cores(self) -> dict[str, float]:
        """The median of each part's cores busy."""
        return {part: median([b[part] for b in self.busy]) for part in self.busy[0]}


def run(ctx: Context) -> list[Row]:
    """One worker and two, taking turns."""
    import horn
    from horn import keras
    sizes = ctx.sizes
    x, _ = models.data("tiny", 64)
    work = []
    for key in ctx.stack.create_keys("bench", sizes.scaleout_threads):
        model = models.build(keras, "tiny")
        model._connection = horn.Connection(ctx.stack.url, api_key=key)
        model.predict(x, verbose=0)
        work.append(model)
    pair_queue = f"{ctx.stack.queue}-pair"
    env = {"HORN_QUEUE": pair_queue, **shared_threads(2)}
    pair = [ctx.stack.start_worker(wait=False, env=env) for _ in range(2)]
    one, two = _Phases(), _Phases()
    try:
        for worker in pair:
            ctx.stack.wait_worker_ready(worker)
        _phase(work, x, 4 * len(work), pair_queue)  # every model warm on both workers
        for round_ in range(sizes.scaleout_rounds):
            turns = [(one, None), (two, pair_queue)]
            for phases, queue in turns[::-1] if round_ % 2 else turns:
                rate, busy = _measured(work, x, sizes.scaleout_jobs, ctx.stack, queue)
                phases.rates.append(rate)
                phases.busy.append(busy)
    finally:
        for worker in pair:
            ctx.stack.stop_worker(worker)
        for model in work:
            model._connection.close()
    ratio = two.rate / one.rate
    # Two workers can at most double one worker's rate, and all the parts together can
    # at most keep every core busy: with one worker `sum(one.cores)` cores were busy.
    cores = os.cpu_count() or 1
    ceiling = min(2.0, cores / sum(one.cores.values()))
    rounds = sizes.scaleout_rounds
    each = f"median of {rounds} phases" if rounds > 1 else "one phase"
    return [
        Row(NAME, f"{sizes.scaleout_jobs} tiny predict jobs, 1 worker", f"{one.rate:.1f} jobs/s",
            f"{each}: {_rates(one.rates)}", values={"jobs_per_s": one.rates}),
        Row(NAME, "  cores busy, 1 worker", _cores(one.cores), values={"cores": one.busy}),
        Row(NAME, f"{sizes.scaleout_jobs} tiny predict jobs, 2 workers", f"{two.rate:.1f} jobs/s",
            f"{each}: {_rates(two.rates)}", values={"jobs_per_s": two.rates}),
        Row(NAME, "  cores busy, 2 workers", _cores(two.cores), values={"cores": two.busy}),
        Row(NAME, "  throughput ratio 2 workers / 1", f"{ratio:.2f}",
            f"ceiling {ceiling:.2f} on {cores} cores", f"close to 2 (>= {RATIO_TARGET})",
            ratio >= RATIO_TARGET, {"ratio": ratio, "ceiling": ceiling}),
    ]


def _rates(rates: list[float]) -> str:
    return ", ".join(f"{rate:.1f}" for rate in rates)
