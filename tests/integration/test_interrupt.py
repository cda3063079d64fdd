"""Ctrl-C during a blocking `fit`: without a terminal, the job is left running and its
id printed, so the work is not lost."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import horn
from tests.conftest import Stack
from tests.integration import stack

SCRIPT = """
import faulthandler, signal
faulthandler.register(signal.SIGUSR1)  # the test asks for the stacks if this hangs
import numpy as np
from horn import keras
from horn.keras import layers
x = np.random.default_rng(0).normal(size=(4096, 6)).astype("float32")
y = (x[:, 0] > 0).astype("int64")
model = keras.Sequential([keras.Input((6,)), layers.Dense(2, activation="softmax")])
model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
print("fitting", flush=True)
model.fit(x, y, epochs=300, batch_size=8, verbose=0)
"""


def test_ctrl_c_leaves_the_job_running(horn_stack: Stack) -> None:
    env = dict(horn_stack.env, HORN_URL=horn_stack.url)
    conn = horn.connect(horn_stack.url)
    before = {job.id for job in horn.jobs.list(limit=500)}
    # Ctrl-C as in a terminal, also when the test run itself ignores SIGINT (a
    # background job of a non-interactive shell does, and children inherit that).
    proc = subprocess.Popen([stack.python(), "-c", SCRIPT], cwd=stack.ROOT, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert proc.stdout is not None and proc.stdout.readline().strip() == "fitting"
    deadline = time.monotonic() + 120
    while not (mine := [j for j in horn.jobs.list(status="running") if j.id not in before]):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGUSR1)  # Python's stacks of the stuck process to stderr
        time.sleep(1)
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"the script did not exit after Ctrl-C:\n{err[-6000:]}") from None
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    assert mine[0].id in err and "goes on running" in err
    assert mine[0].status == "running"  # the work goes on
    mine[0].cancel()
    conn.close()
