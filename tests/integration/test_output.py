"""What the user sees: Keras's progress bar and per-epoch lines, and callbacks called."""

from __future__ import annotations

import re

import numpy as np
import pytest

import horn
from horn import errors, keras
from horn.keras import layers

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _model() -> keras.Sequential:
    model = keras.Sequential([keras.Input((8,)), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def _data(n: int = 320) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 8)).astype("float32"), rng.integers(0, 3, n)


def test_verbose_1_prints_keras_progress_bar(conn: horn.Connection,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    x, y = _data()
    _model().fit(x, y, epochs=2, batch_size=32, validation_split=0.25)
    out = ANSI.sub("", capsys.readouterr().out)
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    final = [line.split("\r")[-1] for line in out.splitlines() if "8/8" in line]
    assert len(final) == 2, out
    line = final[-1]
    assert re.search(r"8/8 ━{20} \d+s \d+(ms|us|s)/step - accuracy: \d\.\d{4} - "
                     r"loss: \d\.\d{4} - val_accuracy: \d\.\d{4} - val_loss: \d\.\d{4}", line), line


def test_verbose_2_prints_one_line_per_epoch(conn: horn.Connection,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    x, y = _data()
    _model().fit(x, y, epochs=3, batch_size=64, verbose=2)
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.strip()]
    assert lines[0] == "Epoch 1/3"
    epoch_lines = [ln for ln in lines if not ln.startswith("Epoch")]
    assert len(epoch_lines) == 3
    assert all(re.fullmatch(r"5/5 - \d+s - \d+(ms|us|s)/step - accuracy: \d\.\d{4} - "
                            r"loss: \d\.\d{4}", ln) for ln in epoch_lines), epoch_lines


def test_verbose_0_prints_nothing_and_evaluate_prints_bar(
        conn: horn.Connection, capsys: pytest.CaptureFixture[str]) -> None:
    x, y = _data()
    model = _model()
    model.fit(x, y, epochs=1, verbose=0)
    assert capsys.readouterr().out == ""
    model.evaluate(x, y, batch_size=32)
    out = ANSI.sub("", capsys.readouterr().out)
    assert re.search(r"10/10 ━{20} \d+s \d+(ms|us|s)/step - accuracy: \d\.\d{4} - "
                     r"loss: \d\.\d{4}", out), out


def test_local_callbacks_see_every_epoch(conn: horn.Connection) -> None:
    seen: list[tuple[int, dict[str, float]]] = []
    began: list[dict[str, object]] = []

    class Recorder(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):  # type: ignore[no-untyped-def]
            began.append(dict(self.params))

        def on_epoch_end(self, epoch, logs=None):  # type: ignore[no-untyped-def]
            seen.append((epoch, dict(logs or {})))

    x, y = _data()
    history = _model().fit(x, y, epochs=3, verbose=0, callbacks=[Recorder()])
    assert [e for e, _ in seen] == [0, 1, 2]
    assert [logs["loss"] for _, logs in seen] == pytest.approx(history.history["loss"])
    assert began and began[0]["epochs"] == 3


def test_job_failure_message_names_job(conn: horn.Connection) -> None:
    model = _model()
    x = np.zeros((16, 5), dtype="float32")
    with pytest.raises(errors.JobFailed) as info:
        model.predict(x, verbose=0)
    assert isinstance(info.value, ValueError)
    assert info.value.job_id in str(info.value)


def test_local_callback_stop_training_stops_the_job(conn: horn.Connection) -> None:
    class StopEarly(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):  # type: ignore[no-untyped-def]
            if epoch == 1:
                self.model.stop_training = True

    # Epochs long enough (512 steps) for the request to reach the worker within one:
    # the event, the request and the worker's next look at the flag (every 0.2 s).
    x, y = _data(8192)
    history = _model().fit(x, y, epochs=50, batch_size=16, verbose=0,
                           callbacks=[StopEarly()])
    # The job stops after the epoch it is in when the request arrives (at most one
    # more than Keras, whose callback runs between epochs), and finishes normally.
    assert history.epoch[:2] == [0, 1] and len(history.epoch) <= 3


def test_csv_logger_writes_keras_format(conn: horn.Connection, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import csv

    x, y = _data()
    path = tmp_path / "log.csv"
    history = _model().fit(x, y, epochs=3, verbose=0, validation_split=0.25,
                           callbacks=[keras.callbacks.CSVLogger(str(path))])
    rows = list(csv.DictReader(path.open()))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert list(rows[0]) == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [float(r["loss"]) for r in rows] == pytest.approx(history.history["loss"])
