"""The content hash that names blobs: BLAKE3 (256 bits, as 64 lowercase hex characters).

The SDK names every array by the hash of its `.npy` bytes before it uploads them, and
the server hashes every upload again to check that the bytes are the ones named, so the
hash runs twice per byte sent. It is BLAKE3 rather than SHA-256 because SHA-256 is fast
only on CPUs with SHA instructions, which many GPU hosts lack (docs/benchmarks.md has
the figures). It is a cryptographic hash (collision resistance 2^128), which the blob
store's contract needs: an id always names the same bytes.

Always on one thread: BLAKE3's multithreaded mode runs on a thread pool that does not
survive `fork`, so a process forked after using it (a `multiprocessing` worker, a
prefork server child) would hang the first time it hashed.
"""

from __future__ import annotations

import blake3


def hasher(data: bytes | memoryview = b"") -> blake3.blake3:
    """A new incremental hasher, fed `data` first: `.update()` it with more bytes, and
    `.hexdigest()` is the blob id."""
    return blake3.blake3(data, max_threads=1)


def blob_id(data: bytes | memoryview) -> str:
    """The blob id of `data`: its BLAKE3 hash as 64 lowercase hex characters."""
    return hasher(data).hexdigest()
