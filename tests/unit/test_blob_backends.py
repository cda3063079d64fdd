"""Both blob backends behave alike: a directory and S3-compatible storage (moto's real
HTTP server, not a mock object)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from horn.schemas import npy
from horn.schemas.contenthash import blob_id as blob_id_of
from horn.server.store.blob_s3 import S3BlobStore
from horn.server.store.blobs import (
    BlobError,
    BlobStore,
    BlobTooLarge,
    LocalBlobStore,
    make_blob_store,
)
from horn.settings import StoreSettings as Settings
from tests.s3server import S3Server, s3_server


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path, s3: S3Server,
          monkeypatch: pytest.MonkeyPatch) -> BlobStore:
    if request.param == "local":
        return make_blob_store(Settings(data_dir=tmp_path))
    bucket = f"horn-{uuid.uuid4().hex[:12]}"
    s3.client().create_bucket(Bucket=bucket)  # type: ignore[attr-defined]
    for key, value in s3.env().items():
        monkeypatch.setenv(key, value)
    made = make_blob_store(Settings(data_dir=tmp_path, blob_url=f"s3://{bucket}/data/v1",
                                    s3_endpoint_url=s3.endpoint))
    assert isinstance(made, S3BlobStore)
    made.spool = tmp_path / "spool"
    return made


async def _chunks(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


def _leftovers(store: BlobStore, tmp_path: Path) -> list[Path]:
    return [p for p in tmp_path.rglob(".upload-*")]


def test_written_arrays_read_back_exactly(store: BlobStore) -> None:
    array = np.arange(24, dtype="float32").reshape(2, 3, 4)
    data = npy.to_npy_bytes(array)
    blob_id, header = store.write_bytes(data)
    assert blob_id == blob_id_of(data) and header.shape == (2, 3, 4)
    assert store.exists(blob_id)
    np.testing.assert_array_equal(store.load_array(blob_id), array)
    assert store.read_bytes(blob_id) == data
    assert b"".join(store.iter_chunks(blob_id, chunk_size=10)) == data
    assert store.write_bytes(data)[0] == blob_id  # writing twice changes nothing


def test_upload_is_checked_and_leaves_nothing_when_refused(store: BlobStore,
                                                           tmp_path: Path) -> None:
    data = npy.to_npy_bytes(np.arange(6, dtype="int16"))
    blob_id = blob_id_of(data)
    size, header = asyncio.run(store.receive(blob_id, _chunks(data), max_bytes=10_000))
    assert size == len(data) and header.shape == (6,) and store.exists(blob_id)
    np.testing.assert_array_equal(store.load_array(blob_id), np.arange(6, dtype="int16"))

    other = npy.to_npy_bytes(np.arange(7, dtype="int16"))
    other_id = blob_id_of(other)
    with pytest.raises(BlobError, match="hash"):
        asyncio.run(store.receive("0" * 64, _chunks(other), max_bytes=10_000))
    # A client from before BLAKE3 named arrays by SHA-256: told what to do.
    with pytest.raises(BlobError, match="BLAKE3.*SHA-256: upgrade"):
        asyncio.run(store.receive(hashlib.sha256(other).hexdigest(), _chunks(other),
                                  max_bytes=10_000))
    with pytest.raises(BlobTooLarge, match="HORN_MAX_UPLOAD_BYTES"):
        asyncio.run(store.receive(other_id, _chunks(other), max_bytes=10))
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(head, {"descr": "|O", "fortran_order": False,
                                                "shape": (1,)})
    pickled = head.getvalue() + b"\x00" * 8
    with pytest.raises(ValueError, match="object|pickle"):
        asyncio.run(store.receive(blob_id_of(pickled), _chunks(pickled),
                                  max_bytes=10_000))
    assert not store.exists("0" * 64) and not store.exists(other_id)
    assert _leftovers(store, tmp_path) == []


def test_missing_blob_and_bad_ids(store: BlobStore) -> None:
    assert not store.exists("a" * 64)
    with pytest.raises(FileNotFoundError):
        store.load_array("a" * 64)
    with pytest.raises(BlobError, match="64 lowercase hex"):
        store.exists("../../etc/passwd")


def test_s3_keys_mirror_the_directory_layout(s3: S3Server, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """`aws s3 sync` of a blob directory gives the keys the S3 backend reads."""
    client: Any = s3.client()
    client.create_bucket(Bucket="horn-layout")
    for key, value in s3.env().items():
        monkeypatch.setenv(key, value)
    remote = S3BlobStore.from_url("s3://horn-layout/pre/fix/", endpoint_url=s3.endpoint)
    local = LocalBlobStore(tmp_path / "blobs")
    blob_id, _ = local.write_bytes(npy.to_npy_bytes(np.ones(3)))
    path = local.path(blob_id)
    client.upload_file(str(path), "horn-layout",
                       "pre/fix/" + path.relative_to(local.root).as_posix())
    assert remote.exists(blob_id)
    np.testing.assert_array_equal(remote.load_array(blob_id), np.ones(3))


def test_factory_says_what_is_wrong(s3: S3Server, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in s3.env().items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValueError, match="HORN_BLOB_URL must be s3://"):
        make_blob_store(Settings(data_dir=tmp_path, blob_url="gs://bucket/x"))
    with pytest.raises(ValueError, match="Create the bucket"):
        make_blob_store(Settings(data_dir=tmp_path, blob_url="s3://no-such-bucket-horn/x",
                                 s3_endpoint_url=s3.endpoint))
    local = make_blob_store(Settings(data_dir=tmp_path, blob_url=f"file://{tmp_path}/b"))
    assert isinstance(local, LocalBlobStore) and local.root == tmp_path / "b"
