"""A worker keeps the model of its last job warm for the next job on the same model.
Whatever it reuses, every job must see exactly the weights the model has at that point
of the user's script, as one Keras process would."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import numpy as np

import horn
from horn import keras
from horn.keras import layers
from tests.conftest import Stack
from tests.integration.stack import ROOT, python


def _linear(units: int = 3) -> keras.Sequential:
    model = keras.Sequential([keras.Input((4,)), layers.Dense(units)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


def _expected(model: keras.Sequential, x: np.ndarray) -> np.ndarray:
    kernel, bias = model.get_weights()
    return x @ kernel + bias


def test_every_job_sees_the_current_weights(conn: horn.Connection) -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = rng.normal(size=(64, 3)).astype("float32")
    model, other = _linear(), _linear(2)
    np.testing.assert_allclose(model.predict(x, verbose=0), _expected(model, x), atol=1e-5)
    model.fit(x, y, epochs=2, verbose=0)
    np.testing.assert_allclose(model.predict(x, verbose=0), _expected(model, x), atol=1e-5)
    # Weights set from here replace what the worker holds.
    model.set_weights([np.ones((4, 3), "float32"), np.full((3,), 0.5, "float32")])
    np.testing.assert_allclose(model.predict(x, verbose=0), x @ np.ones((4, 3)) + 0.5,
                               atol=1e-5)
    # Another model's job in between, then this one again, trained from the set weights.
    other.fit(x, y[:, :2], epochs=1, verbose=0)
    before = model.get_weights()
    history = model.fit(x, y, epochs=1, verbose=0, batch_size=64, shuffle=False)
    grad_step = before[0] - model.get_weights()[0]
    expected_grad = 0.1 * (2 / (64 * 3)) * x.T @ (x @ before[0] + before[1] - y)
    np.testing.assert_allclose(grad_step, expected_grad, rtol=1e-4, atol=1e-5)
    assert history.history["loss"][0] > 0
    loss = model.evaluate(x, y, verbose=0)
    assert abs(loss - float(np.mean((_expected(model, x) - y) ** 2))) < 1e-4


def test_seeded_runs_build_afresh(conn: horn.Connection) -> None:
    rng = np.random.default_rng(6)
    x = rng.normal(size=(128, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    histories = []
    for _ in range(2):  # two runs of the same script
        keras.utils.set_random_seed(7)
        model = keras.Sequential([keras.Input((4,)), layers.Dense(8, activation="relu"),
                                  layers.Dropout(0.5), layers.Dense(2, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(x, y, epochs=1, verbose=0)  # the same model warm on the worker...
        histories.append(model.fit(x, y, epochs=2, verbose=0).history)
    assert histories[0] == histories[1]  # ...yet seeded fits repeat exactly
    keras.utils._seed[0] = None  # unseeded from here (tests share the process)



RERUN_SCRIPT = """
import json
import numpy as np
from horn import keras
from horn.keras import layers

rng = np.random.default_rng(8)
x = rng.normal(size=(64, 7)).astype("float32")
y = rng.normal(size=(64, 5)).astype("float32")
model = keras.Sequential([keras.Input((7,)), layers.Dense(5)])
model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9), loss="mse",
              metrics=["mae"])
fresh = model.get_weights()  # this run's own random initial weights
model.set_weights([np.full((7, 5), 0.1, "float32"), np.zeros((5,), "float32")])
batches = [model.train_on_batch(x[:16], y[:16], return_dict=True) for _ in range(2)]
history = model.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
print(json.dumps({"model": model._remote_id, "history": history.history, "batches": batches,
                  "fresh": fresh[0].tolist(), "trained": model.get_weights()[0].tolist()}))
"""


def _run_script(stack: Stack) -> dict[str, Any]:
    env = dict(stack.env, HORN_URL=stack.url, HORN_API_KEY=stack.api_key)
    done = subprocess.run([python(), "-c", RERUN_SCRIPT], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _model_sources(stack: Stack, model_id: str) -> list[tuple[str, str]]:
    """(job kind, where its model came from) for each job the worker ran on `model_id`,
    from its `model_ready` log lines."""
    sources = []
    for line in (stack.logs / "worker.log").read_text().splitlines():
        if line.startswith("{") and f'"model_id": "{model_id}"' in line:
            record = json.loads(line)
            if record.get("event") == "model_ready":
                sources.append((str(record["kind"]), str(record["source"])))
    assert sources, f"the worker logged nothing about the model {model_id}"
    return sources


def test_the_same_script_run_again_reuses_the_warm_model_exactly(
        conn: horn.Connection, horn_stack: Stack) -> None:
    """A second run of a script makes a new model of the same architecture: the worker
    gives its state to the warm model of the first run (no rebuild, no retrace), which
    must then train exactly as a model built afresh: the momentum and the metrics of the
    first run are not carried over, and its initial weights are its own."""
    first, second = _run_script(horn_stack), _run_script(horn_stack)
    # Its first job (`get_weights`) takes the first run's model over; only the check of
    # `set_weights` (an inspect job) builds one.
    assert _model_sources(horn_stack, second["model"]) == [
        ("session", "taken_over"), ("inspect", "built"), ("session", "taken_over"),
        ("fit", "warm")]
    assert second["batches"] == first["batches"]
    assert second["history"] == first["history"]
    np.testing.assert_array_equal(np.array(second["trained"]), np.array(first["trained"]))
    assert not np.allclose(np.array(second["fresh"]), np.array(first["fresh"]))
