"""A worker keeps the model of its last job warm for the next job on the same model.
Whatever it reuses, every job must see exactly the weights the model has at that point
of the user's script, as one Keras process would."""

from __future__ import annotations

import numpy as np

import client as keras
from client import layers


def _linear(units: int = 3) -> keras.Sequential:
    model = keras.Sequential([keras.Input((4,)), layers.Dense(units)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


def _expected(model: keras.Sequential, x: np.ndarray) -> np.ndarray:
    kernel, bias = model.get_weights()
    return x @ kernel + bias


def test_every_job_sees_the_current_weights(conn: keras.Connection) -> None:
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


def test_seeded_runs_build_afresh(conn: keras.Connection) -> None:
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
