"""Turning job, metric and event rows into the dashboard's views (no database access)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from horn.schemas import events as ev
from horn.schemas.api import JobKind, JobStatus
from horn.schemas.estimate import summarize_layers
from horn.schemas.npy import DATA_URL_PREFIX, is_data_url
from horn.schemas.tree import map_leaves
from horn.server.dashboard.schemas import (
    AttemptView,
    ChartPoint,
    DashboardJob,
    EventView,
    JobProgress,
    LayerView,
    MetricChart,
)
from horn.server.store.tables import EventRow, JobRow, MetricRow

# Arguments worth a glance in the layer table, in this order.
KEY_CONFIG = ("units", "filters", "kernel_size", "strides", "padding", "pool_size", "rate",
              "activation", "batch_shape", "shape", "target_shape", "input_dim", "output_dim",
              "return_sequences", "axis", "dropout", "use_bias")


def aware(when: datetime | None) -> datetime | None:
    """`when` with a timezone (SQLite returns naive UTC datetimes)."""
    if when is None or when.tzinfo is not None:
        return when
    return when.replace(tzinfo=UTC)


def main_metric(names: Iterable[str]) -> str | None:
    """The metric a table shows next to the loss: the first that is neither a loss nor
    a validation value (`accuracy`, `mae`, ...)."""
    for name in names:
        if not name.startswith("val_") and "loss" not in name and name != "learning_rate":
            return name
    return None


def progress(job: JobRow, epoch_event: tuple[str, int] | None) -> JobProgress:
    """How far a job got. For `fit`: `epoch x/N` from its newest `epoch_begin` or
    `epoch_end` event and `args.epochs` (Keras's epochs count from 0 in events)."""
    status = JobStatus(job.status)
    epochs = job.args.get("epochs") if job.kind == JobKind.FIT.value else None
    if not isinstance(epochs, int) or epochs <= 0:
        done = status == JobStatus.SUCCEEDED
        return JobProgress(fraction=1.0 if done else None,
                           label="done" if done else ("—" if status.is_terminal else "…"))
    finished = 0
    current: int | None = None
    if epoch_event is not None:
        type_, epoch = epoch_event
        if type_ == ev.EPOCH_END:
            finished = epoch + 1
            current = epoch + 1
        else:
            finished = epoch
            current = epoch + 1
    if status == JobStatus.SUCCEEDED:
        finished = max(finished, epochs)
        current = epochs
    finished = min(finished, epochs)
    shown = current if current is not None else 0
    return JobProgress(epoch=current, epochs=epochs, finished_epochs=finished,
                       fraction=round(finished / epochs, 4), label=f"epoch {shown}/{epochs}")


def duration(job: JobRow, now: datetime) -> float | None:
    """Seconds the job ran (so far, while running)."""
    started = aware(job.started_at)
    if started is None:
        return None
    end = aware(job.finished_at) or (now if job.status == JobStatus.RUNNING.value else None)
    return None if end is None else max(0.0, (end - started).total_seconds())


def job_row(job: JobRow, model_name: str | None, epoch_event: tuple[str, int] | None,
            metrics: dict[str, float] | None, now: datetime) -> DashboardJob:
    """One row of the jobs table."""
    metrics = dict(metrics or {})
    if not metrics and job.kind == JobKind.EVALUATE.value and job.result:
        logs = job.result.get("logs")
        if isinstance(logs, dict):
            metrics = {k: float(v) for k, v in logs.items() if isinstance(v, (int, float))}
    name = main_metric(metrics)
    return DashboardJob(
        id=job.id, model_id=job.model_id, model_name=model_name, kind=JobKind(job.kind),
        owner=job.owner, status=JobStatus(job.status), cancel_requested=job.cancel_requested,
        progress=progress(job, epoch_event), loss=metrics.get("loss"), metric_name=name,
        metric_value=metrics.get(name) if name else None, queue=job.queue,
        priority=job.priority, attempt=job.attempt, max_attempts=job.max_attempts,
        worker=job.worker, created_at=aware(job.created_at) or now,
        started_at=aware(job.started_at), finished_at=aware(job.finished_at),
        duration_seconds=duration(job, now))


def charts(rows: Sequence[MetricRow]) -> list[MetricChart]:
    """One chart per metric, its `val_` twin on the same chart, in first-seen order."""
    series: dict[str, list[ChartPoint]] = {}
    for row in rows:
        series.setdefault(row.name, []).append(ChartPoint(epoch=row.epoch, value=row.value))
    result = []
    for name, points in series.items():
        if name.startswith("val_") and name[4:] in series:
            continue
        if name.startswith("val_"):
            result.append(MetricChart(name=name, train=points, validation=[]))
            continue
        result.append(MetricChart(name=name, train=points,
                                  validation=series.get(f"val_{name}", [])))
    return result


def _short(value: Any) -> str:
    if isinstance(value, dict) and "class_name" in value:  # a nested Keras object
        return str(value["class_name"])
    if isinstance(value, list):
        return "(" + ", ".join("None" if v is None else str(v) for v in value) + ")"
    return repr(value)


def layers(spec: dict[str, Any]) -> list[LayerView]:
    """The layers of a Keras model spec (`Sequential` or functional), as written there."""
    config = spec.get("config") if isinstance(spec, dict) else None
    raw = config.get("layers") if isinstance(config, dict) else None
    if not isinstance(raw, list):
        return []
    views = []
    estimates = summarize_layers(spec)
    for index, layer in enumerate(entry for entry in raw if isinstance(entry, dict)):
        cfg = layer.get("config") if isinstance(layer.get("config"), dict) else {}
        assert isinstance(cfg, dict)
        shown = ", ".join(f"{key}={_short(cfg[key])}" for key in KEY_CONFIG if key in cfg)
        estimate = estimates[index] if index < len(estimates) else None
        shape = estimate.output_shape if estimate else None
        views.append(LayerView(
            name=str(cfg.get("name") or layer.get("name") or ""),
            class_name=str(layer.get("class_name", "?")), config=shown,
            output_shape=_short([None, *shape]) if shape is not None else None,
            params=estimate.params if estimate else None,
            inbound=_inbound(layer.get("inbound_nodes"))))
    return views


def _inbound(nodes: Any) -> list[str]:
    names: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            history = value.get("config", {}).get("keras_history") \
                if value.get("class_name") == "__keras_tensor__" else None
            if isinstance(history, list) and history:
                names.append(str(history[0]))
                return
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(nodes)
    return list(dict.fromkeys(names))


def attempts(events: Sequence[EventRow]) -> list[AttemptView]:
    """A job's attempts from its `status` events (`running` names the worker) and its
    `job_end`."""
    found: list[AttemptView] = []
    for row in events:
        event = _typed(row.type, row.data)
        when = aware(row.created_at) or datetime.now(UTC)
        if isinstance(event, ev.Status) and event.status == JobStatus.RUNNING:
            found.append(AttemptView(attempt=len(found) + 1, worker=event.worker,
                                     started_at=when, ended_at=None,
                                     outcome=JobStatus.RUNNING.value))
        elif found and found[-1].ended_at is None:
            if isinstance(event, ev.Status) and event.status == JobStatus.QUEUED:
                found[-1].ended_at, found[-1].outcome = when, "lost"
            elif isinstance(event, ev.JobEnd):
                found[-1].ended_at = when
                found[-1].outcome = event.status.value
    return found


def _typed(type_: str, data: Any) -> ev.Event | None:
    """The typed event of a row; None for a type or data no model fits."""
    try:
        return ev.parse_event(type_, data if isinstance(data, dict) else {})
    except ValueError:  # pydantic's ValidationError is one
        return None


def event_view(event: EventRow) -> EventView:
    """One entry of the event log, with a one-line summary (predictions inside a
    `job_end` event's result shown by their size, as the job's result is)."""
    data = inline_described(event.data) if isinstance(event.data, dict) else {}
    return EventView(id=event.id, type=event.type,
                     created_at=aware(event.created_at) or datetime.now(UTC),
                     summary=summarize(event.type, data), data=data)


def inline_described(value: Any) -> Any:
    """`value` with each `data:` URL of an array replaced by a short description."""
    return map_leaves(_described, value)


def _described(leaf: Any) -> Any:
    if not is_data_url(leaf):
        return leaf
    size = (len(leaf) - len(DATA_URL_PREFIX)) * 3 // 4 - leaf[-2:].count("=")
    return f"(inline .npy, {size} bytes)"


def _logs(logs: Any) -> str:
    if not isinstance(logs, dict):
        return ""
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in logs.items())


def summarize(type_: str, data: dict[str, Any]) -> str:
    """A one-line description of an event."""
    event = _typed(type_, data)
    if isinstance(event, ev.Status):
        text = event.status.value
        if event.worker:
            text += f" on {event.worker}"
        if event.reason:
            text += f" ({event.reason})"
        return text
    if isinstance(event, (ev.EpochBegin, ev.EpochEnd)):
        text = f"epoch {event.epoch + 1}"
        if isinstance(event, ev.EpochEnd):
            text += f": {_logs(event.logs)} ({event.elapsed:.1f} s)"
        return text
    if isinstance(event, ev.JobEnd):
        text = event.status.value
        if event.error is not None:
            text += f": {event.error.get('type')}: {str(event.error.get('message'))[:300]}"
        return text
    if isinstance(event, ev.TrainBegin):
        return f"attempt {event.attempt}, params " + _logs(event.params)
    if isinstance(event, (ev.TrainEnd, ev.TestEnd)):
        return _logs(event.logs)
    return ""
