"""Queue names: one Celery queue per (named queue, priority).

A job on queue `gpu-a100` with priority `high` goes to `gpu-a100.high`; `normal` to
`gpu-a100` itself; `low` to `gpu-a100.low`. A worker started on `gpu-a100` consumes
the three, in that order (Celery's `queue_order_strategy="priority"`), so it drains
high before normal before low.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

Priority = Literal["high", "normal", "low"]
PRIORITIES: tuple[Priority, ...] = ("high", "normal", "low")
QUEUE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,79}$")


def check_queue_name(name: str) -> str:
    """Return `name` if it is a valid queue name, else raise ValueError."""
    if not QUEUE_NAME.fullmatch(name):
        raise ValueError(
            "Expected a queue name of letters, digits, '-' and '_' (at most 80, starting "
            f"with a letter or digit), e.g. 'gpu-a100'. Received: queue={name[:100]!r}")
    return name


def queue_for(queue: str, priority: str) -> str:
    """The Celery queue a job of this named queue and priority is sent to."""
    return queue if priority == "normal" else f"{queue}.{priority}"


def expand_queues(names: Iterable[str]) -> list[str]:
    """The Celery queues a worker on these named queues consumes, highest first."""
    expanded: list[str] = []
    for priority in PRIORITIES:
        expanded += [queue_for(name, priority) for name in names]
    return expanded
