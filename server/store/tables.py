"""Tables of the horn database. Alembic's migrations create them; see `migrations/`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from horn.schemas.api import CallStatus

LOCAL_USER = "local"
"""Owner of everything while authentication is not configured."""


def utcnow() -> datetime:
    """Timezone-aware now, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp; naive values read back (SQLite keeps no zone) are
    UTC, so the API always shows RFC 3339 times with an offset."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    """Declarative base of all tables."""

    type_annotation_map = {dict[str, Any]: JSON, datetime: UTCDateTime()}


class User(Base):
    """An account; every resource has an owner."""

    __tablename__ = "users"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    is_admin: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModelRow(Base):
    """A model architecture (Keras JSON) and a pointer to its newest weights."""

    __tablename__ = "models"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(ForeignKey("users.name"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    spec: Mapped[dict[str, Any]]
    weights_version: Mapped[int | None]
    import_weights_blob: Mapped[str | None] = mapped_column(String(64), default=None)
    """Blob id of the checked `model.weights.h5` of an imported `.keras` file, for the
    worker to load before the first job (None for models registered as JSON)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WeightsRow(Base):
    """One version of a model's weights (and optimizer state), as `.npz` bytes."""

    __tablename__ = "weights"
    __table_args__ = (UniqueConstraint("model_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[str] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    version: Mapped[int]
    job_id: Mapped[str | None] = mapped_column(String(32))
    compile_id: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BlobRow(Base):
    """A content-addressed array in the blob store."""

    __tablename__ = "blobs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(ForeignKey("users.name"))
    size: Mapped[int] = mapped_column(BigInteger)
    dtype: Mapped[str] = mapped_column(String(32))
    shape: Mapped[list[int]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BlobRef(Base):
    """A user's reference to a blob: only blobs a user uploaded (or a job of theirs
    produced) may be named in their jobs or downloaded by them."""

    __tablename__ = "blob_refs"

    owner: Mapped[str] = mapped_column(ForeignKey("users.name"), primary_key=True)
    blob_id: Mapped[str] = mapped_column(ForeignKey("blobs.id"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """An API key: `horn_<prefix>_<secret>`, kept only as the SHA-256 of the whole key."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    hash: Mapped[str] = mapped_column(String(64))
    owner: Mapped[str] = mapped_column(ForeignKey("users.name"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class JobRow(Base):
    """A fit/evaluate/predict run: the ledger entry that workers claim."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_owner_created", "owner", "created_at"),
        Index("ix_jobs_status_created", "status", "created_at"),
        Index("ix_jobs_status_lease", "status", "lease_expires_at"),
        UniqueConstraint("owner", "idempotency_key"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(ForeignKey("users.name"))
    model_id: Mapped[str] = mapped_column(ForeignKey("models.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    queue: Mapped[str] = mapped_column(String(100))
    priority: Mapped[str] = mapped_column(String(8), default="normal")
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    stop_requested: Mapped[bool] = mapped_column(default=False)
    """Stop after the epoch in progress and finish normally (`model.stop_training`)."""
    time_limit: Mapped[int | None]
    """Seconds of wall time one attempt may run (soft: checkpoint and fail cleanly)."""
    sent_at: Mapped[datetime | None]
    """When the job's task was last sent to the broker."""
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    compile_config: Mapped[dict[str, Any] | None]
    compile_id: Mapped[str | None] = mapped_column(String(64))
    args: Mapped[dict[str, Any]]
    data: Mapped[dict[str, Any]]
    result: Mapped[dict[str, Any] | None]
    error: Mapped[dict[str, Any] | None]
    attempt: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    worker: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None]
    weights_version_in: Mapped[int | None]
    weights_version_out: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class CheckpointRow(Base):
    """The newest end-of-epoch state of a running fit: what a retry resumes from."""

    __tablename__ = "checkpoints"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"),
                                        primary_key=True)
    epoch: Mapped[int]
    """The last finished epoch (0-based); a retry starts at `epoch + 1`."""
    attempt: Mapped[int]
    history: Mapped[dict[str, Any]]
    """`{"history": {name: [values]}, "epoch": [...]}` up to and including `epoch`."""
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SessionCallRow(Base):
    """One manual-batch call (`train_on_batch`, ...) to a model held by a session job."""

    __tablename__ = "session_calls"
    __table_args__ = (Index("ix_session_calls_job_status", "job_id", "status", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    op: Mapped[str] = mapped_column(String(16))
    args: Mapped[dict[str, Any]]
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default=CallStatus.PENDING.value)
    result: Mapped[dict[str, Any] | None]
    output: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EventRow(Base):
    """Something that happened in a job, replayable by id (server-sent events)."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_job_id_id", "job_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MetricRow(Base):
    """One metric value at the end of one epoch of a job."""

    __tablename__ = "metrics"
    __table_args__ = (UniqueConstraint("job_id", "epoch", "name"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"),
                                        index=True)
    epoch: Mapped[int]
    step: Mapped[int | None]
    name: Mapped[str] = mapped_column(Text)  # Keras takes names of any length
    value: Mapped[float] = mapped_column(Float)
    time: Mapped[datetime] = mapped_column(default=utcnow)


__all__ = ["ApiKey", "Base", "BlobRef", "BlobRow", "CheckpointRow", "EventRow", "JobRow",
           "MetricRow", "ModelRow", "SessionCallRow", "User", "WeightsRow", "LOCAL_USER",
           "utcnow"]
