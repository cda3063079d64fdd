"""Structured logs of the worker: one JSON object per line, with the job id.

The job id is kept in a context variable: the Celery `task_prerun`/`task_postrun`
signals set it around every task (see `horn.worker.app`), and `job_log_context` sets it
explicitly. A filter copies it onto every record, so every line logged while a job
runs carries `"job_id"`, whichever module logged it.

Example:
    >>> with job_log_context("3f2a..."):
    ...     logging.getLogger("worker").info("epoch done")   # {"job_id": "3f2a...", ...}
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

_JOB_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("horn_job_id",
                                                                     default=None)

# Attributes every LogRecord has; anything else was passed with `extra=` and is kept.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message", "asctime", "job_id", "taskName"}


def current_job_id() -> str | None:
    """The id of the job whose work is being logged, if any."""
    return _JOB_ID.get()


@contextmanager
def job_log_context(job_id: str) -> Iterator[None]:
    """Tag every log line written inside the block with `job_id`."""
    token = _JOB_ID.set(job_id)
    try:
        yield
    finally:
        _JOB_ID.reset(token)


def set_job_id(job_id: str | None) -> contextvars.Token[str | None]:
    """Set the current job id (for signal handlers that cannot use a `with` block)."""
    return _JOB_ID.set(job_id)


class JobContextFilter(logging.Filter):
    """Adds `record.job_id` (None outside a job) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Tag the record; never drops one."""
        if getattr(record, "job_id", None) is None:
            record.job_id = _JOB_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, job id, process, host,
    worker hostname, `CUDA_VISIBLE_DEVICES`, any `extra=` fields and the traceback."""

    def __init__(self) -> None:
        super().__init__()
        self.host = socket.gethostname()
        self.worker = os.environ.get("HORN_WORKER_HOSTNAME")
        self.devices = os.environ.get("CUDA_VISIBLE_DEVICES")

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "job_id": getattr(record, "job_id", None) or _JOB_ID.get(),
            "process": record.processName,
            "pid": record.process,
            "host": self.host,
        }
        if self.worker:
            entry["worker"] = self.worker
        if self.devices is not None:
            entry["cuda_visible_devices"] = self.devices
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(log_format: str, level: str | int = "INFO") -> None:
    """Send the root logger's records to stderr, as JSON (`json`) or text (`text`),
    each tagged with the current job id."""
    handler = logging.StreamHandler()
    handler.addFilter(JobContextFilter())
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(
            "[%(asctime)s: %(levelname)s/%(processName)s] job=%(job_id)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
