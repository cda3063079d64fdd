"""Publishing a job's progress: events and metrics into the database, lease renewal.

No Keras here, so the sink can be used (and tested) without TensorFlow.
"""

from __future__ import annotations

import math
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine

from server.store import jobs as store
from server.store.db import transaction
from server.store.tables import utcnow


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


class EventSink:
    """Writes one job's events and metrics; renews its lease while it runs."""

    def __init__(self, engine: Engine, job_id: str, worker: str, lease_seconds: int) -> None:
        self.engine = engine
        self.job_id = job_id
        self.worker = worker
        self.lease = timedelta(seconds=lease_seconds)
        self._renew_every = max(1.0, lease_seconds / 3)
        self._last_renewal = time.monotonic()

    def emit(self, type_: str, data: dict[str, Any]) -> None:
        """Append one event (and renew the lease when it is due)."""
        with transaction(self.engine) as session:
            store.add_event(session, self.job_id, type_, data)
            self._maybe_renew(session)

    def epoch_end(self, epoch: int, logs: dict[str, float | str], data: dict[str, Any],
                  step: int | None) -> None:
        """Record the metrics of a finished epoch and its event, in one transaction."""
        numeric = {k: float(v) for k, v in logs.items()}
        with transaction(self.engine) as session:
            store.add_epoch_metrics(session, self.job_id, epoch, numeric, step, utcnow())
            store.add_event(session, self.job_id, "epoch_end", data)
            self._maybe_renew(session)

    def _maybe_renew(self, session: Any) -> None:
        now = time.monotonic()
        if now - self._last_renewal >= self._renew_every:
            store.renew_lease(session, self.job_id, self.worker, self.lease)
            self._last_renewal = now
