"""The session kind: manual-batch calls on one loaded model (`horn.worker.session`)."""

from __future__ import annotations

from horn.schemas.api import JobStatus
from horn.worker.session import serve
from horn.worker.tasks.context import JobContext
from horn.worker.tasks.outcome import Outcome, describe_error


def run(ctx: JobContext) -> Outcome:
    """Answer the session's calls until it ends; the outcome holds the last weights
    version written (the initial weights' when no training call was made).

    Raises:
        LeaseLost: another worker took the job over; nothing must be written.
    """
    initial = ctx.keep_initial_weights()  # as one Keras process would
    calls, written = serve(ctx.engine, ctx.job.job_id, ctx.job.queue, ctx.model,
                           ctx.heartbeat, ctx.args, ctx.save_weights, describe_error,
                           ctx.settings.resolved_broker_url())
    ctx.check_lease()
    return Outcome(JobStatus.SUCCEEDED, {"calls": calls},
                   written if written is not None else initial)
