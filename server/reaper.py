"""The reaper: the periodic pass that makes the database, not the broker, the ledger.

Each pass:
1. re-queues running jobs whose worker stopped renewing its lease (killed, machine
   lost), up to the job's `max_attempts`, after which the job fails with the reason;
   the next attempt resumes from the job's last checkpoint;
2. sends again the queued jobs whose task is not in the broker (never sent because
   the broker was down, or lost when Redis was flushed or restarted).

Every change is a conditional UPDATE, so several servers may run reapers at once.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from celery import Celery
from sqlalchemy import Engine

from horn.schemas.api import JobStatus
from horn.schemas.queues import queue_for
from horn.server.broker import job_ids_in_broker
from horn.server.queue import send_job
from horn.server.store import jobs as store
from horn.server.store.db import transaction
from horn.server.store.tables import JobRow, utcnow
from horn.settings import ServerSettings

log = logging.getLogger(__name__)


class Reaper:
    """Runs `run_once` every `settings.reaper_interval` seconds in a daemon thread."""

    def __init__(self, settings: ServerSettings, engine: Engine, sender: Celery) -> None:
        self.settings = settings
        self.engine = engine
        self.sender = sender
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the periodic passes."""
        self._thread = threading.Thread(target=self._loop, name="horn-reaper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop after the pass in progress."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.reaper_interval):
            try:
                self.run_once()
            except Exception:  # the database or broker is down: try again next pass
                log.warning("reaper pass failed", exc_info=True)

    def run_once(self) -> dict[str, int]:
        """One pass; returns how many jobs were re-queued, failed and re-sent."""
        counts = {"requeued": 0, "failed": 0, "resent": 0}
        now = utcnow()
        requeued = []
        with transaction(self.engine) as session:
            for job in store.expired_leases(session, now):
                outcome = store.requeue_expired(session, job, now)
                if outcome == JobStatus.QUEUED:
                    counts["requeued"] += 1
                    requeued.append(job)
                elif outcome is not None:
                    counts["failed"] += 1
        # The lost worker's message is stuck unacknowledged in the broker: send anew.
        for job in requeued:
            counts["resent"] += self._send(job)
        grace = timedelta(seconds=self.settings.resend_grace)
        with transaction(self.engine) as session:
            stale = list(store.stale_queued(session, now - grace))
        if not stale:
            return self._log(counts)
        queues = {queue_for(job.queue, job.priority) for job in stale}
        in_broker = job_ids_in_broker(self.settings, queues)
        if in_broker is None:  # cannot look: resend only long-waiting ones
            blind = now - timedelta(seconds=self.settings.resend_blind_after)
            stale = [j for j in stale if j.sent_at is None or j.sent_at < blind]
            in_broker = set()
        for job in stale:
            if job.id in in_broker:  # still there: look again in a while
                with transaction(self.engine) as session:
                    store.mark_sent(session, job.id)
                continue
            sent = self._send(job)
            if not sent:
                break
            counts["resent"] += sent
        return self._log(counts)

    @staticmethod
    def _log(counts: dict[str, int]) -> dict[str, int]:
        if any(counts.values()):
            log.info("reaper: %s", counts)
        return counts

    def _send(self, job: JobRow) -> int:
        """Send a job's task and record it; 0 when the broker is unavailable (the job
        stays queued and a later pass tries again)."""
        try:
            send_job(self.sender, job)
        except Exception:
            log.warning("broker unavailable; job %s stays queued", job.id)
            return 0
        with transaction(self.engine) as session:
            store.mark_sent(session, job.id)
        return 1
