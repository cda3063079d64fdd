"""Manual batches: calls to the model a session job holds on a worker.

`POST /v1/jobs/{id}/calls?op=train|test|predict|close` with the batch as an `.npz`
body; the answer comes back when the worker has run it. The SDK sends a loop's
`train`, `test` and `predict` calls over one websocket per session instead
(`/v1/jobs/{id}/calls/stream`): the same checks and the same answers, without an HTTP
request per batch.
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
from fastapi import APIRouter, Header, Query, Request, WebSocket, WebSocketDisconnect
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection

from horn.schemas import names
from horn.schemas.api import JobKind, JobStatus, SessionCallResult
from horn.schemas.errors import ErrorCode
from horn.schemas.frames import STREAM_OPS
from horn.server.api.deps import (
    CurrentUser,
    SessionDep,
    SettingsDep,
    UserContext,
    authenticate_connection,
    read_job,
    relay_client,
)
from horn.server.api.routing import ReleasingRoute
from horn.server.core.exceptions import (
    APIError,
    Conflict,
    InvalidArgument,
    NotFound,
    PayloadTooLarge,
)
from horn.server.core.ratelimit import RateLimiter
from horn.server.store import jobs as job_store
from horn.server.store import relay
from horn.server.store import sessions as store
from horn.server.store.db import session_factory

router = APIRouter(prefix="/jobs", tags=["sessions"], route_class=ReleasingRoute)

CALL_TIMEOUT = 300.0


class GatewayTimeout(APIError):
    """The worker did not answer in time."""

    code = ErrorCode.TIMEOUT


Op = Literal["train", "test", "predict", "export", "save_weights", "load_weights", "close"]


@router.post("/{job_id}/calls", response_model=SessionCallResult)
async def call(job_id: str, request: Request, session: SessionDep, settings: SettingsDep,
               user: CurrentUser, op: Op = Query(),
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
    await _check_body(op, bytes(body), settings.max_upload_bytes)
    session.close()  # the wait may be long; hold no database connection meanwhile
    header, output = relay.unpack(await _perform(request, job_id, op, args, bytes(body)))
    answer = SessionCallResult.model_validate(header)
    if output:
        answer.npz = base64.b64encode(output).decode()
    return answer


AUTH_RECHECK = 1.0
"""Seconds a websocket goes on using the key it was opened with before looking it up
again (a revoked key stops its open streams within this time)."""


@router.websocket("/{job_id}/calls/stream")
async def call_stream(websocket: WebSocket, job_id: str) -> None:
    """The same calls as `POST /{job_id}/calls` (`train`, `test`, `predict`) over one
    websocket: each message a frame (`horn.schemas.frames`) whose header is
    `{"op", "args"}` and whose payload is the batch's `.npz`; each answer a frame whose
    header is the `SessionCallResult` (without `npz`) and whose payload is the outputs'
    `.npz`, or `{"status": "error", "http_status", "error"}` for what the POST would
    refuse with that status. A call costs one message each way: no HTTP request to
    parse, no dependencies to resolve, no base64 or JSON for the outputs.

    A handshake that fails authentication or names no live session of the caller's is
    refused (HTTP 403); the SDK then sends the call by POST, which says why.
    """
    settings = websocket.app.state.settings
    try:
        user = await authenticate_connection(websocket)
        await _check_session(websocket, None, job_id, user.name)
    except (APIError, OperationalError):
        await websocket.close(code=1008)
        return
    await websocket.accept()
    authenticated = time.monotonic()
    counted = websocket.app.state.http_metrics.stream_calls
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        try:
            if time.monotonic() - authenticated > AUTH_RECHECK:
                user = await authenticate_connection(websocket)
                authenticated = time.monotonic()
            else:
                _count_request(websocket, user)
            data = message.get("bytes")
            if data is None:
                raise InvalidArgument("Expected binary frames on this websocket. Received "
                                      "a text message.")
            if len(data) > settings.max_upload_bytes:
                raise PayloadTooLarge("The batch exceeds the server's maximum upload size "
                                      f"({settings.max_upload_bytes} bytes).")
            op, args, body = _stream_call(data)
            await _check_session(websocket, None, job_id, user.name)
            await _check_body(op, body, settings.max_upload_bytes)
            answer = await _perform(websocket, job_id, op, args, body)
            counted.labels(op).inc()
        except APIError as exc:
            answer = _error_frame(exc.status_code, exc.code, exc.message, exc.details)
        except OperationalError:
            answer = _error_frame(503, "unavailable", "The database is unavailable; the call "
                                  "was not carried out. Retry shortly.")
        try:
            await websocket.send_bytes(answer)
        except (WebSocketDisconnect, OSError):  # the client left before its answer
            return


def _count_request(connection: HTTPConnection, user: UserContext) -> None:
    """Hold a websocket's calls to the key's request rate limit, like requests."""
    limiter: RateLimiter | None = getattr(connection.app.state, "rate_limiter", None)
    if limiter is not None and connection.app.state.settings.auth != "none":
        limiter.check(user.key_prefix or user.name)


def _stream_call(data: bytes) -> tuple[str, dict[str, Any], bytes]:
    """The op, arguments and batch of one websocket message.

    Raises:
        InvalidArgument: not a frame, or an op or arguments this stream does not take.
    """
    try:
        header, body = relay.unpack(data)
    except ValueError as exc:
        raise InvalidArgument("Expected a frame: a 4-byte big-endian header length, a JSON "
                              f"object, then the batch. Received: {exc}") from exc
    op, args = header.get("op"), header.get("args", {})
    if op not in STREAM_OPS:
        raise InvalidArgument(f"Expected `op` to be one of {sorted(STREAM_OPS)} on this "
                              f"websocket. Received: {str(op)[:40]!r}. Send other calls "
                              "with POST /v1/jobs/{id}/calls.")
    if args is None:
        args = {}
    if not isinstance(args, dict) or len(json.dumps(args)) > 10_000:
        raise InvalidArgument("Expected `args` to be a JSON object of at most 10,000 "
                              f"characters. Received: a {type(args).__name__} of "
                              f"{len(json.dumps(args))} characters.")
    return str(op), args, body


def _error_frame(status: int, code: str, message: str,
                 details: dict[str, Any] | None = None) -> bytes:
    return relay.pack({"status": "error", "http_status": status,
                       "error": {"code": code, "message": message, "details": details}})


async def _check_body(op: str, body: bytes, max_bytes: int) -> None:
    """A call's body is what its op takes: a batch archive, a weights file, or nothing.

    Raises:
        InvalidArgument, PayloadTooLarge: it is not.
    """
    if op in ("train", "test", "predict"):
        from horn.server.api.routes.weights import check_batch_archive

        check_batch_archive(body, max_bytes)
    elif op == "load_weights":
        await _check_weights_file(body, max_bytes)
    elif body:
        raise InvalidArgument(f"`{op}` takes no request body.")


async def _perform(connection: HTTPConnection, job_id: str, op: str, args: dict[str, Any],
                   body: bytes) -> bytes:
    """Hand a checked call to the session's worker and wait for its answer, through
    Redis where the broker is Redis and the batch fits, otherwise through the database.
    Returns the answer as a relay frame."""
    redis = relay_client(connection)
    if redis is not None and len(body) <= relay.RELAY_MAX_BYTES:
        return await _relay_call(connection, redis, job_id, op, args, body)
    make_session = session_factory(connection.app.state.engine)

    def add() -> int:
        with make_session() as s:
            call_id = store.add_call(s, job_id, op, args, body or None)
            s.commit()
            return call_id

    call_id = await anyio.to_thread.run_sync(add)
    if redis is not None:  # wake the worker: this call waits in the database
        await redis.rpush(names.calls_key(job_id), relay.pack({"db_call": call_id}))
    return await _wait(connection, call_id)


RECHECK_AFTER = 0.5
"""Seconds for which a session seen live (and the caller's) is not looked up again: a
session ends only after a second without calls, so a loop of calls skips the lookup."""


async def _check_session(request: HTTPConnection, session: Session | None, job_id: str,
                         user: str) -> None:
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


async def _relay_call(request: HTTPConnection, redis: Any, job_id: str, op: str,
                      args: dict[str, Any], body: bytes) -> bytes:
    """Send a call through Redis and wait for its answer frame (see `horn.server.store.relay`)."""
    token, frame = relay.new_call(op, args, body)
    key = names.calls_key(job_id)
    await redis.rpush(key, frame)
    started = time.monotonic()
    while True:
        got = await redis.blpop([names.reply_key(token)], timeout=1)
        if got is not None:
            answer: bytes = got[1]
            return answer
        timed_out = time.monotonic() - started > CALL_TIMEOUT
        ended = timed_out or await anyio.to_thread.run_sync(_session_ended, request, job_id)
        # Withdraw the call unless the worker already took it (then it answers).
        if ended and await redis.lrem(key, 1, frame):
            if timed_out:
                raise GatewayTimeout(f"The session's worker did not answer in "
                                     f"{CALL_TIMEOUT:.0f} s.")
            return relay.pack({"status": store.FAILED, "error": {
                "type": "RuntimeError", "bases": ["RuntimeError"], "message": relay.SESSION_ENDED}})


def _session_ended(request: HTTPConnection, job_id: str) -> bool:
    with session_factory(request.app.state.engine)() as s:
        job = job_store.get_job(s, job_id)
        return job is None or JobStatus(job.status).is_terminal


async def _check_weights_file(data: bytes, max_bytes: int) -> None:
    """An uploaded `.weights.h5` is inspected like an imported model's weights."""
    from horn.server.importing import ImportRefused, check_hdf5

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


async def _wait(request: HTTPConnection, call_id: int) -> bytes:
    """Wait for the answer of a call queued in the database; returns it as a frame."""
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
            return relay.pack({"status": status, **(result or {})}, output or b"")
        if time.monotonic() - started > CALL_TIMEOUT:
            raise GatewayTimeout(f"The session's worker did not answer call {call_id} in "
                                 f"{CALL_TIMEOUT:.0f} s.")
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 0.02)
