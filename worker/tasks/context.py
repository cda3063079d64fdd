"""What one attempt of a claimed job works with: its rows as read once (`JobRecord`) and
the attempt's context (`JobContext`) that every job kind runs on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from horn.schemas.api import JobKind, JobStatus
from horn.server.store import jobs as job_store
from horn.server.store import models as model_store
from horn.server.store.blobs import BlobStore
from horn.server.store.db import transaction
from horn.settings import WorkerSettings
from horn.worker.events import EventSink, LeaseLost
from horn.worker.heartbeat import Heartbeat
from horn.worker.tasks import storage
from horn.worker.tasks.outcome import Outcome, timeout_error

if TYPE_CHECKING:
    from horn.worker.progress import ProgressCallback


@dataclass(frozen=True)
class Resume:
    """The last checkpoint of an interrupted fit: where its next attempt starts."""

    epoch: int
    prior: dict[str, Any]
    """The history so far (`{"history": ..., "epoch": [...]}`)."""
    state: bytes


@dataclass(frozen=True)
class JobRecord:
    """The job, its model and the weights it starts from, read in one transaction."""

    job_id: str
    kind: JobKind
    model_id: str
    owner: str
    attempt: int
    queue: str
    time_limit: int | None
    spec: dict[str, Any]
    compile_config: dict[str, Any] | None
    compile_id: str | None
    args: dict[str, Any]
    data: dict[str, Any]
    weights_in: int | None
    """The weights version the job starts from (None: the model has none yet)."""
    weights_data: bytes | None
    weights_compile_id: str | None
    imported: str | None
    """The blob of a `.weights.h5` file the model was imported with, while it has no
    weights version of its own."""
    resume: Resume | None


def read_job(engine: Engine, job_id: str) -> JobRecord:
    """The claimed job's rows; records the weights version it starts from unless it
    resumes from a checkpoint."""
    with transaction(engine) as session:
        job = job_store.get_job(session, job_id)
        assert job is not None
        model_row = model_store.get_model(session, job.model_id)
        assert model_row is not None
        wanted = job.args.get("weights_version") if job.kind == JobKind.SESSION.value else None
        weights = model_store.get_weights(session, job.model_id, wanted)
        checkpoint = job_store.get_checkpoint(session, job_id) \
            if job.kind == JobKind.FIT.value else None
        resume = Resume(checkpoint.epoch, dict(checkpoint.history), checkpoint.data) \
            if checkpoint is not None else None
        record = JobRecord(
            job_id=job_id, kind=JobKind(job.kind), model_id=job.model_id, owner=job.owner,
            attempt=job.attempt, queue=job.queue, time_limit=job.time_limit,
            spec=model_row.spec, compile_config=job.compile_config,
            compile_id=job.compile_id, args=dict(job.args), data=dict(job.data),
            weights_in=weights.version if weights else None,
            weights_data=weights.data if weights else None,
            weights_compile_id=weights.compile_id if weights else None,
            imported=model_row.import_weights_blob if weights is None else None,
            resume=resume)
        if resume is None:
            job_store.set_weights_version_in(session, job_id, record.weights_in)
    return record


@dataclass
class JobContext:
    """One attempt of a job with its model ready: what each job kind runs on.

    `args` is the attempt's own copy of the job's arguments (a resumed fit moves its
    `initial_epoch`); `progress` and `has_weights` are set once the model's state is
    restored (`horn.worker.tasks.execute`).
    """

    job: JobRecord
    engine: Engine
    settings: WorkerSettings
    sink: EventSink
    heartbeat: Heartbeat
    blobs: BlobStore
    model: Any
    args: dict[str, Any]
    arrays: dict[str, Any]
    """The job's arrays by name (`x`, `y`, `validation_x`, ...)."""
    has_weights: bool = False
    """Whether the model's weights are stored as a version (else the job keeps them)."""
    progress: ProgressCallback = field(init=False)

    def save_weights(self) -> int:
        """Store the model's state as a new weights version (`storage.save_weights`)."""
        return storage.save_weights(self.engine, self.sink, self.model, self.job.model_id,
                                    self.job.compile_id)

    def store_output(self, data: bytes) -> str:
        """Store `.npy` bytes as a blob of the job's owner; returns the blob id."""
        return storage.store_output(self.blobs, self.engine, self.job.owner, data)

    def check_lease(self) -> None:
        """Raise `LeaseLost` when another worker has taken the job over."""
        if self.heartbeat.lost:
            raise LeaseLost(self.job.job_id)

    def keep_initial_weights(self) -> int | None:
        """On a model without stored weights, store its initial weights, so that the next
        call sees the same model (as in one Keras process); returns the new version."""
        return None if self.has_weights else self.save_weights()

    def ending(self, result: dict[str, Any] | None, version: int | None) -> Outcome:
        """The outcome of an evaluate or predict that returned `result`: cancelled or
        timed out when the heartbeat stopped it."""
        self.check_lease()
        if self.heartbeat.cancel_requested:
            return Outcome(JobStatus.CANCELLED, None, version)
        if self.heartbeat.timed_out:
            return Outcome(JobStatus.FAILED, None, version, timeout_error(self.job.time_limit))
        return Outcome(JobStatus.SUCCEEDED, result, version)
