"""The worker: TensorFlow only in the child, the child warm across jobs, duplicates
of a task harmless."""

from __future__ import annotations

import subprocess

import httpx
import numpy as np

import horn
from horn import keras
from horn.keras import layers
from horn.server.queue import make_sender
from horn.settings import ServerSettings as Settings
from tests.conftest import Stack
from tests.integration import stack


def test_parent_process_does_not_import_tensorflow(horn_stack: Stack) -> None:
    code = ("import sys, worker.app; "
            "print('tensorflow' in sys.modules or 'keras' in sys.modules)")
    out = subprocess.run([stack.python(), "-c", code], cwd=stack.ROOT, env=horn_stack.env,
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_child_stays_warm_and_duplicate_delivery_is_harmless(
        conn: horn.Connection, horn_stack: Stack) -> None:
    x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    model = keras.Sequential([keras.Input((3,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    first = model.fit(x, x[:, :1], epochs=1, verbose=0)
    second = model.fit(x, x[:, :1], epochs=1, verbose=0)
    http = httpx.Client(base_url=horn_stack.url,
                        headers={"Authorization": f"Bearer {horn_stack.api_key}"})
    job1 = http.get(f"/v1/jobs/{first.job_id}").json()  # type: ignore[attr-defined]
    job2 = http.get(f"/v1/jobs/{second.job_id}").json()  # type: ignore[attr-defined]
    assert job1["worker"] == job2["worker"]  # same warm child process

    # Deliver the finished job's task again: the claim finds nothing and nothing changes.
    settings = Settings(broker_url=horn_stack.env["HORN_BROKER_URL"],
                        queue=horn_stack.env["HORN_QUEUE"])
    make_sender(settings).send_task("horn.run_job", args=[job1["id"]],
                                    queue=settings.queue)
    third = model.fit(x, x[:, :1], epochs=1, verbose=0)  # runs after the duplicate
    assert http.get(f"/v1/jobs/{third.job_id}").json()["status"] == "succeeded"  # type: ignore[attr-defined]
    again = http.get(f"/v1/jobs/{job1['id']}").json()
    assert again == job1
