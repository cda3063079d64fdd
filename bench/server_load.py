"""5. Server: `GET /v1/jobs/{id}` from 50 concurrent clients for 20 s (requests/s, p99
latency, errors), and job submissions per second.

Each client has its own API key (of the job's owner), as 50 separate users' scripts;
each key is held to `HORN_RATE_LIMIT_PER_SECOND` (1,000/s on the bench stack, see
`bench.stack`). Submissions go to a queue no worker consumes (the figure is the server's:
validate, insert, send to Redis), from several users (a user may have 100 jobs
queued); the jobs are cancelled and the queue emptied afterwards.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

from bench import models
from bench.context import Context
from bench.loadgen import Request, run_load
from bench.report import Row, median, ms, percentile
from bench.stack import purge_redis

NAME = "server"
RATE_TARGET = 1000.0
P99_TARGET_S = 0.100


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "Accept": "application/json"}


def reads(ctx: Context) -> list[Row]:
    """Many clients reading one finished job."""
    from horn import keras
    sizes = ctx.sizes
    x, y = models.data("tiny", sizes.tiny_samples)
    history = models.build(keras, "tiny").fit(x, y, epochs=1, verbose=0)
    keys = ctx.stack.create_keys("bench", sizes.load_clients)
    path = f"/v1/jobs/{history.job_id}"

    def source(key: str) -> Callable[[], Request]:
        request = Request("GET", path, _auth(key))
        return lambda: request

    result = run_load(ctx.stack.url, [source(k) for k in keys], sizes.load_seconds)
    p50, p99 = percentile(result.latencies, 50), percentile(result.latencies, 99)
    what = f"GET /v1/jobs/{{id}}, {sizes.load_clients} clients, {sizes.load_seconds:g} s"
    values = {"requests": len(result.latencies), "seconds": result.seconds,
              "statuses": result.statuses, "p50_s": p50, "p99_s": p99}
    return [
        Row(NAME, f"{what}: throughput", f"{result.rate:.0f} req/s", "",
            f">= {RATE_TARGET:.0f} req/s", result.rate >= RATE_TARGET, values),
        Row(NAME, "  p99 latency", ms(p99), f"p50 {ms(p50)}", f"<= {ms(P99_TARGET_S)}",
            p99 <= P99_TARGET_S),
        Row(NAME, "  errors", str(result.errors),
            ", ".join(f"{s}: {n}" for s, n in sorted(result.statuses.items())), "0",
            result.errors == 0),
    ]


class _Submitter:
    """A user with a registered model and an uploaded array, submitting `count`
    predict jobs and keeping their ids."""

    def __init__(self, ctx: Context, user: str, count: int, queue: str) -> None:
        import horn
        from horn import _data, keras

        self.key = ctx.stack.create_keys(user, 1)[0]
        conn = horn.Connection(ctx.stack.url, api_key=self.key)
        model = models.build(keras, "tiny")
        model._connection = conn
        encoded = _data.encode(models.data("tiny", 8)[0])
        _data.upload(conn, [encoded])
        self.body = {"model_id": model._ensure_remote(), "kind": "predict", "args": {},
                     "data": {"x": encoded.blob_id}, "queue": queue}
        conn.close()
        self.left = count
        self.job_ids: list[str] = []

    def _created(self, status: int, body: bytes) -> None:
        if status in (200, 201):
            self.job_ids.append(json.loads(body)["id"])

    def submit(self) -> Request | None:
        """The next submission, or None when all were sent."""
        if self.left <= 0:
            return None
        self.left -= 1
        return Request("POST", "/v1/jobs",
                       {**_auth(self.key), "Idempotency-Key": uuid.uuid4().hex},
                       self.body, self._created)

    def cancel(self) -> Request | None:
        """A cancellation of the next job submitted, or None when none is left."""
        if not self.job_ids:
            return None
        return Request("POST", f"/v1/jobs/{self.job_ids.pop()}/cancel", _auth(self.key), {})


def submissions(ctx: Context) -> list[Row]:
    """Job submissions per second, one connection per user; then every job cancelled
    and the queue emptied."""
    sizes = ctx.sizes
    queue = f"{ctx.stack.queue}-sink"
    users = [_Submitter(ctx, f"submitter{i}", sizes.submissions // sizes.submit_users, queue)
             for i in range(sizes.submit_users)]
    result = run_load(ctx.stack.url, [user.submit for user in users], 600.0)
    run_load(ctx.stack.url, [user.cancel for user in users], 600.0)
    purge_redis(queue)
    p99 = percentile(result.latencies, 99)
    return [Row(NAME, f"job submissions (POST /v1/jobs), {sizes.submit_users} clients",
                f"{result.rate:.0f} jobs/s", f"p50 {ms(median(result.latencies))}, "
                f"p99 {ms(p99)}, errors {result.errors}",
                values={"jobs": len(result.latencies), "seconds": result.seconds,
                        "statuses": result.statuses})]


def run(ctx: Context) -> list[Row]:
    """Reads, then submissions."""
    return reads(ctx) + submissions(ctx)
