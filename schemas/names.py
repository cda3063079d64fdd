"""Names both sides of a queue or channel must agree on: the Celery task and the
Redis channels of job events and session calls."""

from __future__ import annotations

RUN_JOB_TASK = "horn.run_job"
"""The worker's one Celery task; its message carries only the job id."""


def events_channel(job_id: str) -> str:
    """The Redis channel that announces new events of a job."""
    return f"horn:events:{job_id}"


def calls_key(job_id: str) -> str:
    """The Redis list of a session's pending calls."""
    return f"horn:session:{job_id}:calls"


def reply_key(token: str) -> str:
    """The Redis list one call's answer is pushed to."""
    return f"horn:session:reply:{token}"
