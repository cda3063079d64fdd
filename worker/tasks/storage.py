"""What a job writes besides its events: new weights versions and output blobs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from horn.server.store import jobs as job_store
from horn.server.store import models as model_store
from horn.server.store.blobs import BlobStore, record_blob
from horn.server.store.db import transaction
from horn.worker import runtime
from horn.worker.events import EventSink, LeaseLost, retry_db

OUTAGE_PATIENCE = 60.0
"""Seconds a finished job waits for an unreachable database to store its weights."""


def save_weights(engine: Engine, sink: EventSink, model: Any, model_id: str,
                 compile_id: str | None) -> int:
    """Store the model's state as a new weights version of `model_id`, only while this
    worker still holds the sink's job.

    Returns:
        The new weights version.

    Raises:
        LeaseLost: the job is no longer this worker's; nothing was written.
    """
    data = runtime.pack_state(model, include_optimizer=True)
    job_id = sink.job_id

    def save() -> int:
        with transaction(engine) as session:
            if not job_store.renew_lease(session, job_id, sink.worker, sink.lease):
                sink.lost = True
                raise LeaseLost(job_id)
            return model_store.add_weights(session, model_id, data, job_id, compile_id)

    # Retried for at least OUTAGE_PATIENCE, even past a shorter lease: the write renews
    # the lease only if the job is still ours, so a job the reaper re-queued meanwhile
    # is never written to.
    return retry_db(save, seconds=max(sink.lease.total_seconds(), OUTAGE_PATIENCE))


def store_output(blobs: BlobStore, engine: Engine, owner: str, data: bytes) -> str:
    """Store `.npy` bytes the job produced as a blob its owner may download; returns
    the blob id."""
    blob_id, header = blobs.write_bytes(data)
    with transaction(engine) as session:
        record_blob(session, blob_id, owner, len(data), header)
    return blob_id
