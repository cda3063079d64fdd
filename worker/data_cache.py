"""Arrays kept on a worker child between jobs, as the tensors Keras trains on.

At the start of every `fit`, `evaluate` and `predict`, Keras converts each NumPy array
it is given into a TensorFlow tensor, a copy of the whole array, after the worker has
read the array from the blob store. A user who calls `fit`
again on the same data in one process pays that again too. A worker child keeps the
tensors of its last jobs' arrays by blob id (the BLAKE3 hash of the array's bytes: the
same id is the same array, for every user allowed to name it), least recently used
out first within `HORN_DATA_CACHE_MB`, and a later job on the same data hands Keras the
tensor, which Keras uses as it is (the same values, the same results: it converts an
array to exactly this tensor itself).

Only numeric and boolean arrays are kept, on the CPU (Keras moves each batch to the
GPU, as from an array), and only arrays that fit the budget on their own.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

KEPT_KINDS = "biuf"
"""NumPy dtype kinds kept: booleans, integers, floats."""


class DataCache:
    """The tensors of one worker child's recent arrays, least recently used first."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._tensors: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._tensors)

    @property
    def nbytes(self) -> int:
        """Bytes of the tensors kept."""
        return self._bytes

    def get(self, blob_id: str, load: Callable[[], np.ndarray]) -> Any:
        """The array with id `blob_id`: its kept tensor, or else `load()`'s array, kept
        as a tensor when it may be (and returned as that tensor)."""
        kept = self._tensors.get(blob_id)
        if kept is not None:
            self._tensors.move_to_end(blob_id)
            return kept[0]
        array = load()
        if (self.max_bytes <= 0 or array.dtype.kind not in KEPT_KINDS
                or array.nbytes > self.max_bytes):
            return array
        tensor = _to_cpu_tensor(array)
        self._tensors[blob_id] = (tensor, array.nbytes)
        self._bytes += array.nbytes
        while self._bytes > self.max_bytes:
            _, (_, nbytes) = self._tensors.popitem(last=False)
            self._bytes -= nbytes
        return tensor


def _to_cpu_tensor(array: np.ndarray) -> Any:
    import tensorflow as tf

    with tf.device("/CPU:0"):
        return tf.convert_to_tensor(array)


_cache: DataCache | None = None


def cache() -> DataCache:
    """This child's cache, sized from the settings on first use."""
    global _cache
    if _cache is None:
        from horn.settings import get_worker_settings

        _cache = DataCache(get_worker_settings().data_cache_mb * 1024 * 1024)
    return _cache
