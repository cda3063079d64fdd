"""kill -9 of the only worker; a new worker started a few seconds later takes the job
over from its last checkpoint."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

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
    model,
    strike_at,
)


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    """A fault stack with one worker."""
    fault_stack = FaultStack(Path(tmp_path_factory.mktemp("single")))
    try:
        fault_stack.start(workers=1)
        yield fault_stack
    finally:
        fault_stack.stop()


@pytest.mark.parametrize("epoch", [0, 3])
def test_only_worker_killed_new_worker_resumes(epoch: int, single: FaultStack) -> None:
    conn = horn.connect(single.url)
    x, y = data()
    job = model().fit(x, y, epochs=EPOCHS, batch_size=BATCH, verbose=0, wait=False)

    def kill_everything(_: dict[str, object]) -> None:
        single.kill_worker(single.workers[0])

    strike_at(job, Moment(lambda e, t, d: t == "batch_end" and e == epoch
                          and d["step"] > STEPS // 2), kill_everything)
    time.sleep(3)
    assert job.status == "running" or job.status == "queued"
    single.start_worker()
    history = job.wait(timeout=240)
    info = assert_complete_once(job, history)
    assert info["attempt"] == 2
    conn.close()
