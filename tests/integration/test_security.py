"""Security against the real processes: keys are required, users are isolated, and a
hostile spec that reaches the worker (written straight into the database, bypassing the
API's checks) is refused by the worker without running."""

from __future__ import annotations

import io
import json
import time
import uuid
from pathlib import Path

import httpx
import numpy as np
import pytest
from sqlalchemy import create_engine, text

import horn
from horn import keras
from horn.keras import layers
from horn.schemas.contenthash import blob_id as blob_id_of
from tests.conftest import Stack
from tests.security.payloads import SPECS

pytestmark = pytest.mark.integration


def test_keys_and_isolation_over_http(horn_stack: Stack) -> None:
    anonymous = httpx.get(f"{horn_stack.url}/v1/jobs")
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"] == "Bearer"
    other_key = horn_stack.create_key(f"other-{uuid.uuid4().hex[:6]}")
    conn = horn.connect(horn_stack.url, api_key=horn_stack.api_key)
    x = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
    model = keras.Sequential([keras.Input((3,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    job = model.fit(x, x[:, :1], epochs=1, verbose=0, wait=False)
    job.wait()
    with httpx.Client(base_url=horn_stack.url,
                      headers={"Authorization": f"Bearer {other_key}"}) as other:
        for path in (f"/v1/jobs/{job.id}", f"/v1/jobs/{job.id}/metrics",
                     f"/v1/jobs/{job.id}/events"):
            assert other.get(path).status_code == 404, path
        assert other.post(f"/v1/jobs/{job.id}/cancel").status_code == 404
        assert job.id not in other.get("/v1/jobs").text
    conn.close()


def test_polling_a_job_checks_the_key_every_time(horn_stack: Stack) -> None:
    # `GET /v1/jobs/{id}` reads the key and the job in one query on PostgreSQL.
    user = f"poller-{uuid.uuid4().hex[:6]}"
    admin = {"Authorization": f"Bearer {horn_stack.api_key}"}
    with httpx.Client(base_url=horn_stack.url, timeout=30) as http:
        created = http.post("/v1/admin/keys", json={"user": user}, headers=admin).json()
        key = {"Authorization": f"Bearer {created['key']}"}
        conn = horn.connect(horn_stack.url, api_key=created["key"])
        x = np.random.default_rng(1).normal(size=(16, 3)).astype("float32")
        model = keras.Sequential([keras.Input((3,)), layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        job = model.fit(x, x[:, :1], epochs=1, verbose=0, wait=False)
        job.wait()
        conn.close()
        mine = http.get(f"/v1/jobs/{job.id}", headers=key)
        assert mine.status_code == 200
        assert mine.json()["owner"] == user and mine.json()["status"] == "succeeded"
        # The admin's own key reads the admin's jobs, not this user's.
        assert http.get(f"/v1/jobs/{job.id}", headers=admin).status_code == 404
        assert http.get("/v1/jobs/not-an-id", headers=key).status_code == 404
        assert http.get(f"/v1/jobs/{uuid.uuid4().hex}", headers=key).status_code == 404
        tampered = created["key"][:-1] + ("A" if created["key"][-1] != "A" else "B")
        assert http.get(f"/v1/jobs/{job.id}",
                        headers={"Authorization": f"Bearer {tampered}"}).status_code == 401
        assert http.delete(f"/v1/admin/keys/{created['id']}",
                           headers=admin).status_code == 200
        refused = http.get(f"/v1/jobs/{job.id}", headers=key)
        assert refused.status_code == 401
        assert "revoked" in refused.json()["error"]["message"]
        used = http.get("/v1/admin/keys", params={"user": user}, headers=admin).json()
        assert used["data"][0]["last_used_at"] is not None


def test_worker_refuses_a_spec_that_bypassed_the_api(horn_stack: Stack,
                                                     tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    spec = SPECS["lambda_bytecode"][0](marker)
    model_id = uuid.uuid4().hex
    engine = create_engine(horn_stack.env["HORN_DATABASE_URL"])
    with engine.begin() as db:
        db.execute(text("INSERT INTO models (id, owner, name, spec, created_at) VALUES "
                        "(:id, 'tester', 'evil', CAST(:spec AS JSON), now())"),
                   {"id": model_id, "spec": json.dumps(spec)})
    engine.dispose()
    conn = horn.connect(horn_stack.url, api_key=horn_stack.api_key)
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((4, 4), "float32"), allow_pickle=False)
    data = buffer.getvalue()
    blob_id = blob_id_of(data)
    conn.request("PUT", f"/v1/blobs/{blob_id}", content=data)
    job = conn.post("/v1/jobs", {"model_id": model_id, "kind": "predict",
                                 "data": {"x": blob_id}})
    deadline = time.monotonic() + 120
    while (state := conn.get(f"/v1/jobs/{job['id']}"))["status"] in ("queued", "running"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert state["status"] == "failed"
    assert "Lambda" in state["error"]["message"]
    assert not marker.exists()
    conn.close()
