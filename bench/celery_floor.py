"""The floor under horn's fixed latency: an empty Celery task's round trip through the
same Redis, with a worker configured as horn's (prefork, one child, late acks,
prefetch 1, JSON), the result coming back through Redis.

The Celery app is this module (`celery -A bench.celery_floor worker`); the broker URL
and queue come from `HORN_BENCH_FLOOR_BROKER` and `HORN_BENCH_FLOOR_QUEUE`.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from celery import Celery

from tests.integration import stack as procs

BROKER = os.environ.get("HORN_BENCH_FLOOR_BROKER", "redis://127.0.0.1:6379/0")
QUEUE = os.environ.get("HORN_BENCH_FLOOR_QUEUE", "horn-bench-floor")

app = Celery("horn-bench-floor", broker=BROKER, backend=BROKER)
app.conf.update(task_serializer="json", accept_content=["json"], result_serializer="json",
                task_acks_late=True, worker_prefetch_multiplier=1, result_expires=300,
                task_default_queue=QUEUE, broker_connection_retry_on_startup=True,
                worker_hijack_root_logger=False)


@app.task(name="horn_bench.noop")
def noop() -> None:
    """Do nothing."""


def round_trips(broker: str, queue: str, repeats: int, log: Path) -> list[float]:
    """Start a worker for the no-op task, then time `repeats` round trips
    (`apply_async(...).get()`), after warm-up ones."""
    env = dict(os.environ, HORN_BENCH_FLOOR_BROKER=broker, HORN_BENCH_FLOOR_QUEUE=queue)
    worker = procs.spawn([procs.python(), "-m", "celery", "-A", "bench.celery_floor",
                          "worker", "--hostname", f"{queue}@%h", "--pool", "prefork",
                          "--concurrency", "1", "-Q", queue, "--without-mingle",
                          "--without-gossip", "--loglevel", "WARNING"], env, log)
    try:
        sender = Celery("horn-bench-floor-client", broker=broker, backend=broker)
        sender.conf.update(task_serializer="json", accept_content=["json"],
                           result_serializer="json")
        deadline = time.monotonic() + 60
        while True:  # the first answer says the worker is up
            try:
                sender.send_task("horn_bench.noop", queue=queue).get(timeout=5)
                break
            except Exception:
                if time.monotonic() > deadline or worker.poll() is not None:
                    raise
        for _ in range(5):
            sender.send_task("horn_bench.noop", queue=queue).get(timeout=10)
        samples = []
        for _ in range(repeats):
            began = time.perf_counter()
            sender.send_task("horn_bench.noop", queue=queue).get(timeout=10)
            samples.append(time.perf_counter() - began)
        sender.close()
        return samples
    finally:
        procs.stop(worker)
