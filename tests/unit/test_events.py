"""The typed events: what producers store is, byte for byte, the JSON the REST API and
the SSE stream served before the models existed, and the readers take the models."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any, get_args

import pytest
from sqlalchemy import Engine

from horn.schemas import events as ev
from horn.schemas.api import EventType, JobStatus
from horn.server.store import jobs, models
from horn.server.store.db import make_engine, transaction
from horn.server.store.migrate import upgrade
from horn.server.store.tables import utcnow

LOGS = {"loss": 0.25, "accuracy": 0.5, "val_loss": "nan"}

# Each event as a producer builds it, and the data its producer wrote as a literal
# before (the store, the progress callback, the checkpoint callback, the resume).
STORED: list[tuple[ev.Event, dict[str, Any]]] = [
    (ev.Status(status=JobStatus.QUEUED), {"status": "queued"}),
    (ev.Status(status=JobStatus.RUNNING, worker="host:1"),
     {"status": "running", "worker": "host:1"}),
    (ev.Status(status=JobStatus.QUEUED, reason="lease of worker host:1 expired"),
     {"status": "queued", "reason": "lease of worker host:1 expired"}),
    (ev.TrainBegin(params={"epochs": 2, "steps": 4}, attempt=1),
     {"params": {"epochs": 2, "steps": 4}, "attempt": 1}),
    (ev.Resumed(epoch=3, attempt=2), {"epoch": 3, "attempt": 2}),
    (ev.EpochBegin(epoch=0), {"epoch": 0}),
    (ev.BatchEnd(phase="train", step=3, elapsed=0.5, logs=LOGS),
     {"phase": "train", "step": 3, "elapsed": 0.5, "logs": LOGS}),
    (ev.EpochEnd(epoch=1, logs=LOGS, elapsed=1.5, steps=None, time=1.7e9),
     {"epoch": 1, "logs": LOGS, "elapsed": 1.5, "steps": None, "time": 1.7e9}),
    (ev.TrainEnd(logs={}), {"logs": {}}),
    (ev.TestBegin(steps=None), {"steps": None}),
    (ev.TestEnd(logs=LOGS, elapsed=0.25), {"logs": LOGS, "elapsed": 0.25}),
    (ev.PredictBegin(steps=4), {"steps": 4}),
    (ev.PredictEnd(elapsed=0.125), {"elapsed": 0.125}),
    (ev.Checkpoint(index=0, epoch=1, batch=None, blob=None, monitor="val_loss", logs=LOGS,
                   saved=False, best_before="inf", current=None, missing_monitor=True),
     {"index": 0, "epoch": 1, "batch": None, "blob": None, "monitor": "val_loss",
      "logs": LOGS, "saved": False, "best_before": "inf", "current": None,
      "missing_monitor": True}),
    (ev.CancelRequested(), {}),
    (ev.JobEnd(status=JobStatus.CANCELLED), {"status": "cancelled", "result": None,
                                             "error": None}),
    (ev.JobEnd(status=JobStatus.SUCCEEDED, result={"history": {"loss": [0.5]}}, error=None),
     {"status": "succeeded", "result": {"history": {"loss": [0.5]}}, "error": None}),
]


@pytest.mark.parametrize(("event", "before"), STORED, ids=lambda v: getattr(v, "type", ""))
def test_stored_data_is_what_producers_wrote_before(event: ev.Event,
                                                    before: dict[str, Any]) -> None:
    data = ev.event_data(event)
    assert json.dumps(data) == json.dumps(before)  # the same keys, in the same order
    assert ev.event_data(ev.parse_event(event.type, data)) == before


def test_every_event_type_has_a_model() -> None:
    assert set(get_args(EventType)) == set(ev.EVENT_MODELS)
    assert {event.type for event, _ in STORED} == set(ev.EVENT_MODELS)


def test_an_unknown_type_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match="Unknown event type 'epoch_done'.*epoch_end"):
        ev.parse_event("epoch_done", {})


@pytest.fixture()
def engine(tmp_path: Path) -> Engine:
    url = f"sqlite:///{tmp_path / 'horn.db'}"
    upgrade(url)
    return make_engine(url)


def _stored(engine: Engine, job_id: str) -> list[tuple[str, str]]:
    with transaction(engine) as session:
        return [(row.type, json.dumps(row.data))
                for row in jobs.events_after(session, job_id, 0)]


def test_the_ledger_stores_its_events_as_before(engine: Engine) -> None:
    with transaction(engine) as session:
        model = models.create_model(session, "local", "m", {"class_name": "Sequential"})
        job = jobs.create_job(session, owner="local", model_id=model.id, kind="fit",
                              queue="q", compile_config={}, compile_id=None, args={},
                              data={}, idempotency_key=None, max_attempts=2)
    with transaction(engine) as session:
        assert jobs.claim_job(session, job.id, "w1", timedelta(seconds=-1))
    with transaction(engine) as session:
        row = jobs.get_job(session, job.id)
        assert row is not None
        assert jobs.requeue_expired(session, row, utcnow()) == "queued"
    with transaction(engine) as session:
        assert jobs.claim_job(session, job.id, "w2", timedelta(seconds=60))
        assert jobs.cancel_job(session, job.id) == "running"
        assert jobs.finish_job(session, job.id, "w2", JobStatus.CANCELLED)
    reason = ("lease of worker w1 expired; attempt 2 of 2 will resume from the last "
              "checkpoint")
    assert _stored(engine, job.id) == [
        ("status", '{"status": "queued"}'),
        ("status", '{"status": "running", "worker": "w1"}'),
        ("status", json.dumps({"status": "queued", "reason": reason})),
        ("status", '{"status": "running", "worker": "w2"}'),
        ("cancel_requested", "{}"),
        ("job_end", '{"status": "cancelled", "result": null, "error": null}'),
    ]


class _RecordingSink:
    """Keeps what the progress callback hands the sink."""

    refused = None

    def __init__(self) -> None:
        self.events: list[Any] = []

    def emit(self, event: Any, defer: bool = False) -> None:
        self.events.append(event)

    def epoch_end(self, event: Any, step: int | None, checkpoint: Any) -> None:
        self.events.append(event)


def test_the_progress_callback_emits_typed_events() -> None:
    keras = pytest.importorskip("keras")
    import numpy as np

    from horn.worker.progress import ProgressCallback

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.zeros((8, 3), "float32"), np.zeros((8, 1), "float32")
    sink = _RecordingSink()
    callback = ProgressCallback(sink, interval=0.0)  # type: ignore[arg-type]
    model.fit(x, y, epochs=1, batch_size=4, verbose=0, callbacks=[callback])
    model.evaluate(x, y, batch_size=4, verbose=0, callbacks=[callback])
    model.predict(x, batch_size=4, verbose=0, callbacks=[callback])
    assert all(isinstance(event, ev.EVENT_MODELS[event.type]) for event in sink.events)
    keys = {event.type: list(ev.event_data(event)) for event in sink.events}
    assert keys == {
        "train_begin": ["params", "attempt"], "epoch_begin": ["epoch"],
        "batch_end": ["phase", "step", "elapsed", "logs"],
        "epoch_end": ["epoch", "logs", "elapsed", "steps", "time"], "train_end": ["logs"],
        "test_begin": ["steps"], "test_end": ["logs", "elapsed"],
        "predict_begin": ["steps"], "predict_end": ["elapsed"]}


class _Recorder:
    """A local callback that notes each call."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def set_params(self, params: dict[str, Any]) -> None:
        self.calls.append(("set_params", params))

    def __getattr__(self, hook: str) -> Any:
        return lambda *args: self.calls.append((hook, *args))


def test_the_follower_reads_typed_events(capsys: pytest.CaptureFixture[str]) -> None:
    from horn.keras.models.follow import Follower

    recorder = _Recorder()
    follower = Follower(None, "job-1", verbose=0, callbacks=[recorder],  # type: ignore[arg-type]
                        params={"verbose": 0})
    for event in (ev.TrainBegin(params={"epochs": 1, "steps": 2}),
                  ev.EpochBegin(epoch=0),
                  ev.BatchEnd(phase="train", step=1, elapsed=0.1, logs={"loss": "nan"}),
                  ev.EpochEnd(epoch=0, logs={"loss": 0.5}, elapsed=0.2, steps=2),
                  ev.TrainEnd(logs={"loss": 0.5}),
                  ev.JobEnd(status=JobStatus.SUCCEEDED, result={"epoch": [0]})):
        follower.handle_event(event)
    follower.handle("a_newer_type", {"x": 1})  # what a newer server may send: skipped
    assert recorder.calls[0] == ("set_params", {"verbose": 0, "epochs": 1, "steps": 2})
    assert [call[0] for call in recorder.calls[1:]] == [
        "on_train_begin", "on_epoch_begin", "on_train_batch_end", "on_epoch_end",
        "on_train_end"]
    assert recorder.calls[3][1] == 0 and str(recorder.calls[3][2]["loss"]) == "nan"
    assert follower.end == {"status": "succeeded", "result": {"epoch": [0]}, "error": None}


def test_the_type_names_readers_filter_on_are_event_types() -> None:
    from horn.schemas import events

    names = {events.STATUS, events.BATCH_END, events.EPOCH_BEGIN, events.EPOCH_END,
             events.JOB_END}
    assert names <= set(events.EVENT_MODELS)
