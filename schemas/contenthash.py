"""The content hash that names blobs: BLAKE3 (256 bits, as 64 lowercase hex characters).

The SDK names every array by the hash of its `.npy` bytes before it uploads them, and
the server hashes every upload again to check that the bytes are the ones named, so the
hash runs twice per byte sent. It is BLAKE3 rather than SHA-256 because SHA-256 is fast
only on CPUs with SHA instructions: ~1.9 GB/s on one core of an AMD EPYC, ~0.39 GB/s on
an Intel Xeon of the Skylake and Cascade Lake generations (common GPU hosts), where the
two hashes alone held a 1 GB upload on loopback to ~160 MB/s. BLAKE3 hashes ~3.6 GB/s
on one core of that Xeon, and more with threads for large arrays. It is a cryptographic
hash (collision resistance 2^128), which the blob store's contract needs: an id always
names the same bytes.
"""

from __future__ import annotations

import blake3

NAME = "BLAKE3"
"""The hash's name, for messages."""

THREADS_FROM_BYTES = 16 * 1024 * 1024
"""Arrays at least this large are hashed with several threads (BLAKE3's tree hashing);
smaller ones are faster on one."""


def hasher(data: bytes | memoryview = b"", *, size_hint: int = 0) -> blake3.blake3:
    """A new incremental hasher, fed `data` first; `size_hint` (the total number of bytes
    that will be fed) lets large inputs use every core. Call `.update()` with more
    bytes and `.hexdigest()` for the blob id."""
    threads = blake3.blake3.AUTO if size_hint >= THREADS_FROM_BYTES else 1
    return blake3.blake3(data, max_threads=threads)


def blob_id(data: bytes | memoryview) -> str:
    """The blob id of `data`: its BLAKE3 hash as 64 lowercase hex characters."""
    return hasher(data, size_hint=len(data)).hexdigest()
