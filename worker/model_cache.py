"""Warm models per worker child, kept between jobs.

Building a model from its JSON, compiling it and tracing its functions costs hundreds
of milliseconds a job; a Keras user pays that once per process. A worker child keeps
the models of its last successful jobs (least recently used first out, within
`HORN_MODEL_CACHE_SIZE` models and `HORN_MODEL_CACHE_MB` of variables), each with the
weights version it holds. The next job on the same model and compile config starts
from it (restoring weights only when another version is asked for), as a second `fit`
or `predict` in one Keras process would.

A job on a *new* model with the same architecture and compile config as a warm one of
the same owner (the same script run again, a new model per run) takes that warm model
over: the new model is built and compiled on the CPU, its whole state (weights, random
seed states, fresh optimizer variables) is copied into the warm one, whose traced
functions are then reused: the second run of a script skips the tracing, as the second
`fit` in one process would.

Seeded jobs never use the cache: `set_random_seed` promises the same results as a fresh
process, which a model whose random generators have moved on would not give.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

Key = tuple[str, str | None]
"""(model id, compile id)."""


@dataclass
class Warm:
    """A built, compiled model, the weights version it holds, and what it is."""

    key: Key
    shape: str
    """The owner, architecture and compile config (`shape_of`)."""
    model: Any
    weights_version: int
    nbytes: int
    """Bytes of its variables (weights, seed states, optimizer state)."""


def shape_of(owner: str, spec: dict[str, Any], compile_config: dict[str, Any] | None) -> str:
    """What two models must share for one to take the other's warm model over: the
    owner (a warm model is never handed to another user), the architecture and the
    compile config."""
    text = json.dumps([owner, spec, compile_config], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def variable_bytes(model: Any) -> int:
    """Bytes of a model's variables and its optimizer's (an estimate of what keeping it
    costs; its traced functions come on top)."""
    import numpy as np

    variables = list(model.variables)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and getattr(optimizer, "built", False):
        variables += list(optimizer.variables)
    return sum(int(np.prod(v.shape)) * np.dtype(v.dtype).itemsize for v in variables)


class ModelCache:
    """The warm models of one worker child, least recently used first."""

    def __init__(self, max_models: int, max_bytes: int) -> None:
        self.max_models = max_models
        self.max_bytes = max_bytes
        self._warm: OrderedDict[Key, Warm] = OrderedDict()

    def __len__(self) -> int:
        return len(self._warm)

    def take(self, key: Key) -> Warm | None:
        """The warm model for `key`, if this child holds it (it leaves the cache: the
        job owns it until it gives it back with `keep`)."""
        return self._warm.pop(key, None)

    def take_shape(self, shape: str) -> Warm | None:
        """The least recently used warm model of another model with this `shape`."""
        for key, warm in self._warm.items():
            if warm.shape == shape:
                del self._warm[key]
                return warm
        return None

    def keep(self, key: Key, shape: str, model: Any, weights_version: int | None) -> None:
        """Keep `model` for later jobs (only a model whose weights are stored), evicting
        the least recently used ones past the limits (the newest is always kept)."""
        self._warm.pop(key, None)
        if weights_version is None:
            return
        self._warm[key] = Warm(key, shape, model, weights_version, variable_bytes(model))
        total = sum(w.nbytes for w in self._warm.values())
        while len(self._warm) > 1 and (len(self._warm) > self.max_models
                                       or total > self.max_bytes):
            _, evicted = self._warm.popitem(last=False)
            total -= evicted.nbytes


_cache: ModelCache | None = None


def cache() -> ModelCache:
    """This child's cache, sized from the settings on first use."""
    global _cache
    if _cache is None:
        from horn.settings import get_worker_settings

        settings = get_worker_settings()
        _cache = ModelCache(settings.model_cache_size, settings.model_cache_mb * 1024 * 1024)
    return _cache
