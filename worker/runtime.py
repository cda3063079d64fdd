"""Keras models on the worker: rebuilt from validated specs in the job's scope, their
state (weights, optimizer variables) moved in and out.

Imported only in the worker's child processes: it imports TensorFlow and Keras.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
from typing import Any

import numpy as np

from horn.schemas.validate import validate_keras_config
from horn.settings import get_worker_settings
from horn.worker import patches

log = logging.getLogger(__name__)

_WEIGHT_KEY = "weights/{:04d}"
_OPTIMIZER_KEY = "optimizer/{:04d}"


def apply_precision_policy() -> None:
    """Keras's global dtype policy from `HORN_MIXED_PRECISION` (`clear_session` resets
    it, so it is applied again for every job by `strategy_scope`)."""
    import keras

    if get_worker_settings().mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")


def strategy_scope() -> contextlib.AbstractContextManager[Any]:
    """The context to build and compile a job's model in.

    With `HORN_DISTRIBUTE=mirrored`, `tf.distribute.MirroredStrategy().scope()`: the
    model's variables are mirrored on every GPU this worker sees and each batch is
    split across them. Otherwise a no-op context. Also re-applies the
    mixed-precision policy (`HORN_MIXED_PRECISION`), which `reset_session` clears.

    Example:
        >>> with strategy_scope():
        ...     model = build_model(spec)
        ...     compile_model(model, compile_config)
    """
    apply_precision_policy()
    if get_worker_settings().distribute == "mirrored":
        import tensorflow as tf

        strategy = tf.distribute.MirroredStrategy()
        log.info("job uses MirroredStrategy over %d replicas", strategy.num_replicas_in_sync,
                 extra={"event": "strategy", "strategy": "mirrored",
                        "replicas": strategy.num_replicas_in_sync})
        scope: contextlib.AbstractContextManager[Any] = strategy.scope()
        return scope
    return contextlib.nullcontext()


def reset_session(keep_kernels: bool = True) -> None:
    """Forget the previous job's Keras state (`keras.backend.clear_session`): its
    automatic names, so that the next model's layers and optimizer are named as in a
    fresh process, its settings and its graph.

    Without a garbage collection, which takes a few hundred milliseconds:
    `horn.worker.memory.collect_garbage` runs one after the job instead.

    Args:
        keep_kernels: keep TensorFlow's cache of eager kernels, which `clear_session`
            also empties (`horn.worker.patches.clear_session`). Emptied, every kernel
            the next model runs is created again: building a model and a warm model's
            next `fit` take two to three times as long. The cache also holds a kernel
            for each traced function called, so `collect_garbage` empties it with its
            next full collection, off the jobs' latency. False for a seeded job, which
            promises what a fresh process would do.
    """
    patches.clear_session(keep_kernels)


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and the backend, as `keras.utils.set_random_seed` does."""
    import keras

    keras.utils.set_random_seed(seed)


def build_model(spec: dict[str, Any]) -> Any:
    """A Keras model from its `to_json()` spec, after the allow-list check."""
    validate_keras_config(spec, where="spec")
    import keras

    return keras.models.model_from_json(json.dumps(spec))


def ensure_built(model: Any, x: Any) -> None:
    """Build a model that has no input shape yet (a Sequential without `Input`) from
    the data (an array or a tensor), so that stored weights can be loaded into it."""
    if model.built or isinstance(x, (dict, list, tuple)) or not hasattr(x, "shape"):
        return
    model.build((None, *x.shape[1:]))


def twin_scope() -> contextlib.AbstractContextManager[Any]:
    """Where to build a model whose state another (warm) model takes over: on the CPU,
    so that its variables never double the model's footprint on a GPU."""
    import tensorflow as tf

    scope: contextlib.AbstractContextManager[Any] = tf.device("/CPU:0")
    return scope


def adopt_state(target: Any, source: Any) -> bool:
    """Give `target`, a warm model built from the same spec and compile config (and
    already traced), the whole state of `source`, just built and compiled: its weights,
    its random generators' seeds and its optimizer's initial variables; `target`'s
    metrics are reset. `target` then trains and predicts exactly as `source` would, with
    the functions it has already traced.

    Returns:
        False, changing nothing, when their variables do not match one for one (a model
        without an input shape built for data of another shape).
    """
    pairs = _matching(target.variables, source.variables)
    if pairs is None:
        return False
    target_opt, source_opt = getattr(target, "optimizer", None), getattr(source, "optimizer", None)
    if target_opt is not None and target_opt.built:
        if source_opt is None:
            return False
        if not source_opt.built:
            source_opt.build(source.trainable_variables)
        optimizer_pairs = _matching(target_opt.variables, source_opt.variables)
        if optimizer_pairs is None:
            return False
        pairs += optimizer_pairs
    for mine, theirs in pairs:
        mine.assign(theirs.value)
    target.reset_metrics()
    return True


def _matching(mine: list[Any], theirs: list[Any]) -> list[tuple[Any, Any]] | None:
    if len(mine) != len(theirs):
        return None
    pairs = list(zip(mine, theirs, strict=True))
    if any(tuple(a.shape) != tuple(b.shape) or a.dtype != b.dtype for a, b in pairs):
        return None
    return pairs


def load_weights_file(model: Any, data: bytes) -> None:
    """`model.load_weights` from the bytes of a `.weights.h5` file."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="horn-weights-") as tmp:
        path = os.path.join(tmp, "model.weights.h5")
        with open(path, "wb") as handle:
            handle.write(data)
        model.load_weights(path)


def compile_model(model: Any, compile_config: dict[str, Any]) -> None:
    """Compile `model` from a Keras `compile_config`, after the allow-list check."""
    validate_keras_config(compile_config, where="compile_config")
    model.compile_from_config(compile_config)


def pack_state(model: Any, include_optimizer: bool) -> bytes:
    """The model's weights (and optimizer variables) as an uncompressed `.npz`."""
    arrays = {_WEIGHT_KEY.format(i): np.asarray(w) for i, w in enumerate(model.get_weights())}
    optimizer = getattr(model, "optimizer", None)
    if include_optimizer and optimizer is not None and optimizer.built:
        for i, variable in enumerate(optimizer.variables):
            arrays[_OPTIMIZER_KEY.format(i)] = np.asarray(variable)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


def restore_state(model: Any, data: bytes, restore_optimizer: bool) -> None:
    """Load weights (and, when asked and compatible, optimizer state) from `.npz` bytes."""
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        weights = [archive[k] for k in sorted(k for k in archive.files
                                              if k.startswith("weights/"))]
        slots = [archive[k] for k in sorted(k for k in archive.files
                                            if k.startswith("optimizer/"))]
    model.set_weights(weights)
    optimizer = getattr(model, "optimizer", None)
    if not (restore_optimizer and slots and optimizer is not None):
        return
    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    if len(optimizer.variables) != len(slots):
        log.warning("optimizer state has %d variables, expected %d: starting fresh",
                    len(slots), len(optimizer.variables))
        return
    for variable, value in zip(optimizer.variables, slots, strict=True):
        variable.assign(value)


def metric_names_in_order(model: Any, logs: dict[str, Any]) -> list[str]:
    """The order of the flat list Keras's `evaluate` returns (its `metrics_names` order,
    then any other log in sorted order), as names."""
    names: list[str] = []
    for metric in model.metrics:
        inner = getattr(metric, "metrics", None)
        if type(metric).__name__ == "CompileMetrics" and inner is not None:
            names += [m.name for m in inner]
        else:
            names.append(metric.name)
    ordered = [n for n in names if n in logs]
    return ordered + [k for k in sorted(logs) if k not in names]
