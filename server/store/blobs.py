"""The content-addressed array store: `.npy` bytes named by their BLAKE3 hash
(`horn.schemas.contenthash`), rows describing them.

Two backends share one interface, `BlobStore`: a directory (`LocalBlobStore`, the
default, also right for a shared file system) and S3-compatible object storage
(`horn.server.store.blob_s3.S3BlobStore`, for workers on other machines). `make_blob_store`
picks one from the settings (`HORN_BLOB_URL`).
"""

from __future__ import annotations

import abc
import asyncio
import functools
import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO, TYPE_CHECKING
from urllib.parse import urlsplit

import numpy as np
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from horn.schemas import contenthash, npy
from horn.schemas.api import BLOB_ID_PATTERN
from horn.server.store.tables import BlobRef, BlobRow

if TYPE_CHECKING:
    from horn.settings import StoreSettings

_BLOB_ID = re.compile(BLOB_ID_PATTERN)
CHUNK_BYTES = 1024 * 1024


class BlobError(ValueError):
    """An upload that cannot be stored (bad id, bad bytes, wrong hash, too large)."""


class BlobTooLarge(BlobError):
    """The upload exceeds the configured maximum size."""


def check_blob_id(blob_id: str) -> str:
    """Return `blob_id` if it is 64 lowercase hex characters, else raise BlobError."""
    if not _BLOB_ID.fullmatch(blob_id):
        raise BlobError(
            "Expected a blob id of 64 lowercase hex characters (the BLAKE3 hash of the "
            f".npy bytes). Received: {blob_id[:80]!r}"
        )
    return blob_id


def blob_key(blob_id: str) -> str:
    """The blob's relative name in every backend: two levels of fan-out, then the id."""
    check_blob_id(blob_id)
    return f"{blob_id[:2]}/{blob_id[2:4]}/{blob_id}"


class BlobStore(abc.ABC):
    """Where `.npy` blobs live, named by the BLAKE3 hash of their bytes.

    Blobs are immutable: a blob id always names the same bytes, so backends never
    overwrite and readers may cache freely.
    """

    @abc.abstractmethod
    def exists(self, blob_id: str) -> bool:
        """Whether the blob's bytes are present."""

    @abc.abstractmethod
    def open(self, blob_id: str) -> AbstractContextManager[IO[bytes]]:
        """The blob's bytes as a readable binary stream (use as a context manager).

        Raises:
            FileNotFoundError: no blob with this id is stored.
        """

    def local_path(self, blob_id: str) -> Path | None:
        """A file holding the blob on this machine, when the backend has one."""
        return None

    def read_bytes(self, blob_id: str) -> bytes:
        """All the blob's bytes."""
        with self.open(blob_id) as stream:
            return stream.read()

    def load_array(self, blob_id: str) -> np.ndarray:
        """The blob as a NumPy array (never unpickles), streamed from the backend."""
        with self.open(blob_id) as stream:
            array: np.ndarray = np.lib.format.read_array(stream, allow_pickle=False)
            return array

    def iter_chunks(self, blob_id: str, chunk_size: int = CHUNK_BYTES) -> Iterator[bytes]:
        """The blob's bytes in chunks (for streaming a download)."""
        with self.open(blob_id) as stream:
            while chunk := stream.read(chunk_size):
                yield chunk

    def write_bytes(self, data: bytes) -> tuple[str, npy.NpyHeader]:
        """Store `.npy` bytes produced on this side (e.g. predictions); returns the id."""
        header = npy.parse_header(data[: npy.MAX_HEADER_BYTES])
        npy.check_length(header, len(data))
        blob_id = contenthash.blob_id(data)
        if not self.exists(blob_id):
            self._put_bytes(blob_id, data)
        return blob_id, header

    async def receive(self, blob_id: str, chunks: AsyncIterator[bytes],
                      max_bytes: int) -> tuple[int, npy.NpyHeader]:
        """Stream an upload in, checking size, `.npy` header and hash.

        The bytes are spooled to a temporary file and appear under their id only once
        everything checked out, so a truncated or forged upload leaves nothing behind.

        Raises:
            BlobTooLarge: more than `max_bytes` arrived.
            BlobError: the bytes are not a plain `.npy` array or do not hash to the id.
        """
        check_blob_id(blob_id)
        spool = self._spool_dir(blob_id)
        spool.mkdir(parents=True, exist_ok=True)
        digest = contenthash.hasher()
        size = 0
        head = bytearray()
        fd, name = tempfile.mkstemp(dir=spool, prefix=".upload-")
        tmp = Path(name)
        try:
            with os.fdopen(fd, "wb") as handle:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise BlobTooLarge(
                            f"Upload exceeds the server's maximum of {max_bytes} bytes "
                            "(HORN_MAX_UPLOAD_BYTES). Send a smaller array or raise the limit."
                        )
                    if len(head) < npy.MAX_HEADER_BYTES:
                        head.extend(chunk[: npy.MAX_HEADER_BYTES - len(head)])
                    digest.update(chunk)
                    handle.write(chunk)
            header = npy.parse_header(bytes(head))
            npy.check_length(header, size)
            if digest.hexdigest() != blob_id:
                raise BlobError(
                    f"The uploaded bytes hash to {digest.hexdigest()}, not to the blob id "
                    f"{blob_id} they were sent as. Compute the id as the BLAKE3 hash of the "
                    ".npy bytes (`horn.schemas.contenthash.blob_id`), or retry if the upload was "
                    "interrupted. A horn client from before 0.2 names arrays by SHA-256: "
                    "upgrade it to the server's version."
                )
            await asyncio.to_thread(self._commit_file, blob_id, tmp)
        finally:
            tmp.unlink(missing_ok=True)
        return size, header

    def put_file(self, src: Path) -> str:
        """Store a checked file that is not an `.npy` array (the weights file of an
        imported `.keras` model) under its BLAKE3 hash; returns the id."""
        digest = contenthash.hasher()
        with src.open("rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                digest.update(chunk)
        blob_id = digest.hexdigest()
        if self.exists(blob_id):
            return blob_id
        spool = self._spool_dir(blob_id)
        spool.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=spool, prefix=".upload-")
        os.close(fd)
        tmp = Path(name)
        try:
            shutil.copyfile(src, tmp)
            self._commit_file(blob_id, tmp)
        finally:
            tmp.unlink(missing_ok=True)
        return blob_id

    @abc.abstractmethod
    def _put_bytes(self, blob_id: str, data: bytes) -> None:
        """Store checked bytes under their id."""

    @abc.abstractmethod
    def _spool_dir(self, blob_id: str) -> Path:
        """Where an upload is spooled while it is checked."""

    @abc.abstractmethod
    def _commit_file(self, blob_id: str, tmp: Path) -> None:
        """Store a checked, spooled upload under its id (may consume `tmp`)."""


class LocalBlobStore(BlobStore):
    """Blobs on a local (or shared) file system, two levels of fan-out."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"LocalBlobStore({str(self.root)!r})"

    def path(self, blob_id: str) -> Path:
        """Where the blob with this id lives (whether or not it exists)."""
        return self.root / blob_key(blob_id)

    def local_path(self, blob_id: str) -> Path | None:
        """The blob's file (whether or not it exists)."""
        return self.path(blob_id)

    def exists(self, blob_id: str) -> bool:
        """Whether the blob's file is present."""
        return self.path(blob_id).is_file()

    def open(self, blob_id: str) -> AbstractContextManager[IO[bytes]]:
        """The blob's file, opened for reading."""
        return self.path(blob_id).open("rb")

    def _put_bytes(self, blob_id: str, data: bytes) -> None:
        target = self.path(blob_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)

    def _spool_dir(self, blob_id: str) -> Path:
        return self.path(blob_id).parent  # same file system: the final rename is atomic

    def _commit_file(self, blob_id: str, tmp: Path) -> None:
        os.replace(tmp, self.path(blob_id))


def make_blob_store(settings: StoreSettings) -> BlobStore:
    """The blob store the settings name (`HORN_BLOB_URL`, else `HORN_BLOB_DIR`).

    `s3://bucket/prefix` is S3-compatible object storage (`HORN_S3_ENDPOINT_URL` for
    a store other than AWS); `file:///path` or nothing is a directory. The store is
    built once per process and configuration.

    Raises:
        ValueError: the URL's scheme is not one of these, or the bucket is unreachable.
    """
    return _cached_store(settings.blob_url, settings.s3_endpoint_url,
                         str(settings.resolved_blob_dir()))


@functools.lru_cache(maxsize=8)
def _cached_store(blob_url: str, endpoint_url: str, blob_dir: str) -> BlobStore:
    parts = urlsplit(blob_url)
    if not blob_url:
        return LocalBlobStore(Path(blob_dir))
    if parts.scheme == "file":
        return LocalBlobStore(Path(parts.path))
    if parts.scheme == "s3":
        from horn.server.store.blob_s3 import S3BlobStore

        return S3BlobStore.from_url(blob_url, endpoint_url=endpoint_url or None)
    raise ValueError(
        "HORN_BLOB_URL must be s3://bucket/prefix (object storage) or file:///path (a "
        f"directory). Received: HORN_BLOB_URL={blob_url!r}")


def owned_ids(session: Session, owner: str, ids: list[str]) -> set[str]:
    """The ids among `ids` that `owner` may use (see `has_ref`)."""
    return set(session.scalars(select(BlobRef.blob_id).where(
        BlobRef.owner == owner, BlobRef.blob_id.in_(ids))))


def missing_ids(store: BlobStore, ids: list[str], owned: set[str]) -> list[str]:
    """The ids among `ids` that their owner must upload (keeps the asked order), given
    the ids they may use (`owned`): those they never uploaded, and those whose bytes
    are not stored. Another user's identical bytes do not count: uploading them proves
    that you hold them."""
    return [blob_id for blob_id in dict.fromkeys(ids)
            if blob_id not in owned or not store.exists(blob_id)]


USABLE_BLOB_QUERY = (
    select(BlobRow).join(BlobRef, (BlobRef.blob_id == BlobRow.id)
                         & (BlobRef.owner == bindparam("owner")))
    .where(BlobRow.id == bindparam("id")))
"""A blob's row when a user may use it (see `has_ref`), in one read; parameters `owner`
and `id`."""


def usable_blob(session: Session, owner: str, blob_id: str) -> BlobRow | None:
    """The blob's row when `owner` may use it (see `has_ref`), in one read."""
    return session.scalars(USABLE_BLOB_QUERY, {"owner": owner, "id": blob_id}).first()


def has_ref(session: Session, owner: str, blob_id: str) -> bool:
    """Whether `owner` may use the blob (uploaded it, or a job of theirs produced it)."""
    return session.get(BlobRef, (owner, blob_id)) is not None


def record_blob(session: Session, blob_id: str, owner: str, size: int,
                header: npy.NpyHeader) -> BlobRow:
    """Insert (or return) the row describing a stored blob, and `owner`'s reference."""
    row = session.get(BlobRow, blob_id)
    if row is None:
        row = BlobRow(id=blob_id, owner=owner, size=size, dtype=header.dtype.str,
                      shape=list(header.shape))
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:  # uploaded concurrently by someone else
            row = session.get(BlobRow, blob_id)
            assert row is not None
    if session.get(BlobRef, (owner, blob_id)) is None:
        try:
            with session.begin_nested():
                session.add(BlobRef(owner=owner, blob_id=blob_id))
        except IntegrityError:  # the same user uploaded it concurrently
            pass
    return row
