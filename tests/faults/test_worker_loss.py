"""kill -9 of a worker's child in the middle of training, with a second worker up:
the job finishes on the other worker, every epoch recorded once, weights stored."""

from __future__ import annotations

import pytest

import horn
from tests.faults.conftest import FaultStack
from tests.faults.helpers import (
    BATCH,
    EPOCHS,
    STEPS,
    Moment,
    assert_complete_once,
    data,
    kill_child,
    model,
    strike_at,
)

MOMENTS = {
    "first-epoch-first-batches": lambda epoch, t, d: t == "batch_end" and epoch == 0,
    "first-epoch-middle": lambda epoch, t, d: (t == "batch_end" and epoch == 0
                                               and d["step"] > STEPS // 2),
    "mid-run": lambda epoch, t, d: t == "batch_end" and epoch == 2 and d["step"] > STEPS // 3,
    "right-after-checkpoint": lambda epoch, t, d: t == "epoch_end" and d["epoch"] == 1,
    "next-epoch-start": lambda epoch, t, d: t == "epoch_begin" and d["epoch"] == 3,
    "last-epoch-end-near": lambda epoch, t, d: (t == "batch_end" and epoch == EPOCHS - 1
                                                and d["step"] > STEPS * 0.8),
}


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_killed_child_job_finishes_elsewhere(moment: str, faults: FaultStack,
                                             sdk: horn.Connection) -> None:
    x, y = data()
    m = model()
    job = m.fit(x, y, epochs=EPOCHS, batch_size=BATCH, verbose=0, wait=False)
    strike_at(job, Moment(MOMENTS[moment]), kill_child)
    history = job.wait(timeout=240)
    info = assert_complete_once(job, history)
    assert info["attempt"] == 2
    assert history.history["loss"][-1] < history.history["loss"][0]
    # The model continues from the job's final weights.
    assert m.evaluate(x, y, verbose=0)[1] > 0.8


def test_job_fails_after_its_last_attempt(faults: FaultStack, sdk: horn.Connection) -> None:
    x, y = data()
    job = model().fit(x, y, epochs=EPOCHS, batch_size=BATCH, verbose=0, wait=False,
                      max_attempts=1)
    strike_at(job, Moment(MOMENTS["mid-run"]), kill_child)
    with pytest.raises(horn.errors.JobFailed, match="maximum of 1 attempts"):
        job.wait(timeout=120)
    info = job.info()
    assert info["status"] == "failed" and info["attempt"] == 1
