"""The content-addressed array store: files named by their SHA-256, rows describing them."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas import npy
from server.store.tables import BlobRow

_BLOB_ID = re.compile(r"^[0-9a-f]{64}$")


class BlobError(ValueError):
    """An upload that cannot be stored (bad id, bad bytes, wrong hash, too large)."""


class BlobTooLarge(BlobError):
    """The upload exceeds the configured maximum size."""


def check_blob_id(blob_id: str) -> str:
    """Return `blob_id` if it is a SHA-256 hex digest, else raise BlobError."""
    if not _BLOB_ID.fullmatch(blob_id):
        raise BlobError(
            "Expected a blob id of 64 lowercase hex characters (the SHA-256 of the "
            f".npy bytes). Received: {blob_id[:80]!r}"
        )
    return blob_id


class BlobStore:
    """Blobs on a local (or shared) file system, two levels of fan-out."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, blob_id: str) -> Path:
        """Where the blob with this id lives (whether or not it exists)."""
        check_blob_id(blob_id)
        return self.root / blob_id[:2] / blob_id[2:4] / blob_id

    def exists(self, blob_id: str) -> bool:
        """Whether the blob's bytes are present."""
        return self.path(blob_id).is_file()

    def write_bytes(self, data: bytes) -> tuple[str, npy.NpyHeader]:
        """Store `.npy` bytes produced on this side (e.g. predictions); returns the id."""
        header = npy.parse_header(data[: npy.MAX_HEADER_BYTES])
        npy.check_length(header, len(data))
        blob_id = hashlib.sha256(data).hexdigest()
        target = self.path(blob_id)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        return blob_id, header

    async def receive(self, blob_id: str, chunks: AsyncIterator[bytes],
                      max_bytes: int) -> tuple[int, npy.NpyHeader]:
        """Stream an upload to disk, checking size, `.npy` header and hash.

        The file only appears under its id once everything checked out, so a
        truncated or forged upload leaves nothing behind.
        """
        target = self.path(blob_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        head = bytearray()
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
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
                    f"{blob_id} they were sent as. Compute the id as the SHA-256 of the "
                    ".npy bytes, or retry if the upload was interrupted."
                )
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return size, header


def missing_ids(session: Session, store: BlobStore, ids: list[str]) -> list[str]:
    """The ids among `ids` that have no stored bytes (keeps the asked order)."""
    known = set(session.scalars(select(BlobRow.id).where(BlobRow.id.in_(ids))))
    return [blob_id for blob_id in dict.fromkeys(ids)
            if blob_id not in known or not store.exists(blob_id)]


def record_blob(session: Session, blob_id: str, owner: str, size: int,
                header: npy.NpyHeader) -> BlobRow:
    """Insert (or return) the row describing a stored blob."""
    row = session.get(BlobRow, blob_id)
    if row is None:
        row = BlobRow(id=blob_id, owner=owner, size=size, dtype=header.dtype.str,
                      shape=list(header.shape))
        session.add(row)
    return row
