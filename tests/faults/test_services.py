"""Outages of the parts around the workers: the server restarts, Redis is flushed or
restarted, PostgreSQL stops; a task is delivered twice; many clients at once."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import horn
from horn import keras
from horn.keras import layers
from horn.schemas.queues import queue_for
from horn.server.queue import make_sender
from horn.settings import ServerSettings as Settings
from tests.faults.conftest import FaultStack
from tests.faults.helpers import (
    BATCH,
    EPOCHS,
    Moment,
    assert_complete_once,
    data,
    model,
    strike_at,
)


def test_server_restart_during_blocking_fit(faults: FaultStack, sdk: horn.Connection) -> None:
    x, y = data()
    m = model()
    results: dict[str, object] = {}

    def train() -> None:
        try:
            results["history"] = m.fit(x, y, epochs=EPOCHS, batch_size=BATCH, verbose=0)
        except Exception as exc:  # reported below
            results["error"] = exc

    thread = threading.Thread(target=train)
    thread.start()
    while not horn.jobs.list(status="running"):
        time.sleep(0.1)
    job = horn.jobs.list(status="running")[0]
    strike_at(job, Moment(lambda e, t, d: t == "epoch_end" and d["epoch"] == 1),
              lambda _: faults.kill_server())
    time.sleep(1.0)
    faults.start_server()
    thread.join(timeout=240)
    assert "error" not in results, results.get("error")
    history = results["history"]
    assert isinstance(history, keras.callbacks.History)
    assert_complete_once(job, history)


def test_a_train_on_batch_loop_goes_on_across_a_server_restart(
        faults: FaultStack, sdk: horn.Connection) -> None:
    x, y = data()
    m = model()
    first = [m.train_on_batch(x[:256], y[:256])[0] for _ in range(5)]
    session = m.__dict__["_horn_session"]
    assert session.stream is not None  # the calls go over the session's websocket
    faults.kill_server()  # the websocket dies with it; the session's worker goes on
    faults.start_server()
    later = [m.train_on_batch(x[:256], y[:256])[0] for _ in range(5)]
    # The same session (the worker kept the model), over a new websocket, still learning.
    assert m.__dict__["_horn_session"] is session and session.stream is not None
    assert later[-1] < first[0]
    m.fit(x[:256], y[:256], epochs=1, verbose=0)  # the session closes, its weights kept


def test_redis_flushed_then_restarted_all_jobs_complete(faults: FaultStack,
                                                        sdk: horn.Connection) -> None:
    x, y = data()
    small_x, small_y = x[:512], y[:512]
    jobs = [model().fit(x, y, epochs=3, batch_size=BATCH, verbose=0, wait=False)
            for _ in range(2)]
    jobs += [model().fit(small_x, small_y, epochs=2, verbose=0, wait=False)
             for _ in range(4)]
    strike_at(jobs[0], Moment(lambda e, t, d: t == "batch_end"), lambda _: None)
    faults.redis.flushall()  # two running, four waiting in Redis: all messages gone
    time.sleep(2)
    faults.redis.stop()      # and Redis itself goes away for a while
    time.sleep(2)
    faults.redis.start()
    for job in jobs:
        job.wait(timeout=240)
        assert job.status == "succeeded"
        assert Counter(e.data["status"] for e in job.events() if e.type == "status"
                       )["running"] >= 1


def test_postgres_stopped_and_started_during_a_run(faults: FaultStack,
                                                   sdk: horn.Connection) -> None:
    x, y = data()
    m = model()
    job = m.fit(x, y, epochs=EPOCHS, batch_size=BATCH, verbose=0, wait=False)
    strike_at(job, Moment(lambda e, t, d: t == "epoch_end" and d["epoch"] == 1),
              lambda _: faults.pg.stop())
    with faults.http() as http:
        answers = Counter()
        for _ in range(10):
            response = http.get(f"/v1/jobs/{job.id}")
            answers[response.status_code] += 1
            if response.status_code == 503:
                assert "database" in response.json()["error"]["message"].lower()
            time.sleep(0.3)
        assert answers[503] >= 1 and answers[500] == 0, answers
        faults.pg.start()
        deadline = time.monotonic() + 60
        while http.get("/healthz").status_code != 200:
            assert time.monotonic() < deadline, "the server did not recover"
            time.sleep(0.5)
    history = job.wait(timeout=240)
    assert_complete_once(job, history)


def test_same_task_delivered_twice_trains_once(faults: FaultStack,
                                               sdk: horn.Connection) -> None:
    x, y = data()
    job = model().fit(x[:1024], y[:1024], epochs=2, verbose=0, wait=False,
                      queue="nobody-listens-yet")
    settings = Settings(broker_url=faults.redis.url)
    sender = make_sender(settings)
    info = job.info()
    target = queue_for("faults", "normal")
    for _ in range(2):  # two deliveries of the same job to the real workers
        sender.send_task("horn.run_job", args=[info["id"]], queue=target)
    history = job.wait(timeout=120)
    info = job.info()
    assert info["status"] == "succeeded" and info["attempt"] == 1
    running = [e for e in job.events() if e.type == "status"
               and e.data["status"] == "running"]
    assert len(running) == 1
    assert history.epoch == [0, 1]


def test_fifty_jobs_from_ten_threads(faults: FaultStack, sdk: horn.Connection) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")

    def one(_: int) -> str:
        m = keras.Sequential([keras.Input((4,)), layers.Dense(2, activation="softmax")])
        m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        history = m.fit(x, y, epochs=1, verbose=0)
        return str(history.job_id)  # type: ignore[attr-defined]

    with ThreadPoolExecutor(max_workers=10) as pool:
        job_ids = list(pool.map(one, range(50)))
    assert len(set(job_ids)) == 50
    for job_id in job_ids:
        job = horn.jobs.get(job_id)
        info = job.info()
        assert info["status"] == "succeeded" and info["attempt"] == 1
        running = [e for e in job.events() if e.type == "status"
                   and e.data["status"] == "running"]
        assert len(running) == 1  # none ran twice
