"""A worker child's start: import TensorFlow and Keras once, set the devices up, say so.

Imported only in the worker's child processes: it imports TensorFlow and Keras.
"""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Any

from horn.settings import get_worker_settings
from horn.worker import metrics, patches
from horn.worker.runtime import apply_precision_policy

log = logging.getLogger(__name__)


def warm_up() -> None:
    """Import TensorFlow and Keras once per child, with GPU memory growth on, the
    mixed-precision policy when `HORN_MIXED_PRECISION` is set and tf.data's autotuner
    as `HORN_DATA_AUTOTUNE` says, and report the devices (a structured log line and the
    `horn_worker_device_info` metric)."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    gpus = _grow_gpu_memory()
    settings = get_worker_settings()
    apply_precision_policy()
    patches.set_data_autotune(settings.data_autotune)
    _report_ready(len(gpus), settings.distribute or "none")


def _grow_gpu_memory() -> list[Any]:
    """Let TensorFlow take GPU memory as it needs it, not all at once; returns the GPUs."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        # RuntimeError: the device is already initialised, nothing left to set.
        with contextlib.suppress(RuntimeError):
            tf.config.experimental.set_memory_growth(gpu, True)
    return list(gpus)


def _report_ready(gpus: int, distribute: str) -> None:
    """The `worker_ready` log line and the device metric."""
    import keras
    import tensorflow as tf

    devices = [{"name": d.name, "type": d.device_type}
               for d in tf.config.list_logical_devices()]
    metrics.record_devices(devices)
    log.info("worker child ready: keras %s, tensorflow %s, devices %s",
             keras.__version__, tf.__version__, [d["name"] for d in devices],
             extra={"event": "worker_ready", "keras": keras.__version__,
                    "tensorflow": tf.__version__, "devices": devices, "gpus": gpus,
                    "dtype_policy": keras.mixed_precision.global_policy().name,
                    "distribute": distribute,
                    "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES")})
