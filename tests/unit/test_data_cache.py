"""A worker child's kept tensors: a later job on the same data gets the tensor without
reading the array again; least recently used out first within the budget; only what
Keras trains on as a plain tensor is kept."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
from horn.worker.data_cache import DataCache  # noqa: E402

MB = 1024 * 1024


class _Loads:
    """Counts the blob-store reads a cache makes."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, array: np.ndarray):  # type: ignore[no-untyped-def]
        def load() -> np.ndarray:
            self.count += 1
            return array
        return load


def test_a_second_job_on_the_same_array_gets_its_tensor_without_a_read() -> None:
    cache, loads = DataCache(10 * MB), _Loads()
    array = np.arange(12, dtype="float32").reshape(3, 4)
    first = cache.get("a" * 64, loads(array))
    second = cache.get("a" * 64, loads(array))
    assert loads.count == 1
    assert second is first
    assert isinstance(first, tf.Tensor) and first.device.endswith("CPU:0")
    np.testing.assert_array_equal(first.numpy(), array)
    assert first.dtype == tf.float32


def test_least_recently_used_arrays_leave_first_within_the_budget() -> None:
    cache, loads = DataCache(2 * MB), _Loads()
    one_mb = np.zeros(MB // 4, dtype="float32")
    cache.get("a", loads(one_mb))
    cache.get("b", loads(one_mb))
    cache.get("a", loads(one_mb))  # `a` used again: `b` is now the oldest
    cache.get("c", loads(one_mb))
    assert len(cache) == 2 and cache.nbytes == 2 * MB
    cache.get("a", loads(one_mb))
    assert loads.count == 3  # `a` was still kept
    cache.get("b", loads(one_mb))
    assert loads.count == 4  # `b` had left


def test_what_is_not_kept_comes_back_as_the_array() -> None:
    cache, loads = DataCache(1 * MB), _Loads()
    too_big = np.zeros(MB // 4 + 1, dtype="float32")
    words = np.array(["a", "b"])
    assert cache.get("big", loads(too_big)) is too_big
    assert cache.get("words", loads(words)) is words
    assert len(cache) == 0
    off, array = DataCache(0), np.ones(4, dtype="int64")
    assert off.get("x", loads(array)) is array and len(off) == 0
