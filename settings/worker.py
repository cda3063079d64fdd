"""Settings of a worker: its children, their caches, GPUs, metrics and logs."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from horn.settings.broker import BrokerSettings
from horn.settings.store import StoreSettings


class WorkerSettings(StoreSettings, BrokerSettings):
    """Everything `horn worker` and its Celery children read."""

    progress_interval: float = Field(default=0.25, gt=0)
    """Seconds between two per-batch progress events (a few per second)."""
    heartbeat_interval: float = Field(default=0.2, gt=0)
    """Seconds between a running job's checks of its cancel flag and lease."""
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
    to 60 s."""
    max_inline_output_bytes: int = Field(default=64 * 1024, ge=0, le=1 << 20)
    """Most `.npy` bytes of predictions a job returns inside its result (`data:` URLs,
    when the caller asks: the SDK does up to 16 KiB) rather than as blobs to download;
    0: always blobs."""

    # Deployment.
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
