"""Manual batches: `train_on_batch`, `test_on_batch`, `predict_on_batch` through a
session on one warm worker, with Keras's return values; a loop's calls over the
session's websocket, checked as a POST's are."""

from __future__ import annotations

import io
import threading
import time
from typing import Any

import httpx
import numpy as np
import pytest

import horn
from horn import errors, keras
from horn.keras import layers
from horn.schemas import frames
from tests.conftest import Stack


def _model() -> keras.Sequential:
    model = keras.Sequential([keras.Input((6,)), layers.Dense(8, activation="relu"),
                              layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.05),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_manual_training_loop(conn: horn.Connection) -> None:
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


def test_batch_errors_are_keras_errors(conn: horn.Connection) -> None:
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


def _samples(url: str, name: str, label: str) -> float:
    """The value of one sample of the server's `/metrics` (0 when absent)."""
    text = httpx.get(f"{url}/metrics").text
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and label in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_a_loop_of_calls_goes_over_the_session_websocket(conn: horn.Connection,
                                                         horn_stack: Stack) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 6)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    model = _model()
    model.train_on_batch(x[:32], y[:32])  # opens the session
    posts = 'route="/v1/jobs/{job_id}/calls"'
    trains = _samples(horn_stack.url, "horn_session_stream_calls_total", 'op="train"')
    predicts = _samples(horn_stack.url, "horn_session_stream_calls_total", 'op="predict"')
    posted = _samples(horn_stack.url, "horn_http_requests_total", posts)
    losses = [model.train_on_batch(x, y) for _ in range(10)]
    assert model.predict_on_batch(x).shape == (64, 2)
    assert losses[-1][0] < losses[0][0]
    assert _samples(horn_stack.url, "horn_session_stream_calls_total",
                    'op="train"') == trains + 10
    assert _samples(horn_stack.url, "horn_session_stream_calls_total",
                    'op="predict"') == predicts + 1
    assert _samples(horn_stack.url, "horn_http_requests_total", posts) == posted
    # A batch too large for one websocket message goes by POST, with the same answer.
    big_x = np.repeat(x, 6000, axis=0)  # 384,000 x 6 float32: 9.2 MB
    big_y = np.repeat(y, 6000)
    logs = model.test_on_batch(big_x, big_y, return_dict=True)
    assert logs["loss"] == pytest.approx(model.test_on_batch(x, y, return_dict=True)["loss"],
                                         rel=1e-4)
    assert _samples(horn_stack.url, "horn_http_requests_total", posts) == posted + 1


def test_threads_predicting_on_one_model_each_get_their_own_answers(
        conn: horn.Connection) -> None:
    model = _model()
    rng = np.random.default_rng(2)
    batches = [rng.normal(size=(n, 6)).astype("float32") for n in (1, 2, 3, 4)]
    expected = [model.predict_on_batch(x) for x in batches]
    failures: list[str] = []

    def predict(i: int) -> None:
        for _ in range(15):
            got = model.predict_on_batch(batches[i])
            if got.shape != expected[i].shape or not np.allclose(got, expected[i], atol=1e-6):
                failures.append(f"thread {i} got an answer of shape {got.shape}")

    threads = [threading.Thread(target=predict, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures[:3]


def test_the_session_websocket_checks_what_a_post_checks(conn: horn.Connection,
                                                         horn_stack: Stack) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    model = _model()
    x = np.zeros((4, 6), "float32")
    model.predict_on_batch(x)
    job_id = model.__dict__["_horn_session"].job_id
    url = horn_stack.url.replace("http", "ws", 1) + f"/v1/jobs/{job_id}/calls/stream"
    # Someone else's key, or none: the handshake is refused.
    other = horn_stack.create_key("mallory")
    for headers in ({"Authorization": f"Bearer {other}"}, {}):
        with pytest.raises(InvalidStatus) as refused:
            connect(url, additional_headers=headers)
        assert refused.value.response.status_code == 403
    owner = {"Authorization": f"Bearer {horn_stack.api_key}"}

    def exchange(socket: Any, message: bytes | str) -> dict[str, Any]:
        socket.send(message)
        return frames.unpack(socket.recv(timeout=30))[0]

    bad_messages: list[tuple[bytes | str, str]] = [
        (b"\x00\x00", "Expected a frame"),
        ("text", "Expected binary frames"),
        (frames.pack({"op": "close"}), "Expected `op` to be one of"),
        (frames.pack({"op": "train", "args": []}), "Expected `args` to be a JSON object"),
        (frames.pack({"op": "train"}, b"not a zip"), "Expected the batch as an `.npz`")]
    with connect(url, additional_headers=owner) as socket:
        for message, expected in bad_messages:
            header = exchange(socket, message)
            assert header["status"] == "error" and header["http_status"] == 400, header
            assert expected in header["error"]["message"]
        # After refusals the same socket still answers a good call.
        buffer = io.BytesIO()
        np.savez(buffer, x=x)
        header = exchange(socket, frames.pack({"op": "predict"}, buffer.getvalue()))
        assert header["status"] == "done" and header["outputs"] == "out"


def test_a_revoked_key_stops_an_open_session_websocket(conn: horn.Connection,
                                                       horn_stack: Stack) -> None:
    key = horn_stack.create_key("carol")
    own = horn.Connection(horn_stack.url, api_key=key)
    model = _model()
    model._connection = own
    x, y = np.zeros((4, 6), "float32"), np.zeros(4, "int64")
    model.train_on_batch(x, y)
    assert model.__dict__["_horn_session"].stream is not None
    conn.request("DELETE", f"/v1/admin/keys/{key.split('_')[1]}")  # by its prefix
    time.sleep(1.2)  # the stream looks the key up again after a second
    with pytest.raises(errors.Unauthenticated, match="revoked"):
        model.train_on_batch(x, y)
    own.close()

