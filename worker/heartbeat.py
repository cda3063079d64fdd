"""A running job's heartbeat: a thread that renews the lease and watches for a cancel
request, a lost lease and the job's time limit, so that training (which checks the
flags after every batch) stops within one batch. It also writes what training hands
it: progress events every interval, an epoch's record (metrics, event, checkpoint) as
soon as the epoch ends, while the next one trains."""

from __future__ import annotations

import logging
import threading
import time

from horn.worker.events import EventSink, LeaseLost

log = logging.getLogger(__name__)


class Heartbeat:
    """Watches one attempt of one job.

    Args:
        sink: the attempt's event sink (its writes renew the lease too).
        interval: seconds between two looks at the cancel flag.
        renew_every: seconds between two lease renewals when nothing else was written.
        time_limit: seconds this attempt may run, or None.
    """

    def __init__(self, sink: EventSink, interval: float, renew_every: float,
                 time_limit: float | None) -> None:
        self.sink = sink
        self.interval = interval
        self.renew_every = renew_every
        self.time_limit = time_limit
        self.started = time.monotonic()
        self.cancel_requested = False
        self.stop_requested = False
        """Stop after the epoch in progress (a local callback set `stop_training`)."""
        self.timed_out = False
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="horn-heartbeat", daemon=True)

    @property
    def lost(self) -> bool:
        """Whether another worker took the job over."""
        return self.sink.lost

    @property
    def should_stop(self) -> bool:
        """Whether training must stop after the current batch."""
        return self.cancel_requested or self.timed_out or self.sink.lost

    def __enter__(self) -> Heartbeat:
        self.sink.writer = self._wake.set
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.sink.writer = None  # what is left is written by the caller (`flush`)
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        last_renewal = 0.0
        while True:
            self._wake.wait(self.interval)  # an interval, or an epoch's record handed over
            self._wake.clear()
            if self._stop.is_set():
                return
            if self.time_limit is not None and \
                    time.monotonic() - self.started > self.time_limit:
                self.timed_out = True
            now = time.monotonic()
            try:
                if now - last_renewal >= self.renew_every:
                    state = self.sink.heartbeat()
                    if state is not None:
                        last_renewal = now
                        self.cancel_requested = self.cancel_requested or state[1]
                        self.stop_requested = self.stop_requested or state[2]
                else:
                    if self.sink.pending:  # an epoch's record, deferred progress events
                        self.sink.flush()
                    cancel, stop = self.sink.control_flags()
                    self.cancel_requested = self.cancel_requested or cancel
                    self.stop_requested = self.stop_requested or stop
            except LeaseLost:
                log.warning("job %s: lease lost to another worker; stopping",
                            self.sink.job_id)
                return
            except Exception:  # keep watching; the next pass may succeed
                log.warning("heartbeat of job %s failed", self.sink.job_id, exc_info=True)
