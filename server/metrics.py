"""Prometheus metrics of the server, at `GET /metrics`.

- `horn_http_requests_total{method,route,status}` and
  `horn_http_request_duration_seconds{method,route}` (time to the response's headers;
  a server-sent event stream counts until its first byte), labelled by the route's
  template (`/v1/jobs/{job_id}`), never by the raw path.
- `horn_session_stream_calls_total{op}`: manual-batch calls answered over sessions'
  websockets (which the request counters do not see).
- `horn_jobs{status}`: jobs by state, read from the database at each scrape.
- `horn_queue_depth{queue}`: messages waiting in the broker (the length of the Redis
  list of each Celery queue; for the file-system broker, its message files).
- `horn_database_up` and `horn_broker_up`: whether the scrape could read them.

Each app has its own registry, so several apps in one process do not collide.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from horn.schemas.api import JobStatus
from horn.schemas.queues import expand_queues
from horn.server.store.tables import JobRow
from horn.settings import ServerSettings

log = logging.getLogger(__name__)

_REDIS_PRIORITY_SEP = "\x06\x16"  # kombu's Redis transport: `queue`, `queue\x06\x163`, ...
_REDIS_PRIORITY_STEPS = (3, 6, 9)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class _HttpMetrics:
    """The request counter and latency histogram of one app."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter("horn_http_requests", "HTTP requests answered.",
                                ["method", "route", "status"], registry=registry)
        self.latency = Histogram("horn_http_request_duration_seconds",
                                 "Seconds from a request's arrival to its response headers.",
                                 ["method", "route"], buckets=LATENCY_BUCKETS,
                                 registry=registry)
        self.stream_calls = Counter("horn_session_stream_calls",
                                    "Manual-batch calls answered over a session's websocket.",
                                    ["op"], registry=registry)


class MetricsMiddleware:
    """ASGI middleware counting requests by route template, method and status."""

    def __init__(self, app: ASGIApp, metrics: _HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        method = str(scope.get("method", ""))
        recorded = False

        def record(status: int) -> None:
            nonlocal recorded
            if recorded:
                return
            recorded = True
            route = route_template(scope)
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - start)

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                record(int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            record(500)
            raise


def route_template(scope: Scope) -> str:
    """The matched route's full template (`/v1/jobs/{job_id}`), or `<unmatched>`.

    A route of an included router may know only its own part (`/jobs/{job_id}`);
    the prefix is then the request path's leading segments before that part.
    """
    path = getattr(scope.get("route"), "path", None)
    if not path:
        return "<unmatched>"
    segments = str(scope.get("path", "")).split("/")
    depth = path.count("/")
    prefix = "/".join(segments[:-depth]) if depth < len(segments) else ""
    return f"{prefix}{path}"


class StateCollector(Collector):
    """Reads jobs by state from the database and queue depths from the broker, at
    each scrape."""

    def __init__(self, settings: ServerSettings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        """The metric families of one scrape."""
        database_up = GaugeMetricFamily("horn_database_up",
                                        "1 when the last scrape could read the database.")
        queues = {self.settings.queue}
        try:
            counts, queues = self._job_counts(queues)
        except Exception:
            log.warning("metrics: cannot read jobs from the database", exc_info=True)
            database_up.add_metric([], 0)
        else:
            database_up.add_metric([], 1)
            jobs = GaugeMetricFamily("horn_jobs", "Jobs by state (from the database).",
                                     labels=["status"])
            for status in JobStatus:
                jobs.add_metric([status.value], counts.get(status.value, 0))
            yield jobs
        yield database_up

        broker_up = GaugeMetricFamily("horn_broker_up",
                                      "1 when the last scrape could read the broker.")
        try:
            depths = queue_depths(self.settings, expand_queues(sorted(queues)))
        except Exception:
            log.warning("metrics: cannot read queue depths from the broker", exc_info=True)
            broker_up.add_metric([], 0)
        else:
            broker_up.add_metric([], 1)
            depth = GaugeMetricFamily("horn_queue_depth",
                                      "Job messages waiting in the broker, per Celery queue.",
                                      labels=["queue"])
            for queue, n in depths.items():
                depth.add_metric([queue], n)
            yield depth
        yield broker_up

    def _job_counts(self, queues: set[str]) -> tuple[dict[str, int], set[str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(JobRow.status, func.count()).group_by(JobRow.status))
            counts = {str(status): int(n) for status, n in rows}
            named = {str(q) for q in conn.scalars(select(JobRow.queue).distinct()) if q}
        return counts, queues | named


def queue_depths(settings: ServerSettings, queues: list[str]) -> dict[str, int]:
    """How many messages wait in each Celery queue of the settings' broker."""
    url = settings.resolved_broker_url()
    if url.startswith(("redis://", "rediss://")):
        import redis

        client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        try:
            return {queue: sum(int(client.llen(key)) for key in _redis_keys(queue))
                    for queue in queues}
        finally:
            client.close()
    if url.startswith("filesystem"):
        folder = Path(settings.broker_transport_options()["data_folder_in"])
        names = [path.name for path in folder.iterdir()]
        return {queue: sum(name.endswith(f".{queue}.msg") for name in names)
                for queue in queues}
    return {}


def _redis_keys(queue: str) -> list[str]:
    return [queue, *(f"{queue}{_REDIS_PRIORITY_SEP}{step}" for step in _REDIS_PRIORITY_STEPS)]


def install_metrics(app: FastAPI) -> None:
    """Count the app's requests and serve `GET /metrics` (Prometheus text format).

    Call after `app.state.settings` and `app.state.engine` are set.
    """
    registry = CollectorRegistry()
    http = _HttpMetrics(registry)
    registry.register(StateCollector(app.state.settings, app.state.engine))
    app.state.metrics_registry = registry
    app.state.http_metrics = http
    app.add_middleware(MetricsMiddleware, metrics=http)

    def metrics(request: Request) -> Response:
        """Prometheus metrics: requests, latencies, jobs by state, queue depth."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.add_api_route("/metrics", metrics, methods=["GET"], include_in_schema=False)
