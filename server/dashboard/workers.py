"""Which workers are online, without a registry: derived from the job ledger (running
jobs' `worker` and lease, recently finished jobs) and, when the broker is Redis, from
Celery's remote control (`inspect().stats()` and `active_queues()`, which work over
Redis broadcast without gossip or mingle).

Celery is asked at most every `CELERY_TTL` seconds, in a background thread, so a page
never waits for the broadcast's timeout more than once.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from celery import Celery

from horn.server.dashboard.schemas import WorkerView
from horn.server.dashboard.views import aware
from horn.settings import ServerSettings

log = logging.getLogger(__name__)

CELERY_TTL = 10.0
"""Seconds a Celery answer is reused."""
INSPECT_TIMEOUT = 0.8
"""Seconds to wait for workers to answer a broadcast."""
FIRST_WAIT = 2.0
"""Seconds the first request waits for Celery (an unreachable broker can take longer;
later requests never wait)."""
RECENT_WINDOW = timedelta(minutes=10)
"""A worker that finished a job this recently is listed (as idle) even if Celery is
not reachable."""

_GPU_NODE = re.compile(r"^horn-gpu([^@]+)@")


@dataclass
class CeleryNode:
    """One Celery worker as it answered the broadcast."""

    name: str
    host: str
    queues: list[str]
    pool_pids: list[int]
    seen_at: datetime


@dataclass
class CeleryCensus:
    """Ask Celery's workers who they are, at most every `ttl` seconds, off the request
    path (the first call waits up to `FIRST_WAIT` seconds for the answer)."""

    sender: Celery
    enabled: bool
    ttl: float = CELERY_TTL
    nodes: list[CeleryNode] | None = None
    _at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _refreshing: threading.Event = field(default_factory=threading.Event)

    def get(self) -> list[CeleryNode] | None:
        """The newest answer (None: Celery cannot be inspected or did not answer)."""
        if not self.enabled:
            return None
        if time.monotonic() - self._at > self.ttl and not self._refreshing.is_set():
            self._refreshing.set()
            thread = threading.Thread(target=self._refresh, name="horn-celery-census",
                                      daemon=True)
            thread.start()
            if self._at == 0.0:  # the first answer is worth a short wait
                thread.join(FIRST_WAIT)
        return self.nodes

    def _refresh(self) -> None:
        with self._lock:
            try:
                self.nodes = ask_celery(self.sender)
            except Exception:
                log.info("dashboard: Celery's workers could not be inspected", exc_info=True)
                self.nodes = None
            finally:
                self._at = time.monotonic()
                self._refreshing.clear()


def _replies(sender: Celery, command: str, timeout: float) -> list[tuple[str, Any]]:
    """Every reply to a broadcast, as (node name, answer), duplicates kept."""
    replies = sender.control.broadcast(command, reply=True, timeout=timeout) or []
    return [(str(name), answer) for reply in replies if isinstance(reply, dict)
            for name, answer in reply.items()]


def ask_celery(sender: Celery, timeout: float = INSPECT_TIMEOUT) -> list[CeleryNode]:
    """The Celery workers answering a broadcast on the sender's broker.

    Two workers with the same node name (Celery warns about it; it happens when several
    `horn@host` workers of different deployments share one Redis) cannot be told apart:
    they are left out here and known only through their jobs.
    """
    stats = _replies(sender, "stats", timeout)
    queues = _replies(sender, "active_queues", timeout)
    names = [name for name, _ in stats] + [name for name, _ in queues]
    clashing = {name for name in names if names.count(name) > 2
                or [n for n, _ in stats].count(name) > 1
                or [n for n, _ in queues].count(name) > 1}
    if clashing:
        log.info("dashboard: several Celery workers are called %s; they are listed by "
                 "their jobs only", ", ".join(sorted(clashing)))
    by_stats = {name: answer for name, answer in stats if name not in clashing}
    by_queues = {name: answer for name, answer in queues if name not in clashing}
    now = datetime.now(UTC)
    nodes = []
    for name in sorted(set(by_stats) | set(by_queues)):
        info = by_stats.get(name) or {}
        pool = info.get("pool") if isinstance(info, dict) else None
        processes = pool.get("processes") if isinstance(pool, dict) else None
        pids = [int(p) for p in processes or [] if isinstance(p, int)]
        nodes.append(CeleryNode(
            name=name, host=name.split("@", 1)[-1], pool_pids=pids, seen_at=now,
            queues=sorted(str(q.get("name")) for q in by_queues.get(name) or []
                          if isinstance(q, dict) and q.get("name"))))
    return nodes


def device_of(node_name: str | None) -> str:
    """The device a worker trains on, from `horn worker`'s node names (`horn-gpu0@host`
    for GPU 0, `horn@host` for the CPU or every GPU with `HORN_DISTRIBUTE=mirrored`)."""
    if not node_name:
        return "unknown"
    match = _GPU_NODE.match(node_name)
    if match:
        return f"GPU {match.group(1)}"
    return "CPU (or all GPUs, mirrored)" if node_name.startswith("horn@") else "unknown"


def census(settings: ServerSettings, running: list[Any], recent: dict[str, datetime],
           nodes: list[CeleryNode] | None, our_queues: set[str], viewer: str | None
           ) -> list[WorkerView]:
    """Merge the ledger's view and Celery's into one list of workers.

    Args:
        running: rows (id, owner, worker, queue, lease_expires_at) of running jobs.
        recent: workers (`host:pid`) that finished a job recently, and when.
        nodes: Celery's answer, or None.
        our_queues: the Celery queues of this deployment; other nodes on a shared
            broker are left out.
        viewer: the user whose jobs may be named (None: everyone's, for admins).
    """
    lease = timedelta(seconds=settings.lease_seconds)
    by_process: dict[str, dict[str, Any]] = {}
    for job_id, owner, worker, _queue, lease_expires in running:
        if not worker:
            continue
        entry = by_process.setdefault(worker, {"jobs": [], "hidden": 0, "beat": None,
                                               "queues": set()})
        if viewer is None or owner == viewer:
            entry["jobs"].append(job_id)
        else:
            entry["hidden"] += 1
        entry["queues"].add(_queue)
        expires = aware(lease_expires)
        if expires is not None:
            beat = expires - lease
            entry["beat"] = max(entry["beat"] or beat, beat)
    views: list[WorkerView] = []
    claimed: set[str] = set()
    for node in nodes or []:
        processes = [f"{node.host}:{pid}" for pid in node.pool_pids]
        if our_queues and not set(node.queues) & our_queues \
                and not any(p in by_process for p in processes):
            continue
        jobs, hidden, beats = [], 0, [node.seen_at]
        for process in processes:
            found = by_process.get(process)
            if found is None:
                continue
            claimed.add(process)
            jobs += found["jobs"]
            hidden += found["hidden"]
        views.append(WorkerView(
            name=node.name, processes=processes, queues=node.queues,
            device=device_of(node.name), state="busy" if jobs or hidden else "idle",
            current_jobs=jobs, busy_with_hidden_jobs=hidden, last_heartbeat=max(beats),
            source="jobs+celery" if jobs or hidden else "celery"))
    for process, entry in sorted(by_process.items()):
        if process in claimed:
            continue
        views.append(WorkerView(
            name=process, processes=[process], queues=sorted(entry["queues"]),
            device="unknown", state="busy", current_jobs=entry["jobs"],
            busy_with_hidden_jobs=entry["hidden"], last_heartbeat=entry["beat"],
            source="jobs"))
        claimed.add(process)
    if nodes is None:  # no Celery: idle workers are known only by their recent jobs
        for process, when in sorted(recent.items()):
            if process not in claimed:
                views.append(WorkerView(name=process, processes=[process], device="unknown",
                                        state="idle", last_heartbeat=aware(when),
                                        source="jobs"))
    return views


def census_enabled(settings: ServerSettings) -> bool:
    """Celery's remote control needs a broadcast-capable broker (Redis here)."""
    return settings.resolved_broker_url().startswith(("redis://", "rediss://"))
