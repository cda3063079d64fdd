"""The REST API over HTTP: error envelopes for bad input (never a 500), the blob
protocol, events with replay, metrics and weights."""

from __future__ import annotations

import io
import json

import httpx
import numpy as np
import pytest

import horn
from horn import keras
from horn.keras import layers
from horn.schemas.contenthash import blob_id as blob_id_of
from horn.schemas.events import parse_event
from tests.conftest import Stack


@pytest.fixture()
def http(horn_stack: Stack) -> httpx.Client:
    with httpx.Client(base_url=horn_stack.url, timeout=30,
                      headers={"Authorization": f"Bearer {horn_stack.api_key}"}) as session:
        yield session


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _assert_envelope(response: httpx.Response, status: int, *needles: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    for needle in needles:
        assert needle in error["message"], error["message"]


def test_health_and_docs(http: httpx.Client) -> None:
    assert http.get("/healthz").json()["status"] == "ok"
    assert http.get("/docs").status_code == 200
    paths = http.get("/openapi.json").json()["paths"]
    for path in ("/v1/models", "/v1/blobs/missing", "/v1/blobs/{blob_id}", "/v1/jobs",
                 "/v1/jobs/{job_id}", "/v1/jobs/{job_id}/events", "/v1/jobs/{job_id}/metrics",
                 "/v1/models/{model_id}/weights"):
        assert path in paths


def test_bad_input_gets_clear_4xx(http: httpx.Client) -> None:
    _assert_envelope(http.post("/v1/models", content=b"{not json",
                               headers={"Content-Type": "application/json"}), 422)
    _assert_envelope(http.post("/v1/models", json={"name": "m"}), 422, "spec")
    _assert_envelope(http.post("/v1/models", json={"name": "m", "spec": {"class_name": "X"}}),
                     400, "Sequential")
    lambda_spec = {"module": "keras", "class_name": "Sequential", "config": {"layers": [
        {"module": "keras.layers", "class_name": "Lambda",
         "config": {"function": {"__lambda__": "code"}}, "registered_name": None}]}}
    _assert_envelope(http.post("/v1/models", json={"name": "m", "spec": lambda_spec}), 400,
                     "Lambda")
    _assert_envelope(http.get("/v1/jobs/nope"), 404, "nope")
    _assert_envelope(http.get("/v1/models/nope/weights"), 404)
    _assert_envelope(http.put("/v1/blobs/../../etc/passwd", content=b"x"), 404)
    _assert_envelope(http.put("/v1/blobs/" + "z" * 64, content=b"x"), 400, "64 lowercase hex")
    _assert_envelope(http.post("/v1/blobs/missing", json={"ids": ["abc"]}), 422, "64")
    _assert_envelope(http.get("/v1/jobs", params={"limit": 0}), 422, "limit")
    _assert_envelope(http.get("/v1/jobs", params={"status": "dancing"}), 422, "status")
    _assert_envelope(http.get("/v1/jobs", params={"offset": 2**63}), 422, "offset")


def test_blob_upload_is_checked(http: httpx.Client) -> None:
    data = _npy(np.arange(10, dtype="float32"))
    good_id = blob_id_of(data)
    _assert_envelope(http.put(f"/v1/blobs/{'0' * 64}", content=data), 400, "hash")
    _assert_envelope(http.put(f"/v1/blobs/{blob_id_of(data[:-4])}",
                              content=data[:-4]), 400, "truncated")
    pickled = io.BytesIO()
    np.save(pickled, np.array([object()], dtype=object), allow_pickle=True)
    bad = pickled.getvalue()
    _assert_envelope(http.put(f"/v1/blobs/{blob_id_of(bad)}", content=bad),
                     400, "object")
    assert http.post("/v1/blobs/missing", json={"ids": [good_id]}).json() == {
        "missing": [good_id]}
    stored = http.put(f"/v1/blobs/{good_id}", content=data)
    assert stored.status_code == 200
    assert stored.json() == {"id": good_id, "size": len(data), "dtype": "<f4", "shape": [10]}
    assert http.post("/v1/blobs/missing", json={"ids": [good_id]}).json() == {"missing": []}
    assert http.get(f"/v1/blobs/{good_id}").content == data


def test_a_blob_whose_bytes_are_gone_is_missing_again(http: httpx.Client,
                                                       horn_stack: Stack) -> None:
    from pathlib import Path

    from horn.server.store.blobs import blob_key

    data = _npy(np.arange(12, dtype="float32") + 0.25)
    blob_id = blob_id_of(data)
    other = blob_id_of(b"never sent")
    assert http.put(f"/v1/blobs/{blob_id}", content=data).status_code == 200
    assert http.post("/v1/blobs/missing", json={"ids": [other, blob_id, other]}).json() == {
        "missing": [other]}  # in the asked order, once each
    (Path(horn_stack.env["HORN_BLOB_DIR"]) / blob_key(blob_id)).unlink()  # lost on disk
    assert http.post("/v1/blobs/missing", json={"ids": [blob_id]}).json() == {
        "missing": [blob_id]}
    _assert_envelope(http.get(f"/v1/blobs/{blob_id}"), 404, blob_id)
    assert http.put(f"/v1/blobs/{blob_id}", content=data).status_code == 200  # sent again
    assert http.get(f"/v1/blobs/{blob_id}").content == data


def test_job_needs_known_model_blobs_and_compile(http: httpx.Client) -> None:
    spec = json.loads(keras.Sequential([keras.Input((2,)), layers.Dense(1)]).to_json())
    model_id = http.post("/v1/models", json={"name": "m", "spec": spec}).json()["id"]
    blob = "a" * 64
    body = {"model_id": model_id, "kind": "fit", "args": {}, "data": {"x": blob}}
    _assert_envelope(http.post("/v1/jobs", json=body), 400, "compile()")
    body["compile_config"] = {"optimizer": "sgd", "loss": "mse"}
    _assert_envelope(http.post("/v1/jobs", json=body), 400, "never uploaded")
    _assert_envelope(http.post("/v1/jobs", json={**body, "model_id": "missing"}), 404)
    _assert_envelope(http.post("/v1/jobs", json={**body, "args": {"epochs": -1}}), 400,
                     "epochs")
    _assert_envelope(http.post("/v1/jobs", json={**body, "args": {"epoch": 3}}), 400,
                     "epoch")
    _assert_envelope(http.post("/v1/jobs", json={**body, "kind": "dance"}), 422, "kind")


def _sse(http: httpx.Client, job_id: str, last: int | None = None) -> list[dict]:
    headers = {"Last-Event-ID": str(last)} if last is not None else {}
    events, current = [], {}
    with http.stream("GET", f"/v1/jobs/{job_id}/events", headers=headers) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if not line:
                if current:
                    events.append(current)
                current = {}
            elif not line.startswith(":"):
                key, _, value = line.partition(": ")
                current[key] = value
    return events


def test_events_replay_metrics_and_weights(conn: horn.Connection, http: httpx.Client) -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(128, 4)).astype("float32"), rng.integers(0, 2, 128)
    model = keras.Sequential([keras.Input((4,)), layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=3, verbose=0)
    job_id = history.job_id  # type: ignore[attr-defined]

    events = _sse(http, job_id)
    types = [e["event"] for e in events]
    assert types[0] == "status" and types[-1] == "job_end"
    assert types.count("epoch_end") == 3 and "train_begin" in types
    ids = [int(e["id"]) for e in events]
    assert ids == sorted(ids)
    replay = _sse(http, job_id, last=ids[3])
    assert replay == events[4:]

    job = http.get(f"/v1/jobs/{job_id}").json()
    assert job["status"] == "succeeded" and job["attempt"] == 1 and job["kind"] == "fit"
    assert job["result"]["history"]["loss"] == pytest.approx(history.history["loss"])
    listed = http.get("/v1/jobs", params={"status": "succeeded"}).json()
    assert listed["count"] >= 1 and job_id in [j["id"] for j in listed["data"]]

    metrics = http.get(f"/v1/jobs/{job_id}/metrics").json()["data"]
    losses = [m["value"] for m in metrics if m["name"] == "loss"]
    assert losses == pytest.approx(history.history["loss"])
    assert sorted({m["epoch"] for m in metrics}) == [0, 1, 2]

    weights = model.get_weights()
    assert [w.shape for w in weights] == [(4, 2), (2,)]
    response = http.get(f"/v1/models/{job['model_id']}/weights")
    assert response.headers["X-Horn-Weights-Version"] == str(job["weights_version_out"])
    model.fit(x, y, epochs=1, verbose=0)
    assert not np.array_equal(model.get_weights()[0], weights[0])


def test_every_event_of_a_job_fits_its_typed_model(conn: horn.Connection,
                                                    http: httpx.Client, tmp_path) -> None:
    """What the worker and the store write is what `horn.schemas.events` describes."""
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(64, 4)).astype("float32"), rng.integers(0, 2, 64)
    model = keras.Sequential([keras.Input((4,)), layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    checkpoint = keras.callbacks.ModelCheckpoint(str(tmp_path / "best.keras"))
    history = model.fit(x, y, epochs=2, validation_split=0.25, callbacks=[checkpoint],
                        verbose=0)
    model.evaluate(x, y, verbose=0)
    model.predict(x[:200], verbose=0)
    seen = set()
    for job in http.get("/v1/jobs", params={"limit": 3}).json()["data"]:
        for event in _sse(http, job["id"]):
            typed = parse_event(event["event"], json.loads(event["data"]))
            assert typed.type == event["event"]
            seen.add(typed.type)
    assert history.job_id  # type: ignore[attr-defined]
    assert {"status", "train_begin", "epoch_begin", "epoch_end", "train_end", "checkpoint",
            "test_begin", "test_end", "predict_begin", "predict_end", "job_end"} <= seen
