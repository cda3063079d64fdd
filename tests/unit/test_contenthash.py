"""Blob ids are the BLAKE3 hash of the bytes, however they are fed, in any process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import blake3
import numpy as np

from horn.schemas import contenthash

ROOT = Path(__file__).resolve().parents[2]


def test_blob_id_is_the_blake3_hex_digest() -> None:
    assert contenthash.blob_id(b"") == blake3.blake3(b"").hexdigest()
    # The published test vector of the empty input.
    assert contenthash.blob_id(b"") == (
        "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262")
    assert len(contenthash.blob_id(b"horn")) == 64


def test_incremental_hashing_gives_the_same_id() -> None:
    data = np.random.default_rng(0).bytes(5 * (1 << 20) + 12_345)
    incremental = contenthash.hasher(data[:100])
    view = memoryview(data)
    for start in range(100, len(data), 1 << 20):
        incremental.update(view[start:start + (1 << 20)])
    assert incremental.hexdigest() == contenthash.blob_id(data) == (
        blake3.blake3(data).hexdigest())


def test_a_forked_child_hashes_after_its_parent_did() -> None:
    """BLAKE3's multithreaded mode would hang a child forked after the parent used it
    (its thread pool is not rebuilt after `fork`); horn's hash stays on one thread."""
    script = textwrap.dedent("""
        import os, signal
        from horn.schemas import contenthash
        data = os.urandom(64 << 20)
        parent = contenthash.blob_id(data)
        pid = os.fork()
        if pid == 0:
            signal.alarm(30)  # a hung child ends itself
            os._exit(0 if contenthash.blob_id(data) == parent else 3)
        print(os.waitpid(pid, 0)[1])
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, timeout=90)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"
