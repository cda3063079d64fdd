"""Manual-batch sessions: calls queued for the worker that holds a model, and answers.

A session is a job of kind `session`: its worker keeps the model loaded and answers
`train_on_batch`/`test_on_batch`/`predict_on_batch` calls written here, in order.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from horn.schemas.api import CallStatus, JobStatus
from horn.server.store.tables import SessionCallRow

PENDING, RUNNING, DONE, FAILED = (CallStatus.PENDING.value, CallStatus.RUNNING.value,
                                  CallStatus.DONE.value, CallStatus.FAILED.value)


def add_call(session: Session, job_id: str, op: str, args: dict[str, Any],
             payload: bytes | None) -> int:
    """Queue one call; returns its id."""
    row = SessionCallRow(job_id=job_id, op=op, args=args, payload=payload, status=PENDING)
    session.add(row)
    session.flush()
    return int(row.id)


def get_call(session: Session, call_id: int) -> SessionCallRow | None:
    """A call, with its answer once it is done."""
    return session.get(SessionCallRow, call_id)


def next_call(session: Session, job_id: str) -> SessionCallRow | None:
    """Take the oldest pending call of the session (marks it running)."""
    row = session.scalars(
        select(SessionCallRow).where(SessionCallRow.job_id == job_id,
                                     SessionCallRow.status == PENDING)
        .order_by(SessionCallRow.id).limit(1)
    ).first()
    if row is None:
        return None
    taken = session.execute(
        update(SessionCallRow).where(SessionCallRow.id == row.id,
                                     SessionCallRow.status == PENDING)
        .values(status=RUNNING))
    return row if taken.rowcount == 1 else None  # type: ignore[attr-defined]


def answer(session: Session, call_id: int, status: str, result: dict[str, Any] | None,
           output: bytes | None) -> None:
    """Store a call's answer (and drop its payload, no longer needed)."""
    session.execute(update(SessionCallRow).where(SessionCallRow.id == call_id)
                    .values(status=status, result=result, output=output, payload=None))


def others_waiting(session: Session, queue: str, job_id: str) -> bool:
    """Whether another job waits in the same named queue (a session should yield)."""
    from horn.server.store.tables import JobRow

    return session.scalar(
        select(JobRow.id).where(JobRow.queue == queue, JobRow.status == JobStatus.QUEUED.value,
                                JobRow.id != job_id).limit(1)) is not None


def fail_pending(session: Session, job_id: str, message: str) -> None:
    """Answer every call still waiting on a session that ended."""
    session.execute(
        update(SessionCallRow)
        .where(SessionCallRow.job_id == job_id,
               SessionCallRow.status.in_((PENDING, RUNNING)))
        .values(status=FAILED, payload=None,
                result={"error": {"type": "RuntimeError", "bases": ["RuntimeError"],
                                  "message": message}}))
