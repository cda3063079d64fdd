"""Fast paths through Redis, where Redis is the broker: manual-batch calls, and a
wake-up for event streams.

A `train_on_batch` loop is a remote procedure call per batch: it must cost a few
milliseconds, not the tens that writing and polling database rows costs. Where the
broker is Redis, the server pushes each call (its op, arguments and batch) onto the
session's list and waits on a reply list of its own; the worker holding the model pops
calls as they come (a blocking pop, no polling) and pushes each answer back. Nothing of a
call touches the database: the durable state of a session is its weights, written back
at the documented points.

Without Redis (the embedded mode's file-system broker), or for a batch too large to
pass through Redis, calls go through the `session_calls` table as before.

A frame (`horn.schemas.frames`) is a 4-byte big-endian header length, a JSON header, then
raw bytes (the batch, or the answer's file or outputs).

Events stay in the database (the stream replays from it); the worker publishes a
notice on the job's channel after each write, so a stream waiting for events wakes at
once instead of at its next poll. A lost notice costs only latency.
"""

from __future__ import annotations

import uuid
from typing import Any, cast

from horn.schemas.frames import pack as pack
from horn.schemas.frames import unpack as unpack
from horn.schemas.names import calls_key, events_channel, reply_key

RELAY_MAX_BYTES = 32 * 1024 * 1024
"""Largest batch sent through Redis; larger ones go through the database."""

REPLY_TTL = 300
"""Seconds an unread answer stays in Redis."""

SESSION_ENDED = "The session ended before answering this call; the SDK opens a new one."
"""The answer to a call its session's worker never took (the SDK then opens a new
session: it looks for "session ended" in the message)."""




def uses_redis(broker_url: str) -> bool:
    """Whether calls can go through the broker's Redis."""
    return broker_url.startswith(("redis://", "rediss://"))


def new_call(op: str, args: dict[str, Any], payload: bytes) -> tuple[str, bytes]:
    """A call's reply token and its frame."""
    token = uuid.uuid4().hex
    return token, pack({"token": token, "op": op, "args": args}, payload)


class WorkerRelay:
    """The worker's side: pop a session's calls, push answers (synchronous Redis)."""

    def __init__(self, url: str, job_id: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=10,
                                           health_check_interval=30)
        self.key = calls_key(job_id)

    def pop(self, timeout: float) -> tuple[dict[str, Any], bytes] | None:
        """The next call, waiting up to `timeout` seconds (None when there is none)."""
        got = self.client.blpop([self.key], timeout=timeout)
        if got is None:
            return None
        return unpack(cast(bytes, got[1]))

    def answer(self, token: str, header: dict[str, Any], payload: bytes = b"") -> None:
        """Push one call's answer where its caller waits."""
        key = reply_key(token)
        with self.client.pipeline(transaction=False) as pipe:
            pipe.rpush(key, pack(header, payload))
            pipe.expire(key, REPLY_TTL)
            pipe.execute()

    def drain(self) -> list[tuple[dict[str, Any], bytes]]:
        """Take every call still queued (the session is ending)."""
        calls = []
        while (frame := self.client.lpop(self.key)) is not None:
            calls.append(unpack(cast(bytes, frame)))
        return calls

    def close(self) -> None:
        """Release the connection."""
        self.client.close()


class EventNotifier:
    """The worker's side of the event wake-up: publish that a job has new events.

    Best effort: a failure is logged once in a while and otherwise ignored (the event
    stream polls the database as well).
    """

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._failed_at = 0.0

    def notify(self, job_id: str) -> None:
        """Announce new events of `job_id`."""
        import logging
        import time

        import redis

        if time.monotonic() - self._failed_at < 5.0:
            return  # Redis was unreachable just now: do not slow training down
        try:
            self.client.publish(events_channel(job_id), b"1")
        except redis.RedisError as exc:
            self._failed_at = time.monotonic()
            logging.getLogger(__name__).warning("event notice not sent: %s", exc)
