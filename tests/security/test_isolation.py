"""Another user's resources are invisible: every route answers 404, never their data."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from horn.schemas.api import JobStatus
from horn.schemas.events import JobEnd
from horn.server.store import jobs as job_store
from horn.server.store import models as model_store
from horn.server.store.db import transaction
from horn.server.store.tables import utcnow
from tests.security.conftest import COMPILE, Server, assert_error, dense_spec, npy, upload


@pytest.fixture()
def alices(server: Server) -> dict[str, Any]:
    """A model with weights, blobs, and a finished job with metrics and events, of alice."""
    model = server.call("alice", "POST", "/v1/models",
                        json={"name": "secret", "spec": dense_spec()}).json()
    x = upload(server, "alice", np.arange(16, dtype="float32").reshape(4, 4))
    y = upload(server, "alice", np.zeros(4, "int64"))
    job = server.call("alice", "POST", "/v1/jobs", json={
        "model_id": model["id"], "kind": "fit", "compile_config": COMPILE,
        "data": {"x": x, "y": y}}).json()
    engine = server.client.app.state.engine
    with transaction(engine) as session:
        model_store.add_weights(session, model["id"], b"weights", job["id"], None)
        job_store.add_event(session, job["id"], JobEnd(status=JobStatus.SUCCEEDED))
        job_store.add_epoch_metrics(session, job["id"], 0, {"loss": 1.0}, 1, utcnow())
    return {"model": model["id"], "x": x, "y": y, "job": job["id"]}


def test_alice_sees_her_own(server: Server, alices: dict[str, Any]) -> None:
    for path in (f"/v1/models/{alices['model']}", f"/v1/models/{alices['model']}/weights",
                 f"/v1/jobs/{alices['job']}", f"/v1/jobs/{alices['job']}/metrics",
                 f"/v1/jobs/{alices['job']}/events", f"/v1/blobs/{alices['x']}"):
        assert server.call("alice", "GET", path).status_code == 200, path


@pytest.mark.parametrize("method, path", [
    ("GET", "/v1/models/{model}"),
    ("GET", "/v1/models/{model}/weights"),
    ("GET", "/v1/models/{model}/weights?version=1"),
    ("GET", "/v1/jobs/{job}"),
    ("POST", "/v1/jobs/{job}/cancel"),
    ("GET", "/v1/jobs/{job}/metrics"),
    ("GET", "/v1/jobs/{job}/events"),
    ("GET", "/v1/blobs/{x}"),
])
def test_bob_gets_404_for_every_route(server: Server, alices: dict[str, Any], method: str,
                                      path: str) -> None:
    response = server.call("bob", method, path.format(**alices))
    error = assert_error(response, 404)
    assert "secret" not in response.text and b"weights" not in response.content
    assert error["code"] == "not_found"


def test_bob_cannot_list_use_or_claim_alices_things(server: Server,
                                                    alices: dict[str, Any]) -> None:
    assert server.call("bob", "GET", "/v1/jobs").json() == {"data": [], "count": 0}
    # Her model is not his to train.
    bob_x = upload(server, "bob", np.ones((4, 4), "float32"))
    response = server.call("bob", "POST", "/v1/jobs", json={
        "model_id": alices["model"], "kind": "predict", "data": {"x": bob_x}})
    assert_error(response, 404, "No model")
    # Her blobs are not his to train on, though he knows their ids.
    bob_model = server.call("bob", "POST", "/v1/models",
                            json={"name": "b", "spec": dense_spec()}).json()["id"]
    response = server.call("bob", "POST", "/v1/jobs", json={
        "model_id": bob_model, "kind": "fit", "compile_config": COMPILE,
        "data": {"x": alices["x"], "y": alices["y"]}})
    assert_error(response, 400, "never uploaded")
    # Identical bytes are "missing" for him until he uploads them himself.
    assert server.call("bob", "POST", "/v1/blobs/missing",
                       json={"ids": [alices["x"]]}).json() == {"missing": [alices["x"]]}
    assert server.call("alice", "POST", "/v1/blobs/missing",
                       json={"ids": [alices["x"]]}).json() == {"missing": []}
    # Claiming it without the bytes fails the hash check.
    response = server.call("bob", "PUT", f"/v1/blobs/{alices['x']}",
                           content=npy(np.ones((4, 4), "float32")))
    assert_error(response, 400, "hash")
    assert_error(server.call("bob", "GET", f"/v1/blobs/{alices['x']}"), 404)
    # Uploading the same bytes gives him his own reference.
    data = npy(np.arange(16, dtype="float32").reshape(4, 4))
    assert server.call("bob", "PUT", f"/v1/blobs/{alices['x']}", content=data).status_code \
        == 200
    assert server.call("bob", "GET", f"/v1/blobs/{alices['x']}").content == data


def test_idempotency_keys_are_per_user(server: Server, alices: dict[str, Any]) -> None:
    bob_model = server.call("bob", "POST", "/v1/models",
                            json={"name": "b", "spec": dense_spec()}).json()["id"]
    bob_x = upload(server, "bob", np.ones((2, 4), "float32"))
    body = {"model_id": bob_model, "kind": "predict", "data": {"x": bob_x}}
    first = server.call("alice", "GET", f"/v1/jobs/{alices['job']}").json()
    response = server.call("bob", "POST", "/v1/jobs", json=body,
                           headers={"Idempotency-Key": "shared-key"})
    assert response.status_code == 201 and response.json()["id"] != first["id"]
