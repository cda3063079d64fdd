"""Manual batches: calls to the model a session job holds on a worker.

`POST /v1/jobs/{id}/calls?op=train|test|predict|close` with the batch as an `.npz`
body; the answer comes back when the worker has run it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Header, Query, Request
from sqlalchemy.orm import Session

from schemas.api import JobKind, JobStatus, SessionCallResult
from server import relay
from server.api.deps import CurrentUser, SessionDep, SettingsDep, read_job, relay_client
from server.api.routing import ReleasingRoute
from server.core.errors import APIError, Conflict, InvalidArgument, NotFound, PayloadTooLarge
from server.store import jobs as job_store
from server.store import sessions as store
from server.store.db import session_factory

router = APIRouter(prefix="/jobs", tags=["sessions"], route_class=ReleasingRoute)

CALL_TIMEOUT = 300.0


class GatewayTimeout(APIError):
    """The worker did not answer in time."""

    status_code = 504
    code = "timeout"


@router.post("/{job_id}/calls", response_model=SessionCallResult)
async def call(job_id: str, request: Request, session: SessionDep, settings: SettingsDep,
               user: CurrentUser,
               op: Literal["train", "test", "predict", "export", "save_weights",
                           "load_weights", "close"] = Query(),
               x_horn_args: Annotated[str | None, Header(max_length=10_000)] = None
               ) -> SessionCallResult:
    """Run one manual-batch call on the session's model and return its answer."""
    await _check_session(request, session, job_id, user.name)
    try:
        args = json.loads(x_horn_args) if x_horn_args else {}
    except json.JSONDecodeError as exc:
        raise InvalidArgument(f"Expected JSON in the X-Horn-Args header: {exc}") from exc
    if not isinstance(args, dict):
        raise InvalidArgument("Expected a JSON object in the X-Horn-Args header.")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > settings.max_upload_bytes:
            raise PayloadTooLarge("The batch exceeds the server's maximum upload size "
                                  f"({settings.max_upload_bytes} bytes).")
    if op in ("train", "test", "predict"):
        from server.api.routes.weights import check_batch_archive

        check_batch_archive(bytes(body), settings.max_upload_bytes)
    elif op == "load_weights":
        await _check_weights_file(bytes(body), settings.max_upload_bytes)
    elif body:
        raise InvalidArgument(f"`{op}` takes no request body.")
    redis = relay_client(request)
    if redis is not None and len(body) <= relay.RELAY_MAX_BYTES:
        session.close()  # the wait may be long; hold no database connection meanwhile
        return await _relay_call(request, redis, job_id, op, args, bytes(body))
    call_id = store.add_call(session, job_id, op, args, bytes(body) or None)
    session.commit()
    if redis is not None:  # wake the worker: this call waits in the database
        await redis.rpush(relay.calls_key(job_id), relay.pack({"db_call": call_id}))
    return await _wait(request, call_id)


RECHECK_AFTER = 0.5
"""Seconds for which a session seen live (and the caller's) is not looked up again: a
session ends only after a second without calls, so a loop of calls skips the lookup."""


async def _check_session(request: Request, session: Session, job_id: str, user: str
                         ) -> None:
    """The session exists, is the caller's and has not ended.

    Raises:
        NotFound: no such session job of the caller's.
        Conflict: it has ended; the SDK opens a new one.
    """
    seen: dict[tuple[str, str], float] | None = getattr(request.app.state, "live_sessions",
                                                        None)
    if seen is None:
        seen = request.app.state.live_sessions = {}
    now = time.monotonic()
    if now - seen.get((job_id, user), -RECHECK_AFTER) < RECHECK_AFTER:
        return
    job = await read_job(request, session, job_id, user)
    if job is None or job.kind != JobKind.SESSION.value:
        raise NotFound(f"No session job with id {job_id!r}.")
    if JobStatus(job.status).is_terminal:
        seen.pop((job_id, user), None)
        raise Conflict(f"Session {job_id} has ended ({job.status}); open a new one.",
                       {"status": job.status})
    if len(seen) > 10_000:
        seen.clear()
    seen[(job_id, user)] = now


async def _relay_call(request: Request, redis: Any, job_id: str, op: str,
                      args: dict[str, Any], body: bytes) -> SessionCallResult:
    """Send a call through Redis and wait for its answer (see `server.relay`)."""
    token, frame = relay.new_call(op, args, body)
    key = relay.calls_key(job_id)
    await redis.rpush(key, frame)
    started = time.monotonic()
    while True:
        got = await redis.blpop([relay.reply_key(token)], timeout=1)
        if got is not None:
            header, output = relay.unpack(got[1])
            answer = SessionCallResult.model_validate(header)
            if output:
                answer.npz = base64.b64encode(output).decode()
            return answer
        timed_out = time.monotonic() - started > CALL_TIMEOUT
        ended = timed_out or await anyio.to_thread.run_sync(_session_ended, request, job_id)
        # Withdraw the call unless the worker already took it (then it answers).
        if ended and await redis.lrem(key, 1, frame):
            if timed_out:
                raise GatewayTimeout(f"The session's worker did not answer in "
                                     f"{CALL_TIMEOUT:.0f} s.")
            return SessionCallResult.model_validate({"status": store.FAILED, "error": {
                "type": "RuntimeError", "bases": ["RuntimeError"], "message": relay.SESSION_ENDED}})


def _session_ended(request: Request, job_id: str) -> bool:
    with session_factory(request.app.state.engine)() as s:
        job = job_store.get_job(s, job_id)
        return job is None or JobStatus(job.status).is_terminal


async def _check_weights_file(data: bytes, max_bytes: int) -> None:
    """An uploaded `.weights.h5` is inspected like an imported model's weights."""
    from server.importing import ImportRefused, check_hdf5

    if not data.startswith(b"\x89HDF\r\n\x1a\n"):
        raise InvalidArgument("Expected a Keras `.weights.h5` file (HDF5). Received bytes "
                              "that are not HDF5.")
    with tempfile.TemporaryDirectory(prefix="horn-weights-") as tmp:
        path = Path(tmp) / "upload.weights.h5"
        path.write_bytes(data)
        try:
            await anyio.to_thread.run_sync(check_hdf5, path, max_bytes)
        except ImportRefused as exc:
            raise InvalidArgument(str(exc).replace("model.weights.h5", "the weights file")
                                  ) from exc


async def _wait(request: Request, call_id: int) -> SessionCallResult:
    make_session = session_factory(request.app.state.engine)

    def fetch() -> tuple[str, dict | None, bytes | None]:
        with make_session() as s:
            row = store.get_call(s, call_id)
            assert row is not None
            return row.status, row.result, row.output

    started = time.monotonic()
    delay = 0.001
    while True:
        status, result, output = await anyio.to_thread.run_sync(fetch)
        if status in (store.DONE, store.FAILED):
            answer = SessionCallResult.model_validate({"status": status, **(result or {})})
            if output:
                answer.npz = base64.b64encode(output).decode()
            return answer
        if time.monotonic() - started > CALL_TIMEOUT:
            raise GatewayTimeout(f"The session's worker did not answer call {call_id} in "
                                 f"{CALL_TIMEOUT:.0f} s.")
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 0.02)
