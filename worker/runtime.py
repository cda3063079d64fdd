"""Keras on the worker: rebuild models from validated specs, move weights in and out.

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

log = logging.getLogger(__name__)

_WEIGHT_KEY = "weights/{:04d}"
_OPTIMIZER_KEY = "optimizer/{:04d}"


def warm_up() -> None:
    """Import TensorFlow and Keras once per child, with GPU memory growth on, the
    mixed-precision policy when `HORN_MIXED_PRECISION` is set, and report the devices
    (a structured log line and the `horn_worker_device_info` metric)."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        # RuntimeError: the device is already initialised, nothing left to set.
        with contextlib.suppress(RuntimeError):
            tf.config.experimental.set_memory_growth(gpu, True)
    import keras

    from horn.server.core.config import get_settings
    from horn.worker import metrics

    settings = get_settings()
    _apply_precision_policy()
    set_data_autotune(settings.data_autotune)
    devices = [{"name": d.name, "type": d.device_type}
               for d in tf.config.list_logical_devices()]
    metrics.record_devices(devices)
    log.info("worker child ready: keras %s, tensorflow %s, devices %s",
             keras.__version__, tf.__version__, [d["name"] for d in devices],
             extra={"event": "worker_ready", "keras": keras.__version__,
                    "tensorflow": tf.__version__, "devices": devices, "gpus": len(gpus),
                    "dtype_policy": keras.mixed_precision.global_policy().name,
                    "distribute": settings.distribute or "none",
                    "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES")})


_unwrapped_get_tf_dataset: Any = None
"""Keras's own `ArrayDataAdapter.get_tf_dataset` while `set_data_autotune(False)`
wraps it; None otherwise."""


def set_data_autotune(enabled: bool) -> None:
    """Turn tf.data's autotuner on (Keras's default) or off for the input pipelines
    Keras builds from arrays and tensors (`ArrayDataAdapter`), which is every pipeline a
    worker builds. The worker turns it off (`HORN_DATA_AUTOTUNE`, off by default).

    Why: with the autotuner on, each iterator over such a pipeline starts a thread
    that re-optimizes it after periods doubling from 10 ms to 60 s, and the iterator's
    destructor waits for that thread to end. Keras drops its iterator at the end of
    every epoch and of every `evaluate` and `predict`, on the training thread. When
    cancelled, the thread is woken before its cancellation manager marks itself
    cancelled (tsl's `CancellationManager::StartCancelWithStatus` runs the callbacks,
    then sets `is_cancelled_`); a thread that checks in between goes back to sleep
    for the rest of its period, and training waits with it. Sampled on a 2-core VM,
    plain Keras, the issue's MLP: in about half of the 3-epoch `fit`s every thread of
    the process slept for 1.0-1.3 s at once, once or twice per `fit` (4.7-5.3 s
    without such a stretch, 5.8-7.5 s with). With the autotuner off no such thread
    starts: the same `fit`s took 5.0-5.5 s every time, with the same final loss.

    What the autotuner would tune stays where it starts: the map that slices the
    batches runs as many parallel calls as tf.data's thread pool has threads (at most
    16), and the prefetch buffer grows by tf.data's older heuristic when the model
    waits on it. The batches, their order and the numbers are unchanged.

    Args:
        enabled: True gives Keras's own pipelines back.
    """
    global _unwrapped_get_tf_dataset
    from keras.src.trainers.data_adapters import array_data_adapter

    adapter = array_data_adapter.ArrayDataAdapter
    if enabled:
        if _unwrapped_get_tf_dataset is not None:
            adapter.get_tf_dataset = _unwrapped_get_tf_dataset
            _unwrapped_get_tf_dataset = None
        return
    if _unwrapped_get_tf_dataset is not None:
        return
    import tensorflow as tf

    original = adapter.get_tf_dataset

    def get_tf_dataset(self: Any) -> Any:
        options = tf.data.Options()
        options.autotune.enabled = False
        return original(self).with_options(options)

    _unwrapped_get_tf_dataset = original
    adapter.get_tf_dataset = get_tf_dataset


def freeze_startup_objects() -> None:
    """Keep what importing TensorFlow and Keras made (~320,000 objects, alive as long as
    the child) out of the garbage collector's sight (`gc.freeze`). A full collection
    then takes ~1 ms instead of ~170 ms on a 2-core VM: those that `collect_garbage`
    runs after jobs, and those Python starts on its own while Keras allocates during a
    job. Called once, after `warm_up`: models built later stay collectable."""
    import gc

    gc.collect()
    gc.freeze()


def _apply_precision_policy() -> None:
    """Keras's global dtype policy from `HORN_MIXED_PRECISION` (`clear_session` resets
    it, so it is applied again for every job by `strategy_scope`)."""
    import keras

    from horn.server.core.config import get_settings

    if get_settings().mixed_precision:
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
    from horn.server.core.config import get_settings

    _apply_precision_policy()
    if get_settings().distribute == "mirrored":
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
    `collect_garbage` runs one after the job instead.

    Args:
        keep_kernels: keep TensorFlow's cache of eager kernels, which `clear_session`
            also empties. Emptied, every kernel the next model runs is created again:
            `model_from_json` of a tiny MLP took 28 ms instead of 11, and a warm
            model's next `fit` 95 ms instead of 43. The cache also holds a kernel for
            each traced function called (~0.5 MB per new tiny model), so
            `collect_garbage` empties it with its next full collection, off the jobs'
            latency. False for a seeded job, which promises what a fresh process
            would do.
    """
    import keras

    global _kernels_kept
    if not keep_kernels:
        keras.backend.clear_session(free_memory=False)
        _kernels_kept = False
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
    """Stands in for `Context.clear_kernel_cache` while `reset_session` keeps it."""


_kernels_kept = False
"""Whether `reset_session` kept the kernel cache since `collect_garbage` last emptied it."""

_jobs_since_collect = 0

COLLECT_EVERY = 8
"""Jobs between two full garbage collections of the worker child."""


def collect_garbage() -> None:
    """After a job's outcome is recorded (off its latency): forget the gradient
    functions its traces registered (`forget_custom_gradients`), then a young-generation
    collection each time, and every `COLLECT_EVERY` jobs a full one, which frees what
    the finished models held (Keras's `clear_session` would do it at the next job's
    start), with the eager kernels that `reset_session` kept for the models built
    since the last one, and hands the freed heap back to the system (`malloc_trim`).
    A child that only runs its warm models keeps its kernels, as before."""
    import gc

    global _jobs_since_collect, _kernels_kept
    forget_custom_gradients()
    _jobs_since_collect += 1
    if _jobs_since_collect >= COLLECT_EVERY:
        _jobs_since_collect = 0
        if _kernels_kept:
            _kernels_kept = False
            from tensorflow.python.eager import context

            context.context().clear_kernel_cache()
        gc.collect()
        _trim_heap()
    else:
        gc.collect(1)


_CUSTOM_GRADIENT_PREFIX = "CustomGradient-"


def forget_custom_gradients() -> int:
    """Remove the gradient functions that `tf.custom_gradient` registered while tracing.

    Every op wrapped in `tf.custom_gradient` that is traced into a graph registers a
    gradient function under a new name (`CustomGradient-<n>`) in TensorFlow's global
    gradient registry, and nothing ever removes it. That function's closure holds the
    traced graph (`FuncGraph`), so every model a worker child traced stayed in memory:
    2-4 MB per new model for a small one (tensorflow/tensorflow#27492 and #97697; the
    same purge is proposed for Keras's `clear_session` in keras-team/tf-keras#898).
    The registry is read only while a gradient is being built, which for a traced
    function happens during its tracing; between two jobs no tracing is in progress, so
    the functions already traced (warm models included) never read these entries
    again, and a later retrace registers new ones.

    Returns:
        How many entries were removed.
    """
    from tensorflow.python.framework import ops as tf_ops

    entries = getattr(getattr(tf_ops, "_gradient_registry", None), "_registry", None)
    if not isinstance(entries, dict):  # another TensorFlow layout: leave it alone
        return 0
    names = [name for name in entries if str(name).startswith(_CUSTOM_GRADIENT_PREFIX)]
    for name in names:
        del entries[name]
    return len(names)


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


def describe(model: Any, options: dict[str, Any]) -> dict[str, Any]:
    """What `model.summary()` prints (Keras's own table, captured), and per-layer facts."""
    lines: list[str] = []

    def capture(line: str, line_break: bool = True) -> None:
        lines.append(line + ("\n" if line_break else ""))

    summary_options = {k: options[k] for k in ("line_length", "positions", "expand_nested",
                                               "show_trainable", "layer_range")
                       if options.get(k) is not None}
    model.summary(print_fn=capture, **summary_options)
    layers = []
    for layer in model.layers:
        try:
            shape = layer.output.shape if hasattr(layer, "output") else None
            output_shape = _shape_list(shape)
        except (AttributeError, ValueError, RuntimeError):
            output_shape = None
        layers.append({"name": layer.name, "class_name": type(layer).__name__,
                       "output_shape": output_shape,
                       "params": int(layer.count_params()) if layer.built else 0})
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    non_trainable = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    return {"summary": "".join(lines), "layers": layers, "built": bool(model.built),
            "weight_shapes": [[int(d) for d in w.shape] for w in model.weights],
            "total_params": trainable + non_trainable, "trainable_params": trainable,
            "non_trainable_params": non_trainable}


def _shape_list(shape: Any) -> Any:
    if shape is None:
        return None
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple)):
        return [_shape_list(s) for s in shape]
    return [None if d is None else int(d) for d in shape]


def build_callbacks(configs: list[dict[str, Any]]) -> list[Any]:
    """Keras callbacks from their serialized form; only those the catalog marks as
    safe to run on a worker (no paths, no Python functions)."""
    import keras

    from horn.schemas.catalog import load_catalog

    catalog = load_catalog()
    callbacks = []
    for config in configs:
        validate_keras_config(config, where="args.callbacks")
        name = str(config.get("class_name"))
        entry = catalog.entry("callbacks", name)
        if entry is None or not entry.get("remote"):
            raise ValueError(f"Callback `{name}` cannot run on a horn worker. Run it in your "
                             "own process (a `keras.callbacks.Callback` subclass) instead.")
        known = {p["name"] for p in entry["params"]}
        kwargs = dict(config.get("config") or {})
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise ValueError(f"Unknown argument(s) {unknown} for callback {name}. "
                             f"Expected some of: {sorted(known)}")
        callbacks.append(getattr(keras.callbacks, name)(**kwargs))
    return callbacks


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
