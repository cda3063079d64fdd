"""One warm model per worker child, kept between jobs on the same model.

Building a model from its JSON, compiling it and tracing its functions costs hundreds
of milliseconds a job; a Keras user pays that once per process. A worker child keeps
the model of its last successful job, with the weights version it holds, and the next
job on the same model and compile config starts from it (restoring weights only when
another version is asked for), as a second `fit` or `predict` in one Keras process would.

Seeded jobs never use it: `set_random_seed` promises the same results as a fresh
process, which a model whose random generators have moved on would not give.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Key = tuple[str, str | None]
"""(model id, compile id)."""


@dataclass
class Warm:
    """A built, compiled model and the weights version it holds."""

    key: Key
    model: Any
    weights_version: int


_warm: list[Warm] = []


def take(key: Key) -> Warm | None:
    """The warm model for `key`, if this child holds it (it is no longer cached: the job
    owns it until it gives it back with `keep`)."""
    warm = _warm.pop() if _warm else None
    return warm if warm is not None and warm.key == key else None


def keep(key: Key, model: Any, weights_version: int | None) -> None:
    """Keep `model` for the next job (only a model whose weights are stored)."""
    _warm.clear()
    if weights_version is not None:
        _warm.append(Warm(key, model, weights_version))


def drop() -> None:
    """Forget the warm model (a job failed or built another one)."""
    _warm.clear()
