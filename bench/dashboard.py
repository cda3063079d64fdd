"""How fast the dashboard is with 10,000 jobs: inserts them (with per-epoch metrics and
events) into a fresh database and times the pages and their JSON, in process.

    .venv/bin/python bench/dashboard.py                 # PostgreSQL (a fresh database)
    .venv/bin/python bench/dashboard.py --sqlite        # SQLite in a temporary directory
    .venv/bin/python bench/dashboard.py --jobs 50000 --repeat 30

The admin view (every user's jobs) is the worst case; a user's view goes through the
`(owner, created_at)` index. Figures are milliseconds per request through the whole
FastAPI app (TestClient, no network), median and 95th percentile.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ADMIN_URL = os.environ.get("HORN_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
STATUSES = ["succeeded"] * 80 + ["failed"] * 8 + ["cancelled"] * 4 + ["queued"] * 5 + \
    ["running"] * 3
EPOCHS = 5
METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")


def populate(db_url: str, n_jobs: int, users: list[str]) -> dict[str, Any]:
    """Insert users, one model per user, `n_jobs` jobs with metrics and events."""
    from sqlalchemy import insert

    from horn.server.store.db import make_engine, transaction
    from horn.server.store.tables import EventRow, JobRow, MetricRow, ModelRow
    from horn.server.store.users import create_key, ensure_user

    rng = random.Random(0)
    engine = make_engine(db_url)
    keys: dict[str, str] = {}
    models: dict[str, str] = {}
    spec = {"class_name": "Sequential", "config": {"name": "mlp", "layers": [
        {"class_name": "InputLayer", "config": {"name": "input", "batch_shape": [None, 784]}},
        {"class_name": "Dense", "config": {"name": "dense", "units": 64,
                                           "activation": "relu"}},
        {"class_name": "Dense", "config": {"name": "out", "units": 10,
                                           "activation": "softmax"}}]}}
    with transaction(engine) as session:
        for i, name in enumerate(users):
            ensure_user(session, name, is_admin=(i == 0))
            keys[name] = create_key(session, name)[1]
            models[name] = uuid.uuid4().hex
            session.add(ModelRow(id=models[name], owner=name, name=f"mlp-{name}", spec=spec,
                                 weights_version=None))
    start = datetime.now(UTC) - timedelta(days=30)
    jobs, metrics, events = [], [], []
    for i in range(n_jobs):
        owner = users[1 + i % (len(users) - 1)]
        status = rng.choice(STATUSES)
        created = start + timedelta(seconds=i * 30 * 24 * 3600 / n_jobs)
        started = created + timedelta(seconds=5) if status != "queued" else None
        done = status not in ("queued", "running")
        finished = created + timedelta(seconds=60) if done else None
        job_id = uuid.uuid4().hex
        jobs.append(dict(
            id=job_id, owner=owner, model_id=models[owner], kind="fit", status=status,
            queue="horn", priority="normal", cancel_requested=False, time_limit=None,
            sent_at=created, idempotency_key=None, compile_config={"optimizer": "adam"},
            compile_id=None, args={"epochs": EPOCHS, "batch_size": 32},
            data={"x": "0" * 64, "y": "1" * 64}, result=None, error=None,
            attempt=0 if status == "queued" else 1, max_attempts=3,
            worker=None if status == "queued" else f"host{i % 4}:{1000 + i % 4}",
            lease_expires_at=created + timedelta(hours=1) if status == "running" else None,
            weights_version_in=None, weights_version_out=None, created_at=created,
            started_at=started, finished_at=finished))
        ran = 0 if status == "queued" else (EPOCHS if status == "succeeded"
                                            else rng.randint(1, EPOCHS - 1))
        events.append(dict(job_id=job_id, type="status", data={"status": "queued"},
                           created_at=created))
        if status != "queued":
            events.append(dict(job_id=job_id, type="status",
                               data={"status": "running", "worker": f"host{i % 4}"},
                               created_at=started))
        for epoch in range(ran):
            events.append(dict(job_id=job_id, type="epoch_begin", data={"epoch": epoch},
                               created_at=started))
            for batch in range(4):  # progress events, as a worker writes a few a second
                events.append(dict(job_id=job_id, type="batch_end",
                                   data={"batch": batch, "logs": {"loss": 1.0}},
                                   created_at=started))
            logs = {name: rng.random() for name in METRICS}
            events.append(dict(job_id=job_id, type="epoch_end",
                               data={"epoch": epoch, "logs": logs}, created_at=started))
            metrics += [dict(job_id=job_id, epoch=epoch, step=10, name=name, value=value,
                             time=started) for name, value in logs.items()]
        if done:
            events.append(dict(job_id=job_id, type="job_end", data={"status": status},
                               created_at=finished))
    with transaction(engine) as session:
        for table, rows in ((JobRow, jobs), (MetricRow, metrics), (EventRow, events)):
            for chunk in range(0, len(rows), 5000):
                session.execute(insert(table), rows[chunk:chunk + 5000])
    engine.dispose()
    return {"keys": keys, "job_id": jobs[-1]["id"], "jobs": len(jobs),
            "metrics": len(metrics), "events": len(events),
            "pages": (n_jobs + 24) // 25}


def timed(client: Any, path: str, headers: dict[str, str], repeat: int) -> tuple[float, float]:
    """Median and p95 milliseconds of GET `path` (after one warm-up)."""
    response = client.get(path, headers=headers)
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        response = client.get(path, headers=headers)
        samples.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200
    samples.sort()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]


def main() -> None:
    """Populate, then print a table of timings."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    from horn.server.main import create_app
    from horn.server.store.migrate import upgrade
    from horn.settings import ServerSettings as Settings

    tmp = Path(tempfile.mkdtemp(prefix="horn-bench-"))
    db_name = None
    if args.sqlite:
        db_url = f"sqlite:///{tmp / 'bench.db'}"
    else:
        from tests.integration.stack import create_database

        db_url, db_name = create_database(ADMIN_URL)
    try:
        upgrade(db_url)
        users = ["admin", "ada", "grace", "linus", "guido"]
        t0 = time.perf_counter()
        data = populate(db_url, args.jobs, users)
        print(f"database: {'SQLite' if args.sqlite else 'PostgreSQL'}; inserted "
              f"{data['jobs']} jobs, {data['metrics']} metric rows, {data['events']} events "
              f"in {time.perf_counter() - t0:.1f} s")
        settings = Settings(data_dir=tmp, database_url=db_url, auth="keys",
                            secret_key="bench-" + uuid.uuid4().hex, reaper_interval=3600,
                            rate_limit_per_second=0)
        admin = {"Authorization": f"Bearer {data['keys']['admin']}"}
        user = {"Authorization": f"Bearer {data['keys']['ada']}"}
        last = data["pages"]
        cases = [
            ("admin", "GET /dashboard (page 1 of all jobs)", "/dashboard", admin),
            ("admin", f"GET /dashboard?page={last} (last page)", f"/dashboard?page={last}",
             admin),
            ("admin", "GET /dashboard?status=failed", "/dashboard?status=failed", admin),
            ("admin", "GET /dashboard?owner=grace", "/dashboard?owner=grace", admin),
            ("user", "GET /dashboard (own jobs)", "/dashboard", user),
            ("admin", "GET /v1/dashboard/jobs", "/v1/dashboard/jobs", admin),
            ("admin", "GET /v1/dashboard/jobs?per_page=200", "/v1/dashboard/jobs?per_page=200",
             admin),
            ("user", "GET /v1/dashboard/jobs?status=running",
             "/v1/dashboard/jobs?status=running", user),
            ("admin", "GET /v1/dashboard/summary", "/v1/dashboard/summary", admin),
            ("user", "GET /v1/dashboard/summary", "/v1/dashboard/summary", user),
            ("admin", "GET /dashboard/workers", "/dashboard/workers", admin),
            ("admin", "GET /dashboard/jobs/{id}", f"/dashboard/jobs/{data['job_id']}", admin),
            ("admin", "GET /v1/dashboard/jobs/{id}", f"/v1/dashboard/jobs/{data['job_id']}",
             admin),
        ]
        with TestClient(create_app(settings)) as client:
            print(f"{'who':<6} {'request':<44} {'median ms':>10} {'p95 ms':>8}")
            for who, label, path, headers in cases:
                median, p95 = timed(client, path, headers, args.repeat)
                print(f"{who:<6} {label:<44} {median:>10.1f} {p95:>8.1f}")
    finally:
        if db_name:
            from tests.integration.stack import drop_database

            drop_database(ADMIN_URL, db_name)


if __name__ == "__main__":
    main()
