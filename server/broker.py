"""Looking inside the broker: which jobs' tasks are waiting there right now.

The database is the ledger and the broker only delivers; when the broker loses its
contents (Redis flushed or restarted without persistence), the reaper finds queued
jobs whose task is no longer in the broker and sends them again.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from horn.settings import BrokerSettings

log = logging.getLogger(__name__)


def _job_id_of(message: Any) -> str | None:
    """The job id inside one serialized Celery message (protocol 2, JSON body)."""
    try:
        if isinstance(message, (bytes, str)):
            message = json.loads(message)
        body = message.get("body")
        if message.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args = json.loads(body)[0] if body else []
        return str(args[0]) if args else None
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return None


def _redis_job_ids(url: str, queues: Iterable[str]) -> set[str]:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    try:
        found: set[str] = set()
        for queue in queues:
            for raw in client.lrange(queue, 0, -1):
                job_id = _job_id_of(raw)
                if job_id:
                    found.add(job_id)
        # Messages delivered but not acknowledged (Redis's "unacked" hash) do not
        # count: a worker takes one message at a time and acknowledges it when the
        # job ends, so a *queued* job's message there belongs to a lost worker and
        # would come back only after the visibility timeout (hours).
        return found
    finally:
        client.close()


def _filesystem_job_ids(folder: Path) -> set[str]:
    found: set[str] = set()
    for path in folder.glob("*.msg"):
        try:
            job_id = _job_id_of(path.read_bytes())
        except OSError:  # consumed while we looked
            continue
        if job_id:
            found.add(job_id)
    return found


def job_ids_in_broker(settings: BrokerSettings, queues: Iterable[str]) -> set[str] | None:
    """Job ids whose task waits in (or was delivered from) the broker; None when the
    broker cannot be inspected (then the reaper resends only after a longer delay)."""
    url = settings.resolved_broker_url()
    try:
        if url.startswith(("redis://", "rediss://")):
            return _redis_job_ids(url, queues)
        if url.startswith("filesystem"):
            options = settings.broker_transport_options()
            return _filesystem_job_ids(Path(options["data_folder_in"]))
    except Exception:  # an unreachable broker: nothing can be known now
        log.warning("could not inspect the broker", exc_info=True)
        return None
    return None
