"""Shared pieces of the fault tests: a job that trains long enough to be hit, a way to
strike at a chosen moment, and the checks of "nothing lost, nothing doubled"."""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

import horn
from horn import keras
from horn.keras import layers

EPOCHS = 6
SAMPLES = 6144
BATCH = 16
STEPS = SAMPLES // BATCH


def data() -> tuple[np.ndarray, np.ndarray]:
    """A learnable task."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(SAMPLES, 16)).astype("float32")
    return x, (x[:, :4].sum(axis=1) > 0).astype("int64")


def model() -> keras.Sequential:
    """A small MLP."""
    m = keras.Sequential([keras.Input((16,)), layers.Dense(32, activation="relu"),
                          layers.Dense(2, activation="softmax")])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


class Moment:
    """Follows a job's events and says when a chosen moment has come."""

    def __init__(self, when: Callable[[int, str, dict[str, Any]], bool]) -> None:
        self.when = when
        self.epoch = -1

    def reached(self, event_type: str, data: dict[str, Any]) -> bool:
        """Feed one event; True at the moment."""
        if event_type == "epoch_begin":
            self.epoch = int(data["epoch"])
        return self.when(self.epoch, event_type, data)


def strike_at(job: horn.jobs.Job, moment: Moment, strike: Callable[[dict[str, Any]], None]
              ) -> None:
    """Follow the job until `moment`, then call `strike(job_info)` once."""
    for event in job.events():
        if event.type == "job_end":
            raise AssertionError("the job ended before the fault could be injected")
        if moment.reached(event.type, event.data):
            strike(job.info())
            return


def kill_child(info: dict[str, Any]) -> None:
    """SIGKILL the worker child process running the job."""
    pid = int(str(info["worker"]).rsplit(":", 1)[1])
    os.kill(pid, signal.SIGKILL)


def assert_complete_once(job: horn.jobs.Job, history: keras.callbacks.History,
                         epochs: int = EPOCHS) -> dict[str, Any]:
    """The job succeeded with every epoch once: in its History, its stored metrics and
    its events; and its final weights exist."""
    info = job.info()
    assert info["status"] == "succeeded", info
    assert info["weights_version_out"] is not None
    assert history.epoch == list(range(epochs))
    assert all(len(values) == epochs for values in history.history.values())
    assert job.metrics() == history.history
    ends = Counter(int(e.data["epoch"]) for e in job.events() if e.type == "epoch_end")
    assert ends == Counter(range(epochs)), ends  # no epoch recorded twice
    return info
