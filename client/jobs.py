"""Jobs: what `fit`/`evaluate`/`predict` run on the server, as handles you can keep.

`model.fit(..., wait=False)` returns a `Job` at once; `job.wait()` returns what the
blocking call would have returned. Re-attach from anywhere with `horn.jobs.get(id)`.

Example:
    >>> job = model.fit(x, y, epochs=100, wait=False)  # doctest: +SKIP
    >>> job.status                                      # doctest: +SKIP
    'running'
    >>> history = job.wait()                            # doctest: +SKIP
"""

from __future__ import annotations

import builtins
import sys
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from horn import errors
from horn._http import Connection, SSEEvent, get_connection
from horn.schemas.api import JobStatus

if TYPE_CHECKING:
    from horn.keras.models import Model

JOB_STATUSES = tuple(status.value for status in JobStatus)


class Job:
    """A handle on a job running (or finished) on the horn server.

    Attributes:
        id: the job's id.
        kind: `"fit"`, `"evaluate"` or `"predict"`.
    """

    def __init__(self, job_id: str, kind: str, *, connection: Connection | None = None,
                 model: Model | None = None, verbose: int = 1,
                 callbacks: builtins.list[Any] | None = None,
                 finish: Callable[[str, dict[str, Any]], Any] | None = None) -> None:
        self.id = job_id
        self.kind = kind
        self._connection = connection
        self._model = model
        self._verbose = verbose
        self._callbacks = callbacks or []
        self._finish = finish
        self._outcome: Any = None
        self._done = False

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.kind}>"

    @property
    def _conn(self) -> Connection:
        return self._connection or get_connection()

    def info(self) -> dict[str, Any]:
        """The job as the server describes it (status, attempt, worker, result, ...)."""
        body: dict[str, Any] = self._conn.get(f"/v1/jobs/{self.id}")
        return body

    @property
    def status(self) -> str:
        """`queued`, `running`, `succeeded`, `failed` or `cancelled` (asked each time)."""
        return str(self.info()["status"])

    def cancel(self) -> None:
        """Cancel the job: a queued job never runs; a running one stops within a batch,
        saves a checkpoint and ends `cancelled`.

        Raises:
            horn.errors.Conflict: the job already finished.
        """
        self._conn.post(f"/v1/jobs/{self.id}/cancel", {})

    def events(self, after: int | None = None) -> Iterator[SSEEvent]:
        """The job's events from the start (or after event id `after`), live until it
        ends."""
        return self._conn.events(self.id, after)

    def metrics(self) -> dict[str, builtins.list[float]]:
        """Per-epoch metrics recorded so far, as `History.history` holds them."""
        rows = self._conn.get(f"/v1/jobs/{self.id}/metrics")["data"]
        out: dict[str, builtins.list[float]] = {}
        for row in sorted(rows, key=lambda r: (r["epoch"], r["name"])):
            out.setdefault(row["name"], []).append(float(row["value"]))
        return out

    def wait(self, timeout: float | None = None, verbose: Any = None) -> Any:
        """Wait for the job and return what the blocking call returns: a `History` for
        `fit`, the loss/metrics for `evaluate`, the predictions for `predict`.

        Draws Keras's progress bar from the job's events (from its start, so a job
        re-attached from another process shows where it is), and calls the callbacks
        given to the call that started it.

        Args:
            timeout: seconds to wait; None waits for the end.
            verbose: override the call's verbosity (0, 1, 2 or "auto").

        Raises:
            TimeoutError: not finished within `timeout` (the job goes on running).
            horn.errors.JobFailed: the job failed (also an instance of the built-in
                exception the worker raised, e.g. `ValueError`).
            horn.errors.JobCancelled: the job was cancelled.
        """
        if self._done:
            return self._outcome
        from horn.keras.models import follow

        level = self._verbose if verbose is None else follow.verbosity(verbose)
        deadline = None if timeout is None else time.monotonic() + timeout
        follower = follow.Follower(self._conn, self.id, level, self._callbacks,
                                   {"verbose": verbose if verbose is not None else "auto"},
                                   model=self._model)
        end = follower.run(deadline)
        finish = self._finish or (lambda job_id, result: follow.default_result(
            self._conn, self.kind, job_id, result, follower.params))
        outcome = finish(self.id, follow.outcome(self.id, end))
        self._outcome, self._done = outcome, True
        return outcome

    def _wait_interactively(self) -> Any:
        """`wait()` for the blocking calls: Ctrl-C asks whether to cancel the job."""
        try:
            return self.wait()
        except KeyboardInterrupt:
            self._on_interrupt()
            raise

    def _on_interrupt(self) -> None:
        interactive = sys.stdin is not None and sys.stdin.isatty()
        if interactive:
            try:
                answer = input(f"\nCancel job {self.id} on the server? [y/N] ")
            except (EOFError, KeyboardInterrupt):
                answer = ""
            if answer.strip().lower() in ("y", "yes"):
                try:
                    self.cancel()
                    print(f"horn: job {self.id} is being cancelled.", file=sys.stderr)
                except errors.Conflict:
                    print(f"horn: job {self.id} had already finished.", file=sys.stderr)
                return
        print(f"\nhorn: job {self.id} goes on running on the server. Re-attach with "
              f"`horn.jobs.get({self.id!r}).wait()`.", file=sys.stderr)


def get(job_id: str) -> Job:
    """A handle on an existing job (raises `horn.errors.NotFound` if there is none)."""
    conn = get_connection()
    info = conn.get(f"/v1/jobs/{job_id}")
    return Job(str(info["id"]), str(info["kind"]), connection=conn)


def list(status: str | None = None, limit: int = 50) -> builtins.list[Job]:  # noqa: A001
    """Your jobs, newest first.

    Args:
        status: only jobs in this status (`queued`, `running`, `succeeded`, `failed`,
            `cancelled`).
        limit: at most this many (1 to 500).
    """
    if status is not None and status not in JOB_STATUSES:
        raise ValueError(f"Expected `status` to be one of {JOB_STATUSES}. "
                         f"Received: status={status!r}")
    conn = get_connection()
    params: dict[str, Any] = {"limit": limit}
    if status is not None:
        params["status"] = status
    body = conn.get("/v1/jobs", params=params)
    return [Job(str(j["id"]), str(j["kind"]), connection=conn) for j in body["data"]]


__all__ = ["Job", "get", "list"]
