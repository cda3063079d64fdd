"""Wire models shared by the SDK, the server and the worker.

Everything that crosses a process boundary is one of these pydantic models, so the
three packages cannot drift apart. Arrays never appear here: they travel as `.npy`
blobs and are referenced by their content hash.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

BLOB_ID_PATTERN = r"^[0-9a-f]{64}$"
"""A blob id is the lowercase hex BLAKE3 hash of the blob's bytes (`horn.schemas.contenthash`)."""

MAX_NAME_LENGTH = 200


class JobStatus(StrEnum):
    """Where a job is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        """Whether the job will never change status again."""
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class CallStatus(StrEnum):
    """Where one manual-batch call of a session job is (`train_on_batch` and the like)."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class JobKind(StrEnum):
    """What a job runs."""

    FIT = "fit"
    EVALUATE = "evaluate"
    PREDICT = "predict"
    INSPECT = "inspect"
    """Build the model on a worker and describe it (`model.summary()`)."""
    SESSION = "session"
    """Hold the model on a worker and answer manual-batch calls (`train_on_batch`)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- errors -----------------------------------------------------------------


class ErrorBody(BaseModel):
    """The body of every error response: a stable code, a readable message, details."""

    code: str
    message: str
    details: dict[str, Any] | None = None


class ErrorEnvelope(BaseModel):
    """`{"error": {...}}`: the one error shape on the wire."""

    error: ErrorBody


class JobError(BaseModel):
    """What went wrong in a failed job, as the worker saw it.

    `type` is the exception's class name; `bases` its built-in ancestors (most
    specific first), so the SDK can raise an exception of the same kind.
    """

    type: str
    bases: list[str] = Field(default_factory=list)
    message: str
    layer: str | None = None


# --- models -----------------------------------------------------------------


class ModelCreate(_Strict):
    """Register a model architecture (Keras's `to_json()` format)."""

    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    spec: dict[str, Any]


class ModelPublic(BaseModel):
    """A registered model and the newest version of its weights."""

    id: str
    name: str
    owner: str
    spec: dict[str, Any]
    weights_version: int | None
    created_at: datetime


# --- blobs ------------------------------------------------------------------


class BlobsMissingRequest(_Strict):
    """Which of these blob ids does the server not have yet?"""

    ids: list[str] = Field(max_length=10_000)

    @field_validator("ids")
    @classmethod
    def _check_ids(cls, ids: list[str]) -> list[str]:
        import re

        for blob_id in ids:
            if not re.fullmatch(BLOB_ID_PATTERN, blob_id):
                raise ValueError(
                    f"expected blob ids as 64 lowercase hex characters (BLAKE3). "
                    f"Received: {blob_id[:80]!r}"
                )
        return ids


class BlobsMissing(BaseModel):
    """The subset of the asked ids that must be uploaded."""

    missing: list[str]


class BlobPublic(BaseModel):
    """A stored array: its id (BLAKE3 hash of the `.npy` bytes), size, dtype and shape."""

    id: str
    size: int
    dtype: str
    shape: list[int]


# --- jobs -------------------------------------------------------------------

DataRef = str | list[str] | dict[str, str]
"""An array argument: one blob id, or a list/dict of them for several inputs."""


class _Seeded(_Strict):
    seed: int | None = Field(default=None, ge=0, le=2**32 - 1,
                             description="Set by `keras.utils.set_random_seed`: the worker "
                             "seeds Python, NumPy and the backend before building the model")


class CheckpointArgs(_Strict):
    """A `keras.callbacks.ModelCheckpoint` of the client, run on the worker.

    The worker decides when to save exactly as Keras does and writes the file into its
    own temporary directory; the client writes each saved file to the user's path. The
    path itself never travels: only its file format does.
    """

    position: int = Field(default=0, ge=0, le=64,
                          description="Index among the remote callbacks (Keras calls "
                          "callbacks in the order given)")
    format: Literal["keras", "h5", "weights.h5"] = "keras"
    monitor: str = Field(default="val_loss", min_length=1, max_length=200)
    mode: Literal["auto", "min", "max"] = "auto"
    save_best_only: bool = False
    save_weights_only: bool = False
    save_freq: Literal["epoch"] | int = Field(default="epoch")
    initial_value_threshold: float | None = None

    @field_validator("save_freq")
    @classmethod
    def _positive_freq(cls, value: Any) -> Any:
        if isinstance(value, int) and value < 1:
            raise ValueError("save_freq must be 'epoch' or a positive number of batches")
        return value


class FitArgs(_Seeded):
    """`Model.fit` arguments that travel to the worker, with Keras's defaults."""

    batch_size: int | None = Field(default=None, ge=1, le=1_000_000)
    epochs: int = Field(default=1, ge=0, le=100_000)
    validation_split: float = Field(default=0.0, ge=0.0, lt=1.0)
    shuffle: bool = True
    initial_epoch: int = Field(default=0, ge=0)
    steps_per_epoch: int | None = Field(default=None, ge=1)
    validation_steps: int | None = Field(default=None, ge=1)
    validation_batch_size: int | None = Field(default=None, ge=1, le=1_000_000)
    validation_freq: int = Field(default=1, ge=1)
    class_weight: dict[str, float] | None = None
    callbacks: list[dict[str, Any]] = Field(default_factory=list, max_length=64)
    checkpoints: list[CheckpointArgs] = Field(default_factory=list, max_length=8)


class EvaluateArgs(_Seeded):
    """`Model.evaluate` arguments that travel to the worker."""

    batch_size: int | None = Field(default=None, ge=1, le=1_000_000)
    steps: int | None = Field(default=None, ge=1)


class InspectArgs(_Seeded):
    """`Model.summary` options that travel to the worker."""

    line_length: int | None = Field(default=None, ge=20, le=1000)
    positions: list[float] | None = Field(default=None, max_length=10)
    expand_nested: bool = False
    show_trainable: bool = False
    layer_range: list[str] | None = Field(default=None, min_length=2, max_length=2)


class SessionArgs(_Seeded):
    """How a manual-batch session keeps its model."""

    idle_timeout: float = Field(default=10.0, ge=1, le=3600,
                                description="Seconds without a call before the session "
                                "stores its weights and ends (after 1 s when other jobs "
                                "wait for its worker)")
    weights_version: int | None = Field(default=None, ge=1,
                                        description="Load this weights version instead "
                                        "of the newest")
    flush_interval: float = Field(default=5.0, ge=0.1, le=3600,
                                  description="Seconds after a change at which the weights "
                                  "are written back to the database")


class SessionCallResult(BaseModel):
    """The answer to one manual-batch call."""

    status: Literal["done", "failed"]
    logs: dict[str, float | str] | None = None
    order: list[str] | None = None
    outputs: Any = None
    """For `predict`: the structure of the outputs, with `.npz` member names as leaves."""
    npz: str | None = None
    """For `predict`: the outputs as base64 `.npz` bytes; for `export` and
    `save_weights`, the file's bytes."""
    format: str | None = None
    weights_version: int | None = None
    loaded: bool | None = None
    error: JobError | None = None


class PredictArgs(_Seeded):
    """`Model.predict` arguments that travel to the worker."""

    batch_size: int | None = Field(default=None, ge=1, le=1_000_000)
    steps: int | None = Field(default=None, ge=1)
    inline_bytes: int = Field(
        default=0, ge=0, le=1 << 20,
        description="horn: predictions of at most this many `.npy` bytes in all come back "
        "inside the job's result, as `data:application/x-npy;base64,...` URLs, instead of "
        "as blobs to download (the server's HORN_MAX_INLINE_OUTPUT_BYTES caps it); 0: blobs")


class JobData(_Strict):
    """The arrays of a job, by blob id (`x` is required except for `inspect`)."""

    x: DataRef | None = None
    y: DataRef | None = None
    sample_weight: DataRef | None = None
    validation_x: DataRef | None = None
    validation_y: DataRef | None = None
    validation_sample_weight: DataRef | None = None


class JobCreate(_Strict):
    """Submit a fit, evaluate or predict job on a registered model."""

    model_id: str = Field(min_length=1, max_length=64)
    kind: JobKind
    compile_config: dict[str, Any] | None = None
    compile_id: str | None = Field(
        default=None,
        max_length=64,
        description="Changes on every `compile()`; optimizer state carries over only "
        "between jobs of the same compile.",
    )
    args: dict[str, Any] = Field(default_factory=dict)
    data: JobData
    queue: str | None = Field(default=None, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-]*$",
                              description="Named queue (e.g. hardware: 'gpu-a100')")
    priority: Literal["high", "normal", "low"] = "normal"
    max_attempts: int = Field(default=3, ge=1, le=20,
                              description="Attempts before the job fails (a lost worker "
                              "costs one)")
    time_limit: int | None = Field(default=None, ge=1, le=30 * 24 * 3600,
                                   description="Seconds of wall time one attempt may run; "
                                   "then the job checkpoints and fails cleanly")


class JobPublic(BaseModel):
    """A job as the API shows it."""

    id: str
    model_id: str
    kind: JobKind
    owner: str
    status: JobStatus
    attempt: int
    max_attempts: int
    queue: str
    priority: str
    cancel_requested: bool
    time_limit: int | None = None
    args: dict[str, Any]
    result: dict[str, Any] | None = None
    error: JobError | None = None
    weights_version_in: int | None = None
    weights_version_out: int | None = None
    worker: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None


class JobsPublic(BaseModel):
    """A page of jobs, newest first, with the total count."""

    data: list[JobPublic]
    count: int


# --- events and metrics -----------------------------------------------------

EventType = Literal[  # one per model of `horn.schemas.events` (a test checks)
    "status",
    "train_begin",
    "resumed",
    "epoch_begin",
    "batch_end",
    "epoch_end",
    "test_begin",
    "test_end",
    "predict_begin",
    "predict_end",
    "train_end",
    "checkpoint",
    "cancel_requested",
    "job_end",
]


class EventPublic(BaseModel):
    """One thing that happened in a job; `id` grows monotonically per server."""

    id: int
    job_id: str
    type: EventType
    data: dict[str, Any]
    created_at: datetime


class MetricPublic(BaseModel):
    """One metric value of one epoch."""

    epoch: int
    step: int | None = None
    name: str
    value: float
    time: datetime


class MetricsPublic(BaseModel):
    """The metrics of a job, ordered by epoch."""

    data: list[MetricPublic]
    count: int


class Health(BaseModel):
    """What `/healthz` answers."""

    status: Literal["ok"]
    database: Literal["ok"]
    version: str


def args_model(kind: JobKind) -> type[BaseModel]:
    """The model of a job kind's `args` (with the defaults the server fills in)."""
    models: dict[JobKind, type[BaseModel]] = {
        JobKind.FIT: FitArgs, JobKind.EVALUATE: EvaluateArgs, JobKind.PREDICT: PredictArgs,
        JobKind.INSPECT: InspectArgs, JobKind.SESSION: SessionArgs}
    return models[kind]
