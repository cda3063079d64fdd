"""A light periodic load on one core: what the machine's other processes (a server,
a database, a broker) look like to a training process that shares its cores.

    python -m bench.load PERIOD BUSY   # sleep PERIOD s, spin BUSY s, forever

`periodic_load(period, busy)` runs it as a child process for the length of a `with`.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

PERIOD = 0.05
"""Seconds between two bursts of the benchmark's load."""
BUSY = 0.003
"""Seconds each burst keeps one core busy: 6% of one core, 3% of two."""


@contextmanager
def periodic_load(period: float = PERIOD, busy: float = BUSY) -> Iterator[None]:
    """Run the load in a child process while the `with` block runs."""
    proc = subprocess.Popen([sys.executable, "-m", "bench.load", str(period), str(busy)])
    try:
        time.sleep(0.3)  # past the interpreter's start
        yield
    finally:
        proc.kill()
        proc.wait()


def main(argv: list[str]) -> None:
    """Spin `busy` seconds every `period` seconds until killed."""
    period, busy = float(argv[0]), float(argv[1])
    while True:
        time.sleep(period)
        end = time.perf_counter() + busy
        while time.perf_counter() < end:
            pass


if __name__ == "__main__":
    main(sys.argv[1:])
