"""Blob ids are the BLAKE3 hash of the bytes, whatever the size and however they are fed."""

from __future__ import annotations

import blake3
import numpy as np

from schemas import contenthash


def test_blob_id_is_the_blake3_hex_digest() -> None:
    assert contenthash.blob_id(b"") == blake3.blake3(b"").hexdigest()
    # The published test vector of the empty input.
    assert contenthash.blob_id(b"") == (
        "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262")
    assert len(contenthash.blob_id(b"horn")) == 64


def test_threaded_and_incremental_hashing_give_the_same_id() -> None:
    data = np.random.default_rng(0).bytes(contenthash.THREADS_FROM_BYTES + 12_345)
    one_thread = blake3.blake3(data, max_threads=1).hexdigest()
    assert contenthash.blob_id(data) == one_thread  # hashed on every core
    incremental = contenthash.hasher(data[:100], size_hint=len(data))
    view = memoryview(data)
    for start in range(100, len(data), 1 << 20):
        incremental.update(view[start:start + (1 << 20)])
    assert incremental.hexdigest() == one_thread
