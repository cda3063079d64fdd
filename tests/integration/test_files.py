"""Files: `model.save` writes a `.keras` that plain Keras opens; `load_model` reads plain
Keras's files; `save_weights`/`load_weights` round-trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import horn
from horn import keras
from horn.keras import layers

real = pytest.importorskip("keras")


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(256, 5)).astype("float32")
    return x, (x[:, 0] - x[:, 1] > 0).astype("int64")


def _model() -> keras.Sequential:
    model = keras.Sequential([keras.Input((5,)), layers.Dense(8, activation="relu"),
                              layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def test_saved_file_opens_in_plain_keras(conn: horn.Connection, tmp_path: Path) -> None:
    x, y = _data()
    model = _model()
    model.fit(x, y, epochs=3, verbose=0)
    path = tmp_path / "trained.keras"
    model.save(path)
    loaded = real.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
    assert loaded.optimizer.__class__.__name__ == "Adam"
    with pytest.raises(ValueError, match="`.keras` extension"):
        model.save(tmp_path / "legacy.h5")


def test_load_model_reads_plain_keras_files(conn: horn.Connection, tmp_path: Path) -> None:
    x, y = _data()
    local = real.Sequential([real.Input((5,)), real.layers.Dense(4, activation="tanh"),
                             real.layers.Dense(2, activation="softmax")])
    local.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    local.fit(x, y, epochs=2, verbose=0)
    path = tmp_path / "plain.keras"
    local.save(path)
    model = keras.models.load_model(path)
    np.testing.assert_allclose(model.predict(x, verbose=0), local.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
    assert model.compiled
    history = model.fit(x, y, epochs=1, verbose=0)  # it trains on from there
    assert set(history.history) == {"accuracy", "loss"}


def test_weights_files_round_trip(conn: horn.Connection, tmp_path: Path) -> None:
    x, y = _data()
    trained = _model()
    trained.fit(x, y, epochs=2, verbose=0)
    path = tmp_path / "w.weights.h5"
    trained.save_weights(path)
    other = _model()
    other.load_weights(path)
    for a, b in zip(other.get_weights(), trained.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="must end in `.weights.h5`"):
        trained.save_weights(tmp_path / "w.h5")


def test_get_weights_before_any_training(conn: horn.Connection) -> None:
    """As in Keras: a built model has its initial weights (and predicts with them); a
    model whose input shape is unknown has none."""
    model = keras.Sequential([keras.Input((5,)), layers.Dense(3)])
    kernel, bias = model.get_weights()
    assert kernel.shape == (5, 3) and bias.shape == (3,)
    assert np.abs(kernel).sum() > 0 and not bias.any()
    x, _ = _data()
    np.testing.assert_allclose(model.predict(x, verbose=0), x @ kernel + bias, rtol=1e-5,
                               atol=1e-5)
    assert keras.Sequential([layers.Dense(3)]).get_weights() == []
