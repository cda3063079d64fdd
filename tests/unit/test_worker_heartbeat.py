"""A job's heartbeat: the flags it reads on every tick, renewal ticks included, and the
epoch records it writes as soon as training hands them over."""

from __future__ import annotations

import time
from typing import Any

from horn.worker.heartbeat import Heartbeat


class _Sink:
    """What the heartbeat reads of an event sink: every tick renews the lease here."""

    job_id = "job"
    lost = False
    pending = False
    writer = None

    def __init__(self, cancel: bool, stop: bool) -> None:
        self.flags = (cancel, stop)
        self.renewals = 0

    def heartbeat(self) -> tuple[bool, bool, bool]:
        self.renewals += 1
        return True, *self.flags

    def control_flags(self) -> tuple[bool, bool]:
        raise AssertionError("every tick is a renewal here")


def _watch(sink: Any) -> Heartbeat:
    heartbeat = Heartbeat(sink, interval=0.01, renew_every=0.0, time_limit=None)
    with heartbeat:
        deadline = time.monotonic() + 5
        while sink.renewals < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    return heartbeat


def test_a_stop_request_is_seen_on_a_renewal_tick() -> None:
    heartbeat = _watch(_Sink(cancel=False, stop=True))
    assert heartbeat.stop_requested and not heartbeat.cancel_requested


def test_a_cancel_request_is_seen_on_a_renewal_tick() -> None:
    heartbeat = _watch(_Sink(cancel=True, stop=False))
    assert heartbeat.cancel_requested and not heartbeat.stop_requested


class _RecordSink:
    """A sink that is handed an epoch record; a renewal flushes too, as the real one."""

    job_id = "job"
    lost = False
    writer: Any = None

    def __init__(self) -> None:
        self.pending = 0
        self.flushed_at: float | None = None

    def flush(self) -> bool:
        self.pending = 0
        self.flushed_at = time.monotonic()
        return True

    def control_flags(self) -> tuple[bool, bool]:
        return False, False

    def heartbeat(self) -> tuple[bool, bool, bool]:
        self.flush()
        return True, False, False


def test_a_handed_over_epoch_record_is_written_at_once_not_after_an_interval() -> None:
    sink = _RecordSink()
    heartbeat = Heartbeat(sink, interval=30.0, renew_every=3600.0, time_limit=None)
    with heartbeat:
        assert sink.writer is not None
        time.sleep(0.05)  # the thread waits out its 30 s interval
        sink.pending = 1
        handed = time.monotonic()
        sink.writer()  # what `EventSink.epoch_end` calls
        deadline = handed + 5
        while sink.flushed_at is None and time.monotonic() < deadline:
            time.sleep(0.005)
    assert sink.writer is None  # after the job, records are written by the caller
    assert sink.flushed_at is not None and sink.flushed_at - handed < 1.0
