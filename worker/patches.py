"""Every change horn makes to private Keras or TensorFlow internals, in one module.

Each patch names the versions it was written for (those pinned in pyproject.toml). On
any other version it is not applied: one log line per process says so, and the library's
own behaviour stays. The patches:

- `set_data_autotune`: tf.data's autotuner off for Keras's array pipelines
  (`keras.src...ArrayDataAdapter.get_tf_dataset`).
- `clear_session`: Keras's `clear_session` without emptying TensorFlow's eager kernel
  cache (the eager `Context.clear_kernel_cache`), and `empty_kept_kernels` to empty it.
- `forget_custom_gradients`: removes `tf.custom_gradient` entries from TensorFlow's
  private gradient registry (`ops._gradient_registry`).

Imported only in the worker's child processes: it imports TensorFlow and Keras.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

KERAS_VERSION = "3.15.1"
TENSORFLOW_VERSION = "2.21.0"


@dataclass(frozen=True)
class Patch:
    """A patch of private internals and the versions it was written for."""

    name: str
    written_for: tuple[tuple[str, str], ...]
    """(package, version) pairs: "keras" and/or "tensorflow"."""
    fallback: str
    """Whose behaviour stays when the patch is not applied."""


DATA_AUTOTUNE = Patch("data_autotune", (("keras", KERAS_VERSION),), "Keras's own behaviour")
KEEP_KERNEL_CACHE = Patch("keep_kernel_cache", (("keras", KERAS_VERSION),
                                                ("tensorflow", TENSORFLOW_VERSION)),
                          "Keras's own behaviour")
CUSTOM_GRADIENTS = Patch("forget_custom_gradients", (("tensorflow", TENSORFLOW_VERSION),),
                         "TensorFlow's own behaviour")

_reported: set[str] = set()
"""The patches whose refusal this process has already logged."""


def installed_version(package: str) -> str:
    """The version of `package` ("keras" or "tensorflow") this process imported."""
    if package == "keras":
        import keras

        return str(keras.__version__)
    import tensorflow as tf

    return str(tf.__version__)


def applies(patch: Patch) -> bool:
    """Whether `patch` may be applied: every package it patches has the version it was
    written for. Otherwise logs, once per process, which versions differ."""
    found = [(package, wanted, installed_version(package))
             for package, wanted in patch.written_for]
    differing = [(package, wanted, have) for package, wanted, have in found if have != wanted]
    if not differing:
        return True
    if patch.name not in _reported:
        _reported.add(patch.name)
        written = ", ".join(f"{package}=={wanted}" for package, wanted, _ in found)
        seen = ", ".join(f"{package} {have}" for package, _, have in differing)
        log.warning("patch %s written for %s, found %s: not applied, %s", patch.name,
                    written, seen, patch.fallback,
                    extra={"event": "patch_not_applied", "patch": patch.name,
                           "written_for": dict(patch.written_for),
                           "found": {package: have for package, _, have in differing}})
    return False


# --- tf.data's autotuner in Keras's array pipelines -----------------------------------

_unwrapped_get_tf_dataset: Any = None
"""Keras's own `ArrayDataAdapter.get_tf_dataset` while `set_data_autotune(False)`
wraps it; None otherwise."""


def set_data_autotune(enabled: bool) -> None:
    """Turn tf.data's autotuner on (Keras's default) or off for the input pipelines
    Keras builds from arrays and tensors (`ArrayDataAdapter`), which is every pipeline a
    worker builds. The worker turns it off (`HORN_DATA_AUTOTUNE`, off by default).

    Why: with the autotuner on, each iterator over such a pipeline starts a thread that
    re-optimizes it after periods doubling from 10 ms to 60 s, and the iterator's
    destructor waits for that thread to end. Keras drops its iterator at the end of
    every epoch and of every `evaluate` and `predict`, on the training thread. When
    cancelled, the thread is woken before its cancellation manager marks itself
    cancelled (tsl's `CancellationManager::StartCancelWithStatus`); a thread that checks
    in between sleeps for the rest of its period, and training waits with it (stalls of
    about a second, measured in `bench/`). With the autotuner off no such thread starts.

    What the autotuner would tune stays where it starts: the map that slices the batches
    runs as many parallel calls as tf.data's thread pool has threads (at most 16), and
    the prefetch buffer grows by tf.data's older heuristic. The batches, their order and
    the numbers are unchanged.

    Args:
        enabled: True gives Keras's own pipelines back. False is not applied (and the
            autotuner stays on) on a Keras other than `KERAS_VERSION`.
    """
    global _unwrapped_get_tf_dataset
    from keras.src.trainers.data_adapters import array_data_adapter

    adapter = array_data_adapter.ArrayDataAdapter
    if enabled:
        if _unwrapped_get_tf_dataset is not None:
            adapter.get_tf_dataset = _unwrapped_get_tf_dataset
            _unwrapped_get_tf_dataset = None
        return
    if _unwrapped_get_tf_dataset is not None or not applies(DATA_AUTOTUNE):
        return
    import tensorflow as tf

    original = adapter.get_tf_dataset

    def get_tf_dataset(self: Any) -> Any:
        options = tf.data.Options()
        options.autotune.enabled = False
        return original(self).with_options(options)

    _unwrapped_get_tf_dataset = original
    adapter.get_tf_dataset = get_tf_dataset


# --- TensorFlow's eager kernel cache across `clear_session` ---------------------------

_kernels_kept = False
"""Whether `clear_session` kept the kernel cache since `empty_kept_kernels` last ran."""


def clear_session(keep_kernels: bool) -> None:
    """`keras.backend.clear_session(free_memory=False)`, keeping TensorFlow's cache of
    eager kernels when `keep_kernels` (Keras's `clear_session` empties it through the
    eager `Context.clear_kernel_cache`, which is replaced by a no-op meanwhile).

    On versions other than those `KEEP_KERNEL_CACHE` names, Keras's own `clear_session`
    runs and empties the cache.
    """
    import keras

    global _kernels_kept
    if not keep_kernels or not applies(KEEP_KERNEL_CACHE):
        keras.backend.clear_session(free_memory=False)
        _kernels_kept = False  # Keras's `clear_session` has just emptied it
        return
    from tensorflow.python.eager import context

    _kernels_kept = True
    ctx = context.context()
    ctx.clear_kernel_cache = _keep_kernel_cache
    try:
        keras.backend.clear_session(free_memory=False)
    finally:
        del ctx.clear_kernel_cache


def _keep_kernel_cache() -> None:
    """Stands in for `Context.clear_kernel_cache` while `clear_session` keeps it."""


def empty_kept_kernels() -> bool:
    """Empty TensorFlow's eager kernel cache if `clear_session` kept it since the last
    call. Returns whether it was emptied."""
    global _kernels_kept
    if not _kernels_kept:
        return False
    _kernels_kept = False
    from tensorflow.python.eager import context

    context.context().clear_kernel_cache()
    return True


# --- TensorFlow's registry of custom gradients ----------------------------------------

_CUSTOM_GRADIENT_PREFIX = "CustomGradient-"


def forget_custom_gradients() -> int:
    """Remove the gradient functions that `tf.custom_gradient` registered while tracing.

    Every op wrapped in `tf.custom_gradient` that is traced into a graph registers a
    gradient function under a new name (`CustomGradient-<n>`) in TensorFlow's global
    gradient registry, and nothing ever removes it. That function's closure holds the
    traced graph (`FuncGraph`), so every model a worker child traced stayed in memory
    (tensorflow/tensorflow#27492 and #97697; the same purge is proposed for Keras's
    `clear_session` in keras-team/tf-keras#898). The registry is read only while a
    gradient is being built, which for a traced function happens during its tracing;
    between two jobs no tracing is in progress, so the functions already traced (warm
    models included) never read these entries again, and a later retrace registers new
    ones.

    Returns:
        How many entries were removed (0 on a TensorFlow other than
        `TENSORFLOW_VERSION`, or one whose registry has another layout).
    """
    if not applies(CUSTOM_GRADIENTS):
        return 0
    from tensorflow.python.framework import ops as tf_ops

    entries = getattr(getattr(tf_ops, "_gradient_registry", None), "_registry", None)
    if not isinstance(entries, dict):  # another layout: leave it alone
        return 0
    names = [name for name in entries if str(name).startswith(_CUSTOM_GRADIENT_PREFIX)]
    for name in names:
        del entries[name]
    return len(names)
