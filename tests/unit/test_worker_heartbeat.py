"""A job's heartbeat: the flags it reads on every tick, renewal ticks included."""

from __future__ import annotations

import time
from typing import Any

from worker.heartbeat import Heartbeat


class _Sink:
    """What the heartbeat reads of an event sink: every tick renews the lease here."""

    job_id = "job"
    lost = False
    pending = False

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
