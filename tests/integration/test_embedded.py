"""`horn up`: the embedded stack (SQLite, file-system broker, separate server and worker
processes) trains end to end, then stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import numpy as np

import horn
from horn import keras
from horn.keras import layers
from tests.integration import stack


def test_horn_up_end_to_end(tmp_path: Path) -> None:
    port = stack.free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("HORN_DATABASE_URL", "HORN_BROKER_URL", "HORN_BLOB_DIR", "HORN_QUEUE")}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    data_dir = tmp_path / "horn-data"
    proc = stack.spawn([stack.python(), "-m", "horn.cli", "up", "--data-dir", str(data_dir),
                        "--port", str(port)], env, tmp_path / "up.log")
    url = f"http://127.0.0.1:{port}"
    try:
        stack.wait_healthy(url, proc, timeout=90)
        conn = horn.connect(url)
        rng = np.random.default_rng(0)
        x = rng.normal(size=(256, 5)).astype("float32")
        y = (x[:, 0] + x[:, 1] > 0).astype("int64")
        model = keras.Sequential([keras.Input((5,)), layers.Dense(8, activation="relu"),
                                  layers.Dense(2, activation="softmax")])
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.05),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(x, y, epochs=10, batch_size=16, verbose=0)
        assert history.history["loss"][-1] < history.history["loss"][0]
        probs = model.predict(x, verbose=0)
        assert probs.shape == (256, 2)
        _, acc = model.evaluate(x, y, verbose=0)
        assert acc > 0.9  # a linear rule; chance is about 0.5
        assert abs(acc - float(np.mean(probs.argmax(axis=1) == y))) < 1e-6
        # Manual batches: over the session's websocket, through the database here.
        for _ in range(3):
            model.train_on_batch(x, y)
        assert model.__dict__["_horn_session"].stream is not None
        np.testing.assert_allclose(model.predict_on_batch(x), model.predict(x, verbose=0),
                                   rtol=1e-5, atol=1e-6)
        assert np.abs(model.predict(x, verbose=0) - probs).max() > 1e-4  # it trained
        conn.close()
        assert (data_dir / "horn.db").is_file()
        assert any((data_dir / "blobs").rglob("*"))
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert code == 0, (tmp_path / "up.log").read_text()[-3000:]


def test_public_bind_refused_without_auth(tmp_path: Path) -> None:
    result = subprocess.run([stack.python(), "-m", "horn.cli", "up", "--data-dir",
                             str(tmp_path), "--host", "0.0.0.0"], cwd=stack.ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "refusing to listen on 0.0.0.0" in result.stderr
