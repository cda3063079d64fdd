"""Publishing a job's progress: events, metrics and checkpoints into the database.

Every write also renews the job's lease and checks that this worker still holds it,
in the same transaction: a worker whose job was taken over (its lease expired) writes
nothing more and is told to stop. When the database is unreachable, writes wait in
memory, in order, and go out with the next write that succeeds: training goes on.

No Keras here, so the sink can be used (and tested) without TensorFlow.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from horn.schemas.events import EpochEnd, Event
from horn.server.store import jobs as store
from horn.server.store.db import is_outage, transaction
from horn.server.store.tables import utcnow

log = logging.getLogger(__name__)

Write = Callable[[Session], None]
T = TypeVar("T")


class LeaseLost(RuntimeError):
    """Another worker now holds this job: stop without writing anything more."""


def clean_logs(logs: dict[str, Any] | None) -> dict[str, float | str]:
    """Keras logs as JSON-safe numbers; NaN and infinities become the strings
    `"nan"`, `"inf"`, `"-inf"` (which `float()` reads back)."""
    cleaned: dict[str, float | str] = {}
    for key, value in (logs or {}).items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        cleaned[key] = number if math.isfinite(number) else str(number)
    return cleaned


def retry_db(operation: Callable[[], T], seconds: float) -> T:
    """Run a database operation, retrying for up to `seconds` while the database is
    unreachable (it may be restarting). Any other database error is raised at once:
    retrying would only meet it again."""
    deadline = time.monotonic() + seconds
    delay = 0.5
    while True:
        try:
            return operation()
        except DBAPIError as exc:
            if not is_outage(exc) or time.monotonic() + delay > deadline:
                raise
            log.warning("database unreachable, retrying in %.1f s: %s", delay,
                        str(exc).splitlines()[0])
            time.sleep(delay)
            delay = min(delay * 2, 10.0)


class EventSink:
    """Writes one attempt's events, metrics and checkpoints; holds its lease."""

    RETRY_AFTER = 2.0
    """Seconds the training thread waits before trying an unreachable database again."""

    def __init__(self, engine: Engine, job_id: str, worker: str, lease_seconds: int,
                 notify: Callable[[str], None] | None = None) -> None:
        self.engine = engine
        self.notify = notify
        """Called with the job id after new events are committed (wakes streams)."""
        self.job_id = job_id
        self.worker = worker
        self.lease = timedelta(seconds=lease_seconds)
        self.lost = False
        self._pending: list[Write] = []
        self._checkpoint: tuple[int, int, dict[str, Any], bytes] | None = None
        self._retry_at = 0.0
        self._lock = threading.Lock()
        self._records = 0
        self.writer: Callable[[], None] | None = None
        """Wakes the thread that writes epoch records (the job's heartbeat), which then
        go out without the training thread waiting; None: written in the caller."""
        self.refused: DBAPIError | None = None
        """The database's refusal of an epoch record written by that thread, for the
        training thread to raise (the job fails, as when it wrote the record itself)."""

    @property
    def pending(self) -> int:
        """Writes waiting for the database."""
        return len(self._pending) + (self._checkpoint is not None)

    MAX_DEFERRED = 50
    """Deferred writes kept before one is forced out anyway."""

    def emit(self, event: Event, defer: bool = False) -> None:
        """Append one event. A deferred one (progress: a phase or epoch beginning, a
        batch) goes out with the next write, or within a heartbeat interval: training
        does not wait for the database for it."""
        def write(session: Session) -> None:
            store.add_event(session, self.job_id, event)

        if not defer:
            self._write(write)
            return
        with self._lock:
            self._pending.append(write)
            if len(self._pending) < self.MAX_DEFERRED:
                return
        if time.monotonic() >= self._retry_at:
            self.flush()

    def epoch_end(self, event: EpochEnd, step: int | None,
                  checkpoint: tuple[int, dict[str, Any], bytes] | None) -> None:
        """Record a finished epoch: its checkpoint, metrics (`event.logs`) and event,
        atomically.

        With a `writer` the record is handed to it and training goes on meanwhile (the
        database's work on a checkpoint grows with the model); without one it is written
        now."""
        epoch = event.epoch
        numeric = {k: float(v) for k, v in event.logs.items()}
        when = utcnow()

        def write(session: Session) -> None:
            store.add_epoch_metrics(session, self.job_id, epoch, numeric, step, when)
            store.add_event(session, self.job_id, event)

        with self._lock:  # the record and its checkpoint go out in one transaction
            self._pending.append(write)
            self._records += 1
            if checkpoint is not None:  # only the newest one matters
                attempt, history, blob = checkpoint
                self._checkpoint = (attempt, epoch, history, blob)
        writer = self.writer
        if writer is not None:
            writer()
        else:
            self.flush()

    def heartbeat(self) -> tuple[bool, bool, bool] | None:
        """Renew the lease (flushing waiting writes); returns (still ours, cancel
        requested, stop after this epoch requested), or None when the database cannot
        be reached."""
        if not self.flush():
            return None
        try:
            with transaction(self.engine) as session:
                return store.job_control(session, self.job_id, self.worker)
        except DBAPIError as exc:
            if not is_outage(exc):
                raise
            return None

    def control_flags(self) -> tuple[bool, bool]:
        """(cancel requested, stop after this epoch requested); both False when the
        database is down."""
        try:
            with transaction(self.engine) as session:
                return store.cancel_requested(session, self.job_id)
        except DBAPIError as exc:
            if not is_outage(exc):
                raise
            return False, False

    def flush(self) -> bool:
        """Try to write what is waiting; False if the database is unreachable. Writes
        the database refuses (not an outage) are dropped and its error raised."""
        with self._lock:
            if self.lost:
                raise LeaseLost(self.job_id)
            writes, checkpoint = list(self._pending), self._checkpoint
            records = self._records
            try:
                with transaction(self.engine) as session:
                    if not store.renew_lease(session, self.job_id, self.worker, self.lease):
                        self.lost = True
                    else:
                        for write in writes:
                            write(session)
                        if checkpoint is not None:
                            attempt, epoch, history, blob = checkpoint
                            store.save_checkpoint(session, self.job_id, attempt, epoch,
                                                  history, blob)
            except DBAPIError as exc:
                if not is_outage(exc):
                    # The database refused these writes and would refuse them again:
                    # drop them, so that later writes (and the job's outcome) are not
                    # held behind them, and let the caller fail.
                    del self._pending[:len(writes)]
                    self._records -= records
                    if self._checkpoint is checkpoint:
                        self._checkpoint = None
                    if records:
                        self.refused = exc
                    log.error("job %s: %d write(s) refused by the database and dropped: "
                              "%s", self.job_id, len(writes) + (checkpoint is not None),
                              str(exc).splitlines()[0])
                    raise
                self._retry_at = time.monotonic() + self.RETRY_AFTER
                log.warning("database unreachable, %d write(s) kept in memory: %s",
                            len(writes), str(exc).splitlines()[0])
                return False
            del self._pending[:len(writes)]
            self._records -= records
            if self._checkpoint is checkpoint:
                self._checkpoint = None
            if self.lost:
                self._pending.clear()
                raise LeaseLost(self.job_id)
        if writes:
            self.announce()
        return True

    def announce(self) -> None:
        """Tell event streams that this job has new events (see `horn.server.store.relay`)."""
        if self.notify is not None:
            self.notify(self.job_id)

    def flush_until(self, seconds: float) -> bool:
        """Keep trying to flush for up to `seconds` (the database may come back)."""
        deadline = time.monotonic() + seconds
        delay = 0.5
        while True:
            if self.flush():
                return True
            if time.monotonic() + delay > deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 10.0)

    def _write(self, write: Write, force: bool = False) -> None:
        with self._lock:
            self._pending.append(write)
        if force or time.monotonic() >= self._retry_at:
            self.flush()
