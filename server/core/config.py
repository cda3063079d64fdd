"""Settings of a horn process, read once from `HORN_*` environment variables."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, Literal

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
    blob_url: str = ""
    """Where array blobs are kept, as a URL: `s3://bucket/prefix` for S3-compatible
    object storage (shared by workers on other machines), `file:///path` or empty for
    a directory (`blob_dir`)."""
    s3_endpoint_url: str = ""
    """Endpoint of a non-AWS S3-compatible store (MinIO, Ceph, ...); empty for AWS.
    Credentials and region come from the usual `AWS_*` variables."""
    queue: str = "horn"
    """The Celery queue jobs are sent to when a job names none."""
    environment: str = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    allow_unauthenticated_bind: bool = False
    """Let `horn server`/`horn up` listen on a non-loopback address with `HORN_AUTH=none`.
    Only for containers whose port is published to 127.0.0.1 of the host or sits behind
    an authenticating proxy."""
    auth: Literal["none", "keys"] = "none"
    """`keys`: every `/v1` request needs `Authorization: Bearer <API key>` (create keys
    with `horn keys create`). `none`: no authentication, everything belongs to the local
    user `local` (the embedded single-user mode, loopback only)."""

    # Worker.
    lease_seconds: int = Field(default=120, ge=2)
    """How long a claimed job stays claimed without a heartbeat."""
    progress_interval: float = Field(default=0.25, gt=0)
    """Seconds between two per-batch progress events (a few per second)."""
    max_jobs_per_child: int = Field(default=100, ge=1)
    """Jobs a warm worker child runs before it is replaced (bounds leaks)."""
    max_memory_per_child_mb: int = Field(default=0, ge=0)
    """Replace a worker child after the job during which its resident memory passed this
    many MB (0: only `max_jobs_per_child` applies)."""
    model_cache: bool = True
    """Keep the models of a worker child's last jobs for the next jobs on the same model
    (no rebuild, compile or retrace), and let a new model with the same architecture and
    compile config (same owner) take one over; seeded jobs always build afresh."""
    model_cache_size: int = Field(default=8, ge=1)
    """Models a worker child keeps warm at most (least recently used out first)."""
    model_cache_mb: int = Field(default=2048, ge=0)
    """MB of variables (weights and optimizer state) a worker child keeps warm at most,
    on the GPU where it has one; the last job's model is kept whatever its size."""
    data_cache_mb: int = Field(default=1024, ge=0)
    """MB of a worker child's recent arrays it keeps as tensors for later jobs on the
    same data (no reading, no conversion by Keras); 0 turns it off."""
    data_autotune: bool = False
    """Let tf.data's autotuner run in the input pipelines Keras builds on a worker
    (Keras's default). Off by default: its thread can hold up the end of an epoch, an
    `evaluate` or a `predict` for the rest of its period, which doubles from 10 ms up
    to 60 s (`horn.worker.runtime.set_data_autotune`)."""
    max_inline_output_bytes: int = Field(default=64 * 1024, ge=0, le=1 << 20)
    """Most `.npy` bytes of predictions a job returns inside its result (`data:` URLs,
    when the caller asks: the SDK does up to 16 KiB) rather than as blobs to download;
    0: always blobs."""
    job_soft_time_limit: int = Field(default=24 * 3600, ge=1)
    job_time_limit: int = Field(default=24 * 3600 + 300, ge=1)

    # Worker deployment.
    worker_gpus: str = "all"
    """GPUs `horn worker` runs one Celery worker for each: `all` (every visible GPU;
    one CPU worker when there is none), `none`, or a list such as `0,1`."""
    mixed_precision: bool = False
    """Train with Keras's `mixed_float16` policy (faster on GPUs with tensor cores)."""
    distribute: Literal["", "none", "mirrored"] = ""
    """`mirrored`: one job uses every GPU of the worker through
    `tf.distribute.MirroredStrategy` (then `horn worker` runs one process for all)."""
    worker_metrics_port: int = Field(default=0, ge=0, le=65535)
    """Port of the worker's Prometheus metrics (0: off); one port for all the worker
    processes `horn worker` starts on a machine."""
    worker_metrics_host: str = "127.0.0.1"
    """Address the worker's metrics listen on (`0.0.0.0` in a container)."""
    log_format: Literal["json", "text"] = "json"
    """Worker log lines: one JSON object per line (with the job id), or plain text."""

    # Job control (the reaper runs in the server).
    reaper_interval: float = Field(default=5.0, gt=0)
    """Seconds between two reaper passes (expired leases, lost broker messages)."""
    resend_grace: float = Field(default=10.0, ge=0)
    """A queued job's task is looked for in the broker this long after it was sent."""
    resend_blind_after: float = Field(default=300.0, ge=0)
    """When the broker cannot be inspected, resend a queued job after this long."""
    heartbeat_interval: float = Field(default=0.2, gt=0)
    """Seconds between a running job's checks of its cancel flag and lease."""

    # Server.
    max_upload_bytes: int = Field(default=4 * 1024**3, ge=1)

    # Limits (per request, per job, per user).
    max_import_bytes: int = Field(default=2 * 1024**3, ge=1)
    """Largest `.keras` file `POST /v1/models/import` accepts (compressed)."""
    max_unpacked_bytes: int = Field(default=4 * 1024**3, ge=1)
    """Largest total size of the unpacked members of an imported `.keras` file."""
    max_compression_ratio: float = Field(default=100.0, gt=1)
    """Largest uncompressed/compressed ratio of a `.keras` member (zip bombs)."""
    max_arrays_per_job: int = Field(default=64, ge=1)
    max_model_params: int = Field(default=1_000_000_000, ge=1)
    """Most parameters a model may have (estimated from its JSON at submission)."""
    max_model_memory_bytes: int = Field(default=32 * 1024**3, ge=1)
    """Most memory a model's training state may need (parameters x 4 bytes x 4:
    weights, gradients and two optimizer slots)."""
    max_total_steps: int = Field(default=10_000_000, ge=1)
    """Most training steps (epochs x steps per epoch) one fit may ask for."""
    max_time_limit: int = Field(default=24 * 3600, ge=1)
    """Largest `time_limit` (seconds per attempt) a job may ask for."""
    max_queued_jobs_per_user: int = Field(default=100, ge=1)
    max_running_jobs_per_user: int = Field(default=16, ge=1)
    """A user with this many jobs running gets 429 for new ones until one finishes."""
    rate_limit_per_second: float = Field(default=50.0, ge=0)
    """Requests per second per API key, sustained (token bucket per server process;
    0 turns it off). Not applied with `HORN_AUTH=none`."""
    rate_limit_burst: int = Field(default=500, ge=1)
    """Requests an idle key may send at once before the sustained rate applies."""
    server_workers: int = Field(default=1, ge=1, le=64)
    """Processes `horn server` runs (uvicorn `--workers`): about one per core. Rate
    limits and caches are per process."""
    server_threads: int = Field(default=16, ge=1, le=256)
    """Threads per server process for blocking work (database reads and writes, file
    checks), and as many pooled database connections: a thread never waits for a
    connection."""
    event_poll_interval: float = Field(default=0.05, gt=0)
    secret_key: str = ""
    """Signs the dashboard's session cookies (`HORN_SECRET_KEY`, a long random string).
    Outside development the server refuses to start while it is empty or a placeholder;
    in development an empty key means a random one kept in `data_dir/secret_key`."""

    def resolved_secret_key(self) -> str:
        """The key that signs session cookies.

        Raises:
            ValueError: outside development, `HORN_SECRET_KEY` is empty or a placeholder.
        """
        key = self.secret_key.strip()
        if key and not is_placeholder_secret(key):
            return key
        if self.environment != "development":
            raise ValueError(
                "HORN_SECRET_KEY must be set to a long random string outside development "
                f"(HORN_ENVIRONMENT={self.environment}). Received: "
                f"{'an empty value' if not key else 'a placeholder'}. Generate one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`.")
        return _development_secret(self.data_dir)

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
            for sub in ("queue", "processed", "control"):
                (folder / sub).mkdir(parents=True, exist_ok=True)
            return {
                # Celery's broadcast state (kombu's default is ./control, in the cwd).
                "control_folder": str(folder / "control"),
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
        # Workers consume each named queue's `.high`, plain and `.low` queues in that
        # order ("priority" strategy), so high-priority jobs are taken first.
        return {"visibility_timeout": self.job_time_limit + 3600,
                "queue_order_strategy": "priority"}


_PLACEHOLDER_SECRETS = {"changeme", "changethis", "secret", "secretkey", "placeholder",
                        "xxx", "todo", "none", "default", "development", "dev", "test"}


def is_placeholder_secret(value: str) -> bool:
    """Whether a secret is a placeholder (`changeme`, `change-me-...`) or too short."""
    plain = "".join(ch for ch in value.lower() if ch.isalnum())
    return (len(value) < 16 or plain in _PLACEHOLDER_SECRETS or plain.startswith("changeme")
            or plain.startswith("changethis"))


def _development_secret(data_dir: Path) -> str:
    """A random key for development, kept in the data directory across restarts."""
    import secrets

    path = data_dir / "secret_key"
    try:
        existing = path.read_text().strip()
    except OSError:
        existing = ""
    if len(existing) >= 32:
        return existing
    key = secrets.token_urlsafe(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
    except OSError:  # a read-only data directory: sessions last as long as the process
        pass
    return key


@functools.cache
def get_settings() -> Settings:
    """The process's settings (read from the environment once)."""
    return Settings()
