"""Memory of a long-lived worker child: what is freed after each job, off its latency.

Imported only in the worker's child processes: it imports TensorFlow.
"""

from __future__ import annotations

import gc

from horn.worker import patches

COLLECT_EVERY = 8
"""Jobs between two full garbage collections of the worker child."""

_jobs_since_collect = 0


def freeze_startup_objects() -> None:
    """Keep what importing TensorFlow and Keras made (hundreds of thousands of objects,
    alive as long as the child) out of the garbage collector's sight (`gc.freeze`), so
    that a full collection does not walk them each time. Called once, after
    `horn.worker.startup.warm_up`: models built later stay collectable."""
    gc.collect()
    gc.freeze()


def collect_garbage() -> None:
    """After a job's outcome is recorded (off its latency): forget the gradient
    functions its traces registered (`patches.forget_custom_gradients`), then a
    young-generation collection each time, and every `COLLECT_EVERY` jobs a full one,
    which frees what the finished models held (Keras's `clear_session` would do it at
    the next job's start), with the eager kernels that `reset_session` kept for the
    models built since the last one, and hands the freed heap back to the system
    (`malloc_trim`). A child that only runs its warm models keeps its kernels."""
    global _jobs_since_collect
    patches.forget_custom_gradients()
    _jobs_since_collect += 1
    if _jobs_since_collect >= COLLECT_EVERY:
        _jobs_since_collect = 0
        patches.empty_kept_kernels()
        gc.collect()
        _trim_heap()
    else:
        gc.collect(1)


def _trim_heap() -> None:
    """Return freed memory at the top of glibc's heaps to the system (a no-op elsewhere)."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name is None:
        return
    try:
        libc = ctypes.CDLL(name)
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc
        return
    trim(0)
