"""The events of a job, one model per type: what the worker and the store write, and
what the SDK and the dashboard read (`EventPublic.data` holds one of these).

Every model allows extra fields, so an older reader keeps working when a newer
writer adds one. Fields are declared in the order producers have always written them,
and `event_data` gives the stored JSON object (the REST API and the SSE stream serve it
as it is).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from horn.schemas.api import JobStatus

Logs = dict[str, Any]
"""Keras logs: numbers, or `"nan"`/`"inf"`/`"-inf"` for values JSON cannot hold."""


class _Event(BaseModel):
    model_config = ConfigDict(extra="allow")

    omitted_when_none: ClassVar[tuple[str, ...]] = ()
    """Fields left out of the stored data when None (all others are always written)."""


class Status(_Event):
    """The job changed status: `queued` (`reason` when re-queued after a lost worker)
    or `running` (with the `worker` that claimed it)."""

    type: Literal["status"] = "status"
    status: JobStatus
    worker: str | None = None
    reason: str | None = None

    omitted_when_none: ClassVar[tuple[str, ...]] = ("worker", "reason")


class TrainBegin(_Event):
    """`fit` began (or began again after a retry: `attempt`)."""

    type: Literal["train_begin"] = "train_begin"
    params: dict[str, Any]
    attempt: int = 1


class Resumed(_Event):
    """A retried fit goes on from its last checkpoint, at `epoch`."""

    type: Literal["resumed"] = "resumed"
    epoch: int
    attempt: int


class EpochBegin(_Event):
    """An epoch began."""

    type: Literal["epoch_begin"] = "epoch_begin"
    epoch: int


class BatchEnd(_Event):
    """Progress inside a phase: `step` batches done (sent a few times a second)."""

    type: Literal["batch_end"] = "batch_end"
    phase: Literal["train", "test", "predict"]
    step: int
    elapsed: float
    logs: Logs = {}


class EpochEnd(_Event):
    """An epoch ended: its logs, recorded with the epoch's checkpoint."""

    type: Literal["epoch_end"] = "epoch_end"
    epoch: int
    logs: Logs
    elapsed: float
    steps: int | None = None
    time: float | None = None


class TrainEnd(_Event):
    """`fit` ended."""

    type: Literal["train_end"] = "train_end"
    logs: Logs = {}


class TestBegin(_Event):
    """`evaluate` began."""

    type: Literal["test_begin"] = "test_begin"
    steps: int | None = None


class TestEnd(_Event):
    """`evaluate` ended with its logs."""

    type: Literal["test_end"] = "test_end"
    logs: Logs
    elapsed: float


class PredictBegin(_Event):
    """`predict` began."""

    type: Literal["predict_begin"] = "predict_begin"
    steps: int | None = None


class PredictEnd(_Event):
    """`predict` ended."""

    type: Literal["predict_end"] = "predict_end"
    elapsed: float


class Checkpoint(_Event):
    """A remote `ModelCheckpoint` decided at `epoch` (and `batch`); `blob` when saved."""

    type: Literal["checkpoint"] = "checkpoint"
    index: int
    epoch: int
    batch: int | None = None
    blob: str | None = None
    monitor: str | None = None
    logs: Logs = {}
    saved: bool = False
    best_before: float | str | None = None
    """The best monitored value before this epoch (`"inf"` before the first)."""
    current: float | str | None = None
    """This epoch's monitored value (only with `save_best_only`)."""
    missing_monitor: bool = False
    """`save_best_only` found no `monitor` value in the logs."""


class CancelRequested(_Event):
    """Someone asked to cancel the job."""

    type: Literal["cancel_requested"] = "cancel_requested"


class JobEnd(_Event):
    """The job ended: `status` and its `result` or `error`."""

    type: Literal["job_end"] = "job_end"
    status: JobStatus
    result: Any = None
    error: dict[str, Any] | None = None


Event = (Status | TrainBegin | Resumed | EpochBegin | BatchEnd | EpochEnd | TrainEnd
         | TestBegin | TestEnd | PredictBegin | PredictEnd | Checkpoint | CancelRequested
         | JobEnd)

EVENT_MODELS: dict[str, type[_Event]] = {
    model.model_fields["type"].default: model
    for model in (Status, TrainBegin, Resumed, EpochBegin, BatchEnd, EpochEnd, TrainEnd,
                  TestBegin, TestEnd, PredictBegin, PredictEnd, Checkpoint,
                  CancelRequested, JobEnd)
}
"""Each event type and its model."""

STATUS, BATCH_END, EPOCH_BEGIN, EPOCH_END, JOB_END = (
    "status", "batch_end", "epoch_begin", "epoch_end", "job_end")
"""The type names that readers filter on; the last event of every job is `JOB_END`."""


def parse_event(type_: str, data: dict[str, Any]) -> Event:
    """The typed event of a stored `(type, data)` pair.

    Raises:
        ValueError: for an unknown type, or data that does not fit its model.
    """
    model = EVENT_MODELS.get(type_)
    if model is None:
        raise ValueError(f"Unknown event type {type_!r}; expected one of "
                         f"{sorted(EVENT_MODELS)}.")
    event: Event = model.model_validate({**data, "type": type_})  # type: ignore[assignment]
    return event


def event_data(event: Event) -> dict[str, Any]:
    """The `data` to store for an event: its fields without `type`, in declaration
    order, then any extra ones; a field of `omitted_when_none` only when set."""
    data = event.model_dump(mode="json", exclude={"type"}, exclude_unset=False)
    for name in event.omitted_when_none:
        if data.get(name) is None:
            data.pop(name, None)
    return data
