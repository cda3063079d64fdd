"""How a job's attempt ends, and its errors as the SDK needs them (no Keras here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import DBAPIError

from horn.schemas.api import JobStatus


@dataclass
class Outcome:
    """How an attempt ended: the job's new status and what to record with it."""

    status: JobStatus
    result: dict[str, Any] | None = None
    weights_version: int | None = None
    error: dict[str, Any] | None = None


def describe_error(exc: BaseException) -> dict[str, Any]:
    """A failed job's error as the SDK needs it to raise the same kind of exception."""
    bases = [cls.__name__ for cls in type(exc).__mro__
             if cls.__module__ == "builtins" and issubclass(cls, Exception)
             and cls is not Exception]
    message = str(exc) or type(exc).__name__
    return {"type": type(exc).__name__, "bases": bases, "message": message[:20_000]}


def refused_write_error(exc: DBAPIError) -> RuntimeError:
    """What the caller of a job is told when the database refused to store its progress
    (not an outage: the same write would be refused again)."""
    reason = str(exc.orig).splitlines()[0] if exc.orig is not None else type(exc).__name__
    return RuntimeError(
        "horn could not record this job: the database refused to store its progress "
        f"({reason}). An unusually large value does this, such as a metric name of "
        "thousands of characters: shorten it and run the job again. Otherwise report it "
        "to the server's operator with the job id.")


def timeout_error(limit: int | None) -> dict[str, Any]:
    """The error of a job stopped at its time limit of `limit` seconds."""
    return {"type": "TimeoutError", "bases": ["TimeoutError", "OSError"],
            "message": f"The job ran past its time limit of {limit} s and was stopped. "
                       "Its last end-of-epoch checkpoint is kept; raise `time_limit` or "
                       "train fewer epochs per job."}
