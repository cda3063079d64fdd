"""Settings of the store: the database, the array blobs and the job ledger's lease."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from horn.settings.base import HornSettings
from horn.settings.database import normalize_database_url


class StoreSettings(HornSettings):
    """Where the database and the blobs are, shared by the server, the worker and the CLI."""

    database_url: str = ""
    """SQLAlchemy URL; defaults to SQLite under `data_dir`. `postgresql://...` means
    psycopg 3 (`postgresql+psycopg://...`)."""
    blob_dir: Path | None = None
    """Where array blobs are kept; defaults to `data_dir/blobs`."""
    blob_url: str = ""
    """Where array blobs are kept, as a URL: `s3://bucket/prefix` for S3-compatible
    object storage (shared by workers on other machines), `file:///path` or empty for
    a directory (`blob_dir`)."""
    s3_endpoint_url: str = ""
    """Endpoint of a non-AWS S3-compatible store (MinIO, Ceph, ...); empty for AWS.
    Credentials and region come from the usual `AWS_*` variables."""
    lease_seconds: int = Field(default=120, ge=2)
    """How long a claimed job stays claimed without a heartbeat."""

    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite in the data directory."""
        return normalize_database_url(self.database_url) or (
            f"sqlite:///{self.data_dir / 'horn.db'}")

    def resolved_blob_dir(self) -> Path:
        """Directory of the content-addressed array store."""
        return self.blob_dir or self.data_dir / "blobs"
