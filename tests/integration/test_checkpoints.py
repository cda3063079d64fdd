"""`keras.callbacks.ModelCheckpoint` on horn: the worker decides when to save, as Keras
does, and the files appear at the user's local path, ready for plain Keras."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import horn
from horn import keras
from horn.keras import layers

real = pytest.importorskip("keras")


def _data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    x = rng.normal(size=(512, 6)).astype("float32")
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("int64")
    return x[:384], y[:384], x[384:], y[384:]


def _model() -> keras.Sequential:
    model = keras.Sequential([keras.Input((6,)), layers.Dense(16, activation="relu"),
                              layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.05),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _improving_epochs(values: list[float]) -> list[int]:
    """The epochs (1-based) at which a `min`-mode monitor improved."""
    best, epochs = float("inf"), []
    for epoch, value in enumerate(values, start=1):
        if value < best:
            best = value
            epochs.append(epoch)
    return epochs


def test_save_best_only_writes_the_improving_epochs(conn: horn.Connection,
                                                    tmp_path: Path) -> None:
    x, y, xv, yv = _data()
    model = _model()
    pattern = str(tmp_path / "ckpt" / "model-{epoch:02d}-{val_loss:.4f}.keras")
    checkpoint = keras.callbacks.ModelCheckpoint(pattern, monitor="val_loss",
                                                 save_best_only=True)
    history = model.fit(x, y, validation_data=(xv, yv), epochs=6, batch_size=32, verbose=0,
                        callbacks=[checkpoint])
    val_loss = history.history["val_loss"]
    expected = sorted(pattern.format(epoch=e, val_loss=val_loss[e - 1])
                      for e in _improving_epochs(val_loss))
    written = sorted(str(p) for p in (tmp_path / "ckpt").iterdir())
    assert written == expected
    assert checkpoint.best == pytest.approx(min(val_loss))
    # The newest file is the best model: plain Keras opens it and it scores the best loss.
    best = real.models.load_model(expected[-1] if len(expected) == 1 else
                                  max(expected, key=lambda p: Path(p).stat().st_mtime_ns))
    loss = best.evaluate(xv, yv, verbose=0)[0]
    assert loss == pytest.approx(min(val_loss), rel=1e-4)


def test_weights_every_epoch_and_keras_messages(conn: horn.Connection, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    x, y, xv, yv = _data()
    model = _model()
    every = keras.callbacks.ModelCheckpoint(str(tmp_path / "w-{epoch}.weights.h5"),
                                            save_weights_only=True, verbose=1)
    best = keras.callbacks.ModelCheckpoint(str(tmp_path / "best.keras"), monitor="accuracy",
                                           mode="max", save_best_only=True, verbose=1)
    seen: list[bool] = []
    probe = keras.callbacks.LambdaCallback(  # files exist when on_epoch_end runs, as in Keras
        on_epoch_end=lambda epoch, logs: seen.append(
            (tmp_path / f"w-{epoch + 1}.weights.h5").exists()))
    history = model.fit(x, y, validation_data=(xv, yv), epochs=3, batch_size=64, verbose=0,
                        callbacks=[every, best, probe])
    assert seen == [True, True, True]
    assert sorted(p.name for p in tmp_path.glob("*.weights.h5")) == \
        ["w-1.weights.h5", "w-2.weights.h5", "w-3.weights.h5"]
    # The last epoch's weights file holds the trained model's weights.
    local = real.Sequential([real.Input((6,)), real.layers.Dense(16, activation="relu"),
                             real.layers.Dense(2, activation="softmax")])
    local.load_weights(tmp_path / "w-3.weights.h5")
    for got, want in zip(local.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    out = capsys.readouterr().out
    acc = history.history["accuracy"]
    assert f"\nEpoch 1: saving model to {tmp_path / 'w-1.weights.h5'}\n" in out
    assert f"\nEpoch 1: accuracy improved from None to {acc[0]:.5f}, saving model to " \
        f"{tmp_path / 'best.keras'}\n" in out
    assert f"\nEpoch 1: finished saving model to {tmp_path / 'best.keras'}\n" in out
    if acc[1] <= acc[0]:
        assert f"\nEpoch 2: accuracy did not improve from {acc[0]:.5f}\n" in out
    assert (tmp_path / "best.keras").exists()


def test_checkpoint_arguments_are_checked_like_keras(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must end in `.weights.h5`"):
        keras.callbacks.ModelCheckpoint(str(tmp_path / "x.keras"), save_weights_only=True)
    with pytest.raises(ValueError, match="must end in `.keras`"):
        keras.callbacks.ModelCheckpoint(str(tmp_path / "x.ckpt"))
    with pytest.raises(ValueError, match="Unrecognized save_freq"):
        keras.callbacks.ModelCheckpoint(str(tmp_path / "x.keras"), save_freq="batch")


def test_unknown_placeholder_fails_like_keras(conn: horn.Connection, tmp_path: Path) -> None:
    x, y, _, _ = _data()
    model = _model()
    checkpoint = keras.callbacks.ModelCheckpoint(str(tmp_path / "m-{val_acc:.2f}.keras"))
    with pytest.raises(KeyError, match="Failed to format this callback filepath"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[checkpoint])
