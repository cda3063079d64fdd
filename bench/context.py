"""What every benchmark gets, and what it can read about a finished job."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.local_keras import LocalKeras
from bench.sizes import Sizes
from bench.stack import BenchStack


@dataclass
class Context:
    """The running stack, the SDK's default connection to it (the admin key), the
    local Keras process, the sizes, a scratch directory."""

    stack: BenchStack
    conn: Any
    local: LocalKeras
    sizes: Sizes
    workdir: Path
    notes: list[str] = field(default_factory=list)
    """Remarks printed under the table (e.g. a worker child that was replaced)."""


@dataclass
class JobTiming:
    """When a finished job was created, claimed by the worker and finished (Unix
    seconds, from the job row), how long each of its epochs took on the worker
    (`elapsed` of its `epoch_end` events: epoch begin to epoch end, in Keras), and how
    long Keras's whole `fit` call took there (`fit_seconds` of the result: the epochs
    plus what Keras does around them, e.g. building its dataset and tracing)."""

    created: float
    started: float
    finished: float
    epochs: list[float]
    fit: float | None = None

    @property
    def training(self) -> float:
        """Seconds the worker spent in Keras's `fit` (what a local `fit` also costs);
        the sum of the epochs where the job does not report it."""
        return self.fit if self.fit is not None else sum(self.epochs)


def _when(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def job_timing(conn: Any, job_id: str) -> JobTiming:
    """Read a finished job's timestamps and replay its events for the epoch times."""
    info = conn.get(f"/v1/jobs/{job_id}")
    epochs = [float(event.data.get("elapsed", 0.0)) for event in conn.events(job_id)
              if event.type == "epoch_end"]
    fit = (info.get("result") or {}).get("fit_seconds")
    return JobTiming(created=_when(info["created_at"]), started=_when(info["started_at"]),
                     finished=_when(info["finished_at"]), epochs=epochs,
                     fit=None if fit is None else float(fit))
