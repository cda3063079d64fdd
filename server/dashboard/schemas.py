"""Response models of the dashboard's JSON (`/v1/dashboard/...`), shown in OpenAPI.

They are views for the dashboard page, not part of the SDK's wire contract, so they live
with the dashboard rather than in `schemas/`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from horn.schemas.api import JobKind, JobStatus


class JobProgress(BaseModel):
    """How far a job got: epochs for `fit` (from its epoch events and `args.epochs`)."""

    epoch: int | None = Field(default=None, description="The epoch running or last "
                              "finished, counted from 1")
    epochs: int | None = Field(default=None, description="`args.epochs` of a fit")
    finished_epochs: int | None = None
    fraction: float | None = Field(default=None, ge=0, le=1,
                                   description="Finished share, 0 to 1 (None: unknown)")
    label: str = Field(description="What the table shows, e.g. `epoch 3/10`")


class DashboardJob(BaseModel):
    """One row of the jobs table."""

    id: str
    model_id: str
    model_name: str | None
    kind: JobKind
    owner: str
    status: JobStatus
    cancel_requested: bool
    progress: JobProgress
    loss: float | None = Field(default=None, description="Latest epoch's `loss`")
    metric_name: str | None = Field(default=None, description="The main metric's name "
                                    "(the first that is neither a loss nor `val_`)")
    metric_value: float | None = None
    queue: str
    priority: str
    attempt: int
    max_attempts: int
    worker: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None = Field(default=None, description="Run time so far "
                                           "(running) or in all (finished)")


class DashboardJobs(BaseModel):
    """A page of the jobs table, newest first."""

    data: list[DashboardJob]
    count: int = Field(description="Jobs matching the filters, on all pages")
    page: int
    per_page: int
    pages: int
    counts: dict[str, int] = Field(description="Your jobs (an admin's: all) by status")


class QueueDepth(BaseModel):
    """Messages waiting in one Celery queue of the broker."""

    queue: str
    depth: int


class WorkerView(BaseModel):
    """A worker the server knows of, from running jobs' leases and Celery's replies."""

    name: str = Field(description="Celery node name (`horn@host`) or, when Celery did "
                      "not answer, the job ledger's `host:pid`")
    processes: list[str] = Field(default_factory=list,
                                 description="`host:pid` of its pool processes")
    queues: list[str] = Field(default_factory=list)
    device: str = Field(description="`CPU`, `GPU 0`, ... from the Celery node name; "
                        "`unknown` when only the ledger knows the worker")
    state: Literal["busy", "idle"]
    current_jobs: list[str] = Field(default_factory=list,
                                    description="Ids of its running jobs that you may see")
    busy_with_hidden_jobs: int = Field(default=0,
                                       description="Running jobs of other users")
    last_heartbeat: datetime | None = Field(default=None, description="Newest lease "
                                            "renewal, or when it last answered Celery")
    source: Literal["jobs", "celery", "jobs+celery"]


class DashboardSummary(BaseModel):
    """Counts, queues and workers: the header of every dashboard page."""

    counts: dict[str, int] = Field(description="Jobs by status (yours, or all for admins)")
    total: int
    succeeded_last_hour: int
    failed_last_hour: int
    queues: list[QueueDepth]
    broker_up: bool
    celery_inspected: bool = Field(description="Whether Celery's remote control answered "
                                   "(Redis broker only)")
    workers: list[WorkerView]
    generated_at: datetime


class ChartPoint(BaseModel):
    """One value of one metric at the end of one epoch."""

    epoch: int
    value: float


class MetricChart(BaseModel):
    """One chart: a metric and its validation twin (`loss` with `val_loss`)."""

    name: str
    train: list[ChartPoint]
    validation: list[ChartPoint]


class LayerView(BaseModel):
    """A layer as the model's spec describes it, with the output shape and parameter
    count computed from its arguments where horn knows the layer's formula."""

    name: str
    class_name: str
    output_shape: str | None = Field(default=None, description="e.g. `(None, 64)`")
    params: int | None = Field(default=None, description="None where not computable")
    config: str = Field(description="Key arguments, e.g. `units=64, activation='relu'`")
    inbound: list[str] = Field(default_factory=list,
                               description="Layers feeding it (functional models)")


class AttemptView(BaseModel):
    """One attempt at running a job and the worker that ran it."""

    attempt: int
    worker: str | None
    started_at: datetime
    ended_at: datetime | None
    outcome: str = Field(description="`running`, `lost` (re-queued), or the final status")


class EventView(BaseModel):
    """One entry of the job's event log (per-batch progress left out)."""

    id: int
    type: str
    created_at: datetime
    summary: str
    data: dict[str, Any]


class DashboardJobDetail(BaseModel):
    """Everything the job page shows."""

    job: DashboardJob
    model_class: str | None
    layers: list[LayerView]
    compile_config: dict[str, Any] | None
    args: dict[str, Any]
    result: dict[str, Any] | None
    error: dict[str, Any] | None
    charts: list[MetricChart]
    attempts: list[AttemptView]
    events: list[EventView]
    events_truncated: bool
    can_cancel: bool
    weights_url: str | None = Field(description="Download of the trained weights (`.npz`)")
