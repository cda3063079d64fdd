"""Blobs in S3-compatible object storage (AWS S3, MinIO, Ceph, ...), through boto3.

Chosen with `HORN_BLOB_URL=s3://bucket/prefix`; `HORN_S3_ENDPOINT_URL` names a store
other than AWS. Credentials and region come from boto3's usual sources
(`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_DEFAULT_REGION`, an instance role).
Keys are `prefix/ab/cd/<blob id>`, the same layout as a local blob directory, so
`aws s3 sync DIR s3://bucket/prefix --exclude '*/.upload-*'` moves a store across.
"""

from __future__ import annotations

import tempfile
from contextlib import AbstractContextManager, closing
from pathlib import Path
from typing import IO, Any, cast
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from horn.server.store.blobs import BlobStore, blob_key

_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


class S3BlobStore(BlobStore):
    """Blobs as objects of one bucket, under a key prefix.

    Args:
        bucket: the bucket (it must exist; horn does not create buckets).
        prefix: a key prefix, without leading or trailing slash ("" for none).
        client: a boto3 S3 client.
        spool_dir: where uploads are spooled while being checked (the system's
            temporary directory by default).
    """

    def __init__(self, bucket: str, prefix: str, client: Any,
                 spool_dir: Path | None = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client
        self.spool = spool_dir or Path(tempfile.gettempdir()) / "horn-uploads"

    def __repr__(self) -> str:
        return f"S3BlobStore('s3://{self.bucket}/{self.prefix}')"

    @classmethod
    def from_url(cls, url: str, endpoint_url: str | None = None) -> S3BlobStore:
        """A store for `s3://bucket/prefix`, checked to be reachable.

        Raises:
            ValueError: the URL names no bucket, or the bucket cannot be reached with
                these credentials (the message says which).
        """
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"Expected HORN_BLOB_URL=s3://bucket/prefix. Received: {url!r}")
        client = boto3.client(
            "s3", endpoint_url=endpoint_url,
            config=Config(retries={"max_attempts": 5, "mode": "standard"},
                          connect_timeout=10, read_timeout=120))
        store = cls(parts.netloc, parts.path, client)
        store.check()
        return store

    def check(self) -> None:
        """Fail early, with the reason, when the bucket cannot be reached."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as exc:
            raise ValueError(
                f"Cannot reach the blob bucket s3://{self.bucket} ({exc}). Create the bucket, "
                "check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, and set HORN_S3_ENDPOINT_URL "
                "for a store other than AWS.") from exc

    def key(self, blob_id: str) -> str:
        """The object key of a blob."""
        name = blob_key(blob_id)
        return f"{self.prefix}/{name}" if self.prefix else name

    def exists(self, blob_id: str) -> bool:
        """Whether the object is present (one HEAD request)."""
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(blob_id))
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in _NOT_FOUND:
                return False
            raise
        return True

    def open(self, blob_id: str) -> AbstractContextManager[IO[bytes]]:
        """The object's body, streamed.

        Raises:
            FileNotFoundError: no such object.
        """
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.key(blob_id))
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in _NOT_FOUND:
                raise FileNotFoundError(
                    f"Blob {blob_id} is not in s3://{self.bucket}/{self.prefix}") from exc
            raise
        return cast(AbstractContextManager[IO[bytes]], closing(response["Body"]))

    def _put_bytes(self, blob_id: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self.key(blob_id), Body=data)

    def _spool_dir(self, blob_id: str) -> Path:
        return self.spool

    def _commit_file(self, blob_id: str, tmp: Path) -> None:
        # Multipart for large files; the object appears only once the upload completes.
        self.client.upload_file(str(tmp), self.bucket, self.key(blob_id))
