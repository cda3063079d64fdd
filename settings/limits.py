"""Limits the server applies per request, per job and per user."""

from __future__ import annotations

from pydantic import Field

from horn.settings.base import HornSettings


class LimitSettings(HornSettings):
    """What one request, one job or one user may ask of the server."""

    max_upload_bytes: int = Field(default=4 * 1024**3, ge=1)
    """Largest array upload (bytes)."""
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
