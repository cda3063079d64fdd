"""Training through the SDK on the real stack: models learn, results agree, data is
uploaded once, errors arrive as Keras's."""

from __future__ import annotations

import numpy as np
import pytest

import horn
from horn import errors, keras
from horn.keras import layers


def blobs_data(n: int = 1200, features: int = 20, classes: int = 4, seed: int = 0
               ) -> tuple[np.ndarray, np.ndarray]:
    """A learnable task: Gaussian clusters, one per class."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 3, size=(classes, features))
    y = rng.integers(0, classes, size=n)
    x = centers[y] + rng.normal(0, 1.0, size=(n, features))
    return x.astype("float32"), y.astype("int64")


def mlp(features: int, classes: int) -> keras.Sequential:
    model = keras.Sequential()
    model.add(keras.Input((features,)))
    model.add(layers.Dense(32, activation="relu"))
    model.add(layers.Dropout(0.2))
    model.add(layers.Dense(classes, activation="softmax"))
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=0.9,
                                                 nesterov=True),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_mlp_learns_and_history_matches_keras(conn: horn.Connection) -> None:
    x, y = blobs_data()
    model = mlp(20, 4)
    history = model.fit(x, y, epochs=5, batch_size=32, validation_split=0.1, verbose=0)
    assert sorted(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert history.epoch == [0, 1, 2, 3, 4]
    assert history.params == {"verbose": 0, "epochs": 5, "steps": 34}
    losses = history.history["loss"]
    assert all(len(v) == 5 for v in history.history.values())
    assert losses[-1] < losses[0] * 0.7
    assert history.history["val_accuracy"][-1] > 0.5  # chance is 0.25
    assert model.history is history


def test_evaluate_and_predict_agree(conn: horn.Connection) -> None:
    x, y = blobs_data(seed=1)
    model = mlp(20, 4)
    model.fit(x, y, epochs=3, batch_size=64, verbose=0)
    loss, acc = model.evaluate(x, y, verbose=0)
    probs = model.predict(x, verbose=0)
    assert isinstance(probs, np.ndarray) and probs.shape == (len(x), 4)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert acc == pytest.approx(float(np.mean(probs.argmax(axis=1) == y)), abs=1e-6)
    expected_loss = float(np.mean(-np.log(np.clip(probs[np.arange(len(y)), y], 1e-7, 1))))
    assert loss == pytest.approx(expected_loss, rel=1e-3)
    as_dict = model.evaluate(x, y, verbose=0, return_dict=True)
    assert as_dict == pytest.approx({"loss": loss, "accuracy": acc}, rel=1e-6)


def test_small_predictions_come_inside_the_result_and_large_ones_as_a_blob(
        conn: horn.Connection) -> None:
    x, _ = blobs_data(n=2000, seed=7)
    model = mlp(20, 4)
    job = model.predict(x[:64], verbose=0, wait=False)
    small = job.wait()
    outputs = job.info()["result"]["outputs"]  # what a REST client reads
    assert outputs.startswith("data:application/x-npy;base64,")
    requests = conn.stats.requests
    again = model.predict(x[:64], verbose=0)
    inline_requests = conn.stats.requests - requests
    large = model.predict(x, verbose=0)  # 32 kB of predictions: over the SDK's 16 KiB
    requests = conn.stats.requests
    np.testing.assert_array_equal(model.predict(x, verbose=0), large)  # x sent already
    assert conn.stats.requests - requests == inline_requests + 1  # the blob's download
    assert small.dtype == large.dtype == np.float32 and large.shape == (2000, 4)
    np.testing.assert_array_equal(again, small)
    np.testing.assert_allclose(large[:64], small, rtol=1e-5, atol=1e-7)


def test_several_outputs_come_back_inline_in_keras_structure(conn: horn.Connection) -> None:
    inputs = keras.Input((20,), name="features")
    hidden = layers.Dense(8, activation="relu")(inputs)
    model = keras.Model(inputs, {"score": layers.Dense(1, name="score")(hidden),
                                 "label": layers.Dense(3, activation="softmax",
                                                       name="label")(hidden)})
    x, _ = blobs_data(n=32, seed=8)
    job = model.predict(x, verbose=0, wait=False)
    predictions = job.wait()
    assert all(ref.startswith("data:") for ref in job.info()["result"]["outputs"].values())
    assert sorted(predictions) == ["label", "score"]
    assert predictions["score"].shape == (32, 1) and predictions["label"].shape == (32, 3)
    np.testing.assert_allclose(predictions["label"].sum(axis=1), 1.0, rtol=1e-5)


def test_second_fit_uploads_nothing_and_continues(conn: horn.Connection) -> None:
    x, y = blobs_data(seed=2)
    model = mlp(20, 4)
    first = model.fit(x, y, epochs=2, batch_size=32, verbose=0)
    sent = conn.stats.bytes_uploaded
    second = model.fit(x, y, epochs=2, batch_size=32, verbose=0)
    assert conn.stats.bytes_uploaded == sent
    # Continues from the trained weights: the second run starts where the first ended.
    assert second.history["loss"][0] < first.history["loss"][0]


def test_an_array_changed_in_place_is_sent_again(conn: horn.Connection) -> None:
    x, _ = blobs_data(n=14_000, seed=6)  # 1.1 MB: found again by fingerprint when unchanged
    model = mlp(20, 4)
    before = model.predict(x, verbose=0)
    sent = conn.stats.bytes_uploaded
    np.testing.assert_array_equal(model.predict(x, verbose=0), before)
    assert conn.stats.bytes_uploaded == sent
    x[:] = x[::-1].copy()  # the same array object, its rows reversed
    after = model.predict(x, verbose=0)
    assert conn.stats.bytes_uploaded >= sent + x.nbytes
    np.testing.assert_allclose(after, before[::-1], rtol=1e-5, atol=1e-7)


def test_conv2d_network_learns(conn: horn.Connection) -> None:
    rng = np.random.default_rng(3)
    n = 600
    y = rng.integers(0, 2, size=n)
    x = rng.normal(0, 0.3, size=(n, 12, 12, 1)).astype("float32")
    x[y == 0, 2:6, 2:6, 0] += 1.5   # class 0: a bright square top-left
    x[y == 1, 6:10, 6:10, 0] += 1.5  # class 1: bottom-right
    model = keras.Sequential([
        keras.Input((12, 12, 1)),
        layers.Conv2D(8, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(2, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=4, batch_size=32, verbose=0,
                        validation_data=(x[:100], y[:100]))
    assert history.history["loss"][-1] < history.history["loss"][0]
    _, acc = model.evaluate(x, y, verbose=0)
    assert acc > 0.9


def test_shape_error_surfaces_as_value_error(conn: horn.Connection) -> None:
    model = mlp(20, 4)
    x = np.zeros((64, 7), dtype="float32")
    y = np.zeros((64,), dtype="int64")
    with pytest.raises(ValueError) as info:
        model.fit(x, y, epochs=1, verbose=0)
    assert isinstance(info.value, errors.JobFailed)
    assert info.value.job_id
    assert "incompatible" in str(info.value)
    assert "20" in str(info.value) and "7" in str(info.value)


def test_remote_callback_early_stopping(conn: horn.Connection) -> None:
    x, y = blobs_data(n=256, seed=4)
    model = mlp(20, 4)
    stop = keras.callbacks.EarlyStopping(monitor="loss", min_delta=100.0, patience=1)
    history = model.fit(x, y, epochs=10, verbose=0, callbacks=[stop])
    assert history.epoch == [0, 1]  # no epoch improves the loss by 100: stop after two
    assert history.params["epochs"] == 10


def test_seeded_runs_are_reproducible(conn: horn.Connection) -> None:
    x, y = blobs_data(n=256, seed=5)
    histories = []
    for _ in range(2):
        keras.utils.set_random_seed(1234)
        histories.append(mlp(20, 4).fit(x, y, epochs=3, batch_size=32, verbose=0).history)
    keras.utils._seed[0] = None
    assert histories[0] == histories[1]
