"""Producing a `.keras` file on the server's behalf: the server has no Keras, so a
short session job on a worker writes the file (the dashboard's download link)."""

from __future__ import annotations

import time

from celery import Celery
from sqlalchemy import Engine

from horn.server.queue import send_job
from horn.server.store import jobs as job_store
from horn.server.store import sessions
from horn.server.store.db import transaction
from horn.settings import ServerSettings


class ExportFailed(RuntimeError):
    """The worker could not write the file (or did not answer in time)."""


def export_keras(engine: Engine, sender: Celery, settings: ServerSettings, *, owner: str,
                 model_id: str, compile_config: dict | None, weights_version: int | None,
                 timeout: float = 300.0) -> bytes:
    """The model with the given weights version, as the bytes of a `.keras` file."""
    with transaction(engine) as session:
        job = job_store.create_job(
            session, owner=owner, model_id=model_id, kind="session", queue=settings.queue,
            compile_config=compile_config, compile_id=None,
            args={"weights_version": weights_version, "idle_timeout": 5.0}, data={},
            idempotency_key=None, priority="high", max_attempts=1)
        call_id = sessions.add_call(session, job.id, "export", {}, None)
        sessions.add_call(session, job.id, "close", {}, None)
    send_job(sender, job)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with transaction(engine) as session:
            call = sessions.get_call(session, call_id)
            assert call is not None
            if call.status == sessions.DONE and call.output:
                return bytes(call.output)
            if call.status == sessions.FAILED:
                error = (call.result or {}).get("error") or {}
                raise ExportFailed(str(error.get("message") or "the export failed"))
        time.sleep(0.1)
    raise ExportFailed(f"No worker wrote the file within {timeout:.0f} s.")
