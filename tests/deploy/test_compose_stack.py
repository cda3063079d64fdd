"""The compose file's services, run natively: each service's command and environment
come from docker-compose.yml, with PostgreSQL, Redis and the object store mapped to the
test's (a fresh database, a private queue, moto's S3 server with HORN_BLOB_URL=s3://).
A model is trained through the SDK, and the healthchecks' own commands must pass."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.conftest import ADMIN_URL, REDIS_URL
from tests.deploy import compose
from tests.integration import stack
from tests.s3server import S3Server, s3_server

pytestmark = pytest.mark.integration

BUCKET = "horn-deploy-test"


@dataclass
class ComposeStack:
    """The running services and what the tests look at."""

    url: str
    services: dict[str, Any]
    native: compose.NativeMap
    env: dict[str, str]
    workdir: Path
    s3: S3Server
    metrics_port: int
    api_key: str


def _parse(text: str) -> dict[str, float]:
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


@pytest.fixture(scope="module")
def compose_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeStack]:
    workdir = tmp_path_factory.mktemp("compose")
    with s3_server() as s3:
        s3.client().create_bucket(Bucket=BUCKET)  # type: ignore[attr-defined]
        dot_env = {"POSTGRES_PASSWORD": "pg-secret", "REDIS_PASSWORD": "redis-secret",
                   "HORN_SECRET_KEY": "a1d4c7e9b2f60853ae91c4d7f02b6e38c5a9d1f4e7b0c3a6",
                   "HORN_BLOB_URL": f"s3://{BUCKET}/blobs", **s3.env()}
        services: dict[str, Any] = compose.load(compose.COMPOSE_FILE, dot_env)["services"]
        db_url, db_name = stack.create_database(ADMIN_URL)
        port, metrics_port = stack.free_port(), stack.free_port()
        native = compose.NativeMap({
            "postgresql+psycopg://horn:pg-secret@postgres:5432/horn": db_url,
            "redis://:redis-secret@redis:6379/0": REDIS_URL,
            "/var/lib/horn": str(workdir / "data"),
            "8000": str(port),
            "9100": str(metrics_port),
        })
        base = dict(os.environ, PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="2")
        queue = f"horn-deploy-{uuid.uuid4().hex[:8]}"
        procs: dict[str, subprocess.Popen[bytes]] = {}
        try:
            for name in compose.start_order(services):
                service = services[name]
                if service.get("profiles") or name in ("postgres", "redis"):
                    continue  # the test's own PostgreSQL and Redis stand in for these
                env = native.env(service, base)
                env["HORN_QUEUE"] = queue
                argv = native.argv(service["command"])
                if service.get("restart") == "no":  # one-shot: must complete successfully
                    done = subprocess.run(argv, env=env, cwd=stack.ROOT, capture_output=True,
                                          text=True, timeout=300)
                    assert done.returncode == 0, done.stdout + done.stderr
                    continue
                procs[name] = stack.spawn(argv, env, workdir / f"{name}.log")
            url = f"http://127.0.0.1:{port}"
            stack.wait_healthy(url, procs["server"])
            # The operator's first step: an API key (the compose file turns auth on).
            keys = subprocess.run(
                [*native.argv(["horn", "keys", "create", "--user", "ops", "--admin",
                               "--json"])],
                env=native.env(services["server"], base), cwd=stack.ROOT,
                capture_output=True, text=True, timeout=120, check=True)
            api_key = json.loads(keys.stdout.strip().splitlines()[-1])["key"]
            yield ComposeStack(url, services, native, base, workdir, s3, metrics_port,
                               api_key)
        finally:
            for proc in procs.values():
                stack.stop(proc)
            stack.drop_database(ADMIN_URL, db_name)


def _healthy(stack_: ComposeStack, name: str) -> subprocess.CompletedProcess[str]:
    """Run the service's healthcheck as Docker would: every `interval` until it passes,
    for `start_period` plus `retries` tries."""
    service = stack_.services[name]
    check = service["healthcheck"]
    seconds = {"s": 1, "m": 60}

    def duration(value: str, default: float) -> float:
        return float(value[:-1]) * seconds[value[-1]] if value else default

    interval = duration(check.get("interval", ""), 30)
    budget = duration(check.get("start_period", ""), 0) + interval * check.get("retries", 3)
    deadline = time.monotonic() + budget
    env = stack_.native.env(service, stack_.env)
    while True:
        done = subprocess.run(stack_.native.healthcheck(service), env=env,
                              capture_output=True, text=True, timeout=60)
        if done.returncode == 0 or time.monotonic() > deadline:
            return done
        time.sleep(min(interval, 1.0))


def test_every_healthcheck_passes(compose_stack: ComposeStack) -> None:
    for name in ("postgres", "redis", "server", "worker"):
        done = _healthy(compose_stack, name)
        assert done.returncode == 0, (name, done.stdout, done.stderr)


def test_training_through_the_compose_services_with_blobs_in_s3(
        compose_stack: ComposeStack) -> None:
    import horn
    from horn import keras
    from horn.keras import layers

    rng = np.random.default_rng(0)
    centers = rng.normal(0, 3, size=(3, 8))
    y = rng.integers(0, 3, size=600)
    x = (centers[y] + rng.normal(0, 1, size=(600, 8))).astype("float32")
    connection = horn.connect(compose_stack.url, api_key=compose_stack.api_key)
    try:
        model = keras.Sequential([keras.Input((8,)), layers.Dense(16, activation="relu"),
                                  layers.Dense(3, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        history = model.fit(x, y, epochs=4, batch_size=32, verbose=0)
        assert history.history["loss"][-1] < history.history["loss"][0]
        probs = model.predict(x[:50], verbose=0)
        assert probs.shape == (50, 3)
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    finally:
        connection.close()

    # Every blob (x, y, the predictions the worker wrote) is in the bucket, none on disk.
    client: Any = compose_stack.s3.client()
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=BUCKET,
                                                     Prefix="blobs/").get("Contents", [])]
    assert len(keys) >= 3 and all(k.startswith("blobs/") for k in keys)
    on_disk = [p for p in (compose_stack.workdir / "data").rglob("*")
               if p.is_file() and len(p.name) == 64]
    assert on_disk == []

    # The server's metrics see the jobs and the requests.
    server = _parse(httpx.get(f"{compose_stack.url}/metrics", timeout=10).text)
    assert server['horn_jobs{status="succeeded"}'] >= 2
    assert any(k.startswith('horn_http_requests_total{method="POST",route="/v1/jobs"')
               for k in server)
    assert server["horn_database_up"] == 1 and server["horn_broker_up"] == 1

    # The worker's metrics (served by its parent, written by its children).
    worker = _parse(httpx.get(f"http://127.0.0.1:{compose_stack.metrics_port}/metrics",
                              timeout=10).text)
    assert worker['horn_worker_jobs_total{kind="fit",status="succeeded"}'] == 1
    assert worker['horn_worker_jobs_total{kind="predict",status="succeeded"}'] == 1
    assert any(k.startswith("horn_worker_device_info{") and "CPU" in k for k in worker)
    assert worker["horn_worker_jobs_running"] == 0

    # Structured logs: the devices on start, the job id on the job's lines.
    jobs = httpx.get(f"{compose_stack.url}/v1/jobs", timeout=10, headers={
        "Authorization": f"Bearer {compose_stack.api_key}"}).json()["data"]
    lines = [json.loads(line) for line in
             (compose_stack.workdir / "worker.log").read_text().splitlines()
             if line.startswith("{")]
    ready = [entry for entry in lines if entry.get("event") == "worker_ready"]
    assert ready and ready[0]["devices"] and ready[0]["dtype_policy"] == "float32"
    tagged = {entry["job_id"] for entry in lines if entry.get("job_id")}
    assert {job["id"] for job in jobs} <= tagged
