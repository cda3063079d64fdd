"""Settings of a horn process, read once from `HORN_*` environment variables."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path.home() / ".horn"


class Settings(BaseSettings):
    """Configuration shared by the server, the worker and the CLI.

    Every field is set by the environment variable `HORN_<FIELD>` (for example
    `HORN_DATABASE_URL`). The defaults are the embedded single-machine setup.
    """

    model_config = SettingsConfigDict(env_prefix="HORN_", extra="ignore")

    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str = ""
    """SQLAlchemy URL; defaults to SQLite under `data_dir`."""
    broker_url: str = ""
    """Celery broker URL; defaults to a file-system broker under `data_dir`."""
    blob_dir: Path | None = None
    """Where array blobs are kept; defaults to `data_dir/blobs`."""
    queue: str = "horn"
    """The Celery queue jobs are sent to when a job names none."""
    environment: str = "development"
    host: str = "127.0.0.1"
    port: int = 8000

    # Worker.
    lease_seconds: int = Field(default=120, ge=5)
    """How long a claimed job stays claimed without a heartbeat."""
    progress_interval: float = Field(default=0.25, gt=0)
    """Seconds between two per-batch progress events (a few per second)."""
    max_jobs_per_child: int = Field(default=100, ge=1)
    """Jobs a warm worker child runs before it is replaced (bounds leaks)."""
    job_soft_time_limit: int = Field(default=24 * 3600, ge=1)
    job_time_limit: int = Field(default=24 * 3600 + 300, ge=1)

    # Server.
    max_upload_bytes: int = Field(default=4 * 1024**3, ge=1)
    event_poll_interval: float = Field(default=0.05, gt=0)

    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite in the data directory."""
        return self.database_url or f"sqlite:///{self.data_dir / 'horn.db'}"

    def resolved_broker_url(self) -> str:
        """The broker URL, defaulting to a broker that needs no service."""
        return self.broker_url or "filesystem://localhost//"

    def resolved_blob_dir(self) -> Path:
        """Directory of the content-addressed array store."""
        return self.blob_dir or self.data_dir / "blobs"

    def broker_transport_options(self) -> dict[str, Any]:
        """Transport options for the broker in use."""
        url = self.resolved_broker_url()
        if url.startswith("filesystem"):
            folder = self.data_dir / "broker"
            for sub in ("queue", "processed"):
                (folder / sub).mkdir(parents=True, exist_ok=True)
            return {
                "data_folder_in": str(folder / "queue"),
                "data_folder_out": str(folder / "queue"),
                "processed_folder": str(folder / "processed"),
                "store_processed": False,
                "polling_interval": 0.05,
            }
        # Redis: a message not acknowledged within the visibility timeout is
        # delivered again. Jobs are acknowledged late (after they finish), so the
        # timeout must exceed the longest job; the database lease, not Redis,
        # decides whether a second delivery may run (it may not while leased).
        return {"visibility_timeout": self.job_time_limit + 3600}


@functools.cache
def get_settings() -> Settings:
    """The process's settings (read from the environment once)."""
    return Settings()
