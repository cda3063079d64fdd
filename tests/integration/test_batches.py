"""Manual batches: `train_on_batch`, `test_on_batch`, `predict_on_batch` through a
session on one warm worker, with Keras's return values."""

from __future__ import annotations

import numpy as np
import pytest

import client as keras
from client import errors, layers


def _model() -> keras.Sequential:
    model = keras.Sequential([keras.Input((6,)), layers.Dense(8, activation="relu"),
                              layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.05),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_manual_training_loop(conn: keras.Connection) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 6)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    model = _model()
    first = model.train_on_batch(x[:32], y[:32])
    assert isinstance(first, list) and len(first) == 2  # [loss, accuracy], as in Keras
    for _ in range(3):
        for start in range(0, 512, 32):
            logs = model.train_on_batch(x[start:start + 32], y[start:start + 32],
                                        return_dict=True)
    assert set(logs) == {"loss", "accuracy"}
    loss, accuracy = model.test_on_batch(x, y)
    assert accuracy > 0.85 and loss < first[0]
    probs = model.predict_on_batch(x[:10])
    assert isinstance(probs, np.ndarray) and probs.shape == (10, 2)
    # The session wrote the weights back: a normal job sees the trained model.
    probs_job = model.predict(x[:10], verbose=0)
    np.testing.assert_allclose(probs, probs_job, rtol=1e-5, atol=1e-6)
    _, acc_job = model.evaluate(x, y, verbose=0)
    assert acc_job == pytest.approx(accuracy, abs=1e-6)
    # And manual batches after a fit continue from the fitted weights.
    model.fit(x, y, epochs=1, verbose=0)
    assert model.test_on_batch(x, y)[1] > 0.85


def test_batch_errors_are_keras_errors(conn: keras.Connection) -> None:
    model = _model()
    with pytest.raises(ValueError) as info:
        model.train_on_batch(np.zeros((4, 3), "float32"), np.zeros(4, "int64"))
    assert isinstance(info.value, errors.JobFailed)
    with pytest.raises(ValueError, match="cardinality"):
        model.train_on_batch(np.zeros((4, 6), "float32"), np.zeros(3, "int64"))
    uncompiled = keras.Sequential([keras.Input((6,)), layers.Dense(1)])
    with pytest.raises(ValueError, match=r"You must call `compile\(\)` before using the model\."):
        uncompiled.train_on_batch(np.zeros((4, 6)), np.zeros(4))
    assert uncompiled.predict_on_batch(np.zeros((4, 6), "float32")).shape == (4, 1)
