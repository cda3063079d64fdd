"""Asynchronous jobs: handles, re-attaching, listing, cancellation, priorities."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import numpy as np
import pytest

import horn
from horn import errors, keras
from horn.keras import layers


def _model() -> keras.Sequential:
    model = keras.Sequential([keras.Input((6,)), layers.Dense(8, activation="relu"),
                              layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def _data(n: int = 256) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 6)).astype("float32")
    return x, (x[:, 0] > 0).astype("int64")


def test_wait_false_returns_a_job_handle(conn: horn.Connection) -> None:
    x, y = _data()
    model = _model()
    job = model.fit(x, y, epochs=3, batch_size=32, wait=False, verbose=0)
    assert isinstance(job, horn.jobs.Job) and job.kind == "fit"
    assert job.status in ("queued", "running", "succeeded")
    history = job.wait()
    assert isinstance(history, keras.callbacks.History) and history.epoch == [0, 1, 2]
    assert model.history is history
    assert job.status == "succeeded"
    assert job.metrics() == history.history
    types = [event.type for event in job.events()]
    assert types.count("epoch_end") == 3 and types[-1] == "job_end"

    # Re-attached from "another process": same result, from the job id alone.
    again = horn.jobs.get(job.id).wait(verbose=0)
    assert again.history == history.history and again.epoch == [0, 1, 2]
    assert job.id in [j.id for j in horn.jobs.list(status="succeeded", limit=100)]

    loss = model.evaluate(x, y, verbose=0, wait=False).wait()
    assert isinstance(loss, list) and len(loss) == 2
    probs = model.predict(x, verbose=0, wait=False).wait()
    assert probs.shape == (256, 2)


def test_a_metric_with_a_long_name_is_recorded(conn: horn.Connection) -> None:
    # Keras takes a metric name of any length; the metrics table once held 200 characters.
    name = "accuracy_on_the_held_out_part_" * 10
    model = _model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name=name)])
    x, y = _data()
    job = model.fit(x, y, epochs=2, batch_size=64, wait=False, verbose=0)
    history = job.wait()
    assert len(history.history[name]) == 2
    assert job.metrics()[name] == history.history[name]


def test_reattached_job_draws_the_progress_bar(conn: horn.Connection,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    x, y = _data()
    job = _model().fit(x, y, epochs=2, batch_size=64, wait=False)
    job.wait(verbose=0)
    capsys.readouterr()
    horn.jobs.get(job.id).wait(verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "4/4" in out


def _first(job: horn.jobs.Job, event_type: str) -> None:
    for event in job.events():
        if event.type in (event_type, "job_end"):
            return


def test_cancel_running_job(conn: horn.Connection) -> None:
    x, y = _data(4096)
    model = _model()
    job = model.fit(x, y, epochs=500, batch_size=8, wait=False, verbose=0)
    _first(job, "batch_end")
    job.cancel()
    with pytest.raises(errors.JobCancelled) as info:
        job.wait()
    assert info.value.job_id == job.id
    final = job.info()
    assert final["status"] == "cancelled" and final["cancel_requested"]
    assert final["weights_version_out"] is not None  # the trained weights were kept
    assert len(job.metrics().get("loss", [])) < 500
    job.cancel()  # cancelling again is harmless


def test_cancel_queued_job_never_runs(conn: horn.Connection) -> None:
    x, y = _data()
    job = _model().fit(x, y, epochs=1, verbose=0, wait=False, queue="nobody-listens")
    assert job.status == "queued"
    job.cancel()
    with pytest.raises(errors.JobCancelled):
        job.wait(timeout=30)
    info = job.info()
    assert info["status"] == "cancelled" and info["attempt"] == 0 and info["worker"] is None


def test_cancel_finished_job_is_a_conflict(conn: horn.Connection) -> None:
    x, y = _data(64)
    job = _model().fit(x, y, epochs=1, verbose=0, wait=False)
    job.wait()
    with pytest.raises(errors.Conflict, match="already finished") as info:
        job.cancel()
    assert info.value.status_code == 409


def test_wait_timeout_leaves_the_job_running(conn: horn.Connection) -> None:
    x, y = _data()
    job = _model().fit(x, y, epochs=1, verbose=0, wait=False, queue="nobody-listens")
    with pytest.raises(TimeoutError):
        job.wait(timeout=1)
    assert job.status == "queued"
    job.cancel()


def test_high_priority_jobs_go_first(conn: horn.Connection) -> None:
    x, y = _data(2048)
    blocker = _model().fit(x, y, epochs=30, batch_size=16, verbose=0, wait=False)
    _first(blocker, "batch_end")  # the only worker is busy now
    small_x, small_y = x[:64], y[:64]
    order = ["low", "normal", "high", "low", "high"]
    jobs = [_model().fit(small_x, small_y, epochs=1, verbose=0, wait=False, priority=p)
            for p in order]
    blocker.cancel()
    for job in jobs:
        job.wait()
    started = {job.id: datetime.fromisoformat(job.info()["started_at"]) for job in jobs}
    by_start = [p for _, p in sorted(zip([started[j.id] for j in jobs], order,
                                         strict=True))]
    assert by_start == ["high", "high", "normal", "low", "low"]


def test_job_options_are_checked(conn: horn.Connection) -> None:
    x, y = _data(16)
    model = _model()
    with pytest.raises(ValueError, match="priority"):
        model.fit(x, y, priority="urgent")
    with pytest.raises(ValueError, match="Unrecognized keyword arguments"):
        model.fit(x, y, epoch=3)
    with pytest.raises(errors.InvalidArgument, match="queue"):
        model.fit(x, y, queue="../etc", verbose=0)


def test_time_limit_stops_and_fails_cleanly(conn: horn.Connection) -> None:
    x, y = _data(4096)
    job = _model().fit(x, y, epochs=500, batch_size=8, verbose=0, wait=False, time_limit=2)
    with pytest.raises(TimeoutError, match="time limit of 2 s") as info:
        job.wait(timeout=120)
    assert isinstance(info.value, errors.JobFailed)
    final = job.info()
    assert final["status"] == "failed" and final["time_limit"] == 2
    assert 0 < len(job.metrics().get("loss", [])) < 500  # stopped early, epochs kept


def test_idempotency_key_returns_the_same_job(conn: horn.Connection) -> None:
    from horn._data import encode

    x, y = _data(32)
    model = _model()
    model.fit(x, y, epochs=1, verbose=0)  # registers the model and uploads x and y
    body = {"model_id": model._remote_id, "kind": "evaluate",
            "compile_config": model._compile_config,
            "data": {"x": encode(x).blob_id, "y": encode(y).blob_id}}
    headers = {"Idempotency-Key": "same-key-twice"}
    created = conn.request("POST", "/v1/jobs", json_body=body, headers=headers)
    again = conn.request("POST", "/v1/jobs", json_body=body, headers=headers)
    assert created.status_code == 201 and again.status_code == 200
    assert created.json()["id"] == again.json()["id"]
    horn.jobs.get(created.json()["id"]).wait()


def test_waiting_clients_share_one_redis_subscription(conn: horn.Connection) -> None:
    # Twelve clients wait on twelve queued jobs at once: the server follows all of
    # them on one Redis connection, and lets go of each job's channel when it ends.
    import threading

    import redis

    from tests.conftest import REDIS_URL

    x, y = _data(64)
    jobs = [_model().fit(x, y, epochs=1, verbose=0, wait=False, queue="nobody-listens")
            for _ in range(12)]
    ended: list[BaseException] = []

    def wait(job: horn.jobs.Job) -> None:
        try:
            job.wait(timeout=120)
        except BaseException as exc:  # noqa: BLE001 - checked below
            ended.append(exc)

    waiters = [threading.Thread(target=wait, args=(job,)) for job in jobs]
    channels = [f"horn:events:{job.id}" for job in jobs]
    admin = redis.Redis.from_url(REDIS_URL)

    def subscribers() -> list[int]:
        return [int(n) for _, n in admin.pubsub_numsub(*channels)]

    def until(check: Any) -> None:
        deadline = time.monotonic() + 30
        while not check():
            assert time.monotonic() < deadline, subscribers()
            time.sleep(0.05)

    try:
        for waiter in waiters:
            waiter.start()
        until(lambda: subscribers() == [1] * 12)
        assert max(int(c["sub"]) for c in admin.client_list()) >= 12
    finally:
        for job in jobs:
            job.cancel()
        for waiter in waiters:
            waiter.join(timeout=60)
    assert len(ended) == 12 and all(isinstance(e, errors.JobCancelled) for e in ended)
    until(lambda: subscribers() == [0] * 12)
    admin.close()
