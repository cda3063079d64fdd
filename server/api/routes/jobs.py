"""Jobs: submit fit/evaluate/predict, read them, follow their events and metrics."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from horn.schemas.api import (
    JobCreate,
    JobKind,
    JobPublic,
    JobsPublic,
    JobStatus,
    MetricPublic,
    MetricsPublic,
    args_model,
)
from horn.schemas.events import JOB_END
from horn.schemas.tree import flatten
from horn.schemas.validate import validate_keras_config
from horn.server.api.deps import (
    CurrentUser,
    SessionDep,
    SettingsDep,
    caller_and_job,
    event_wakeups,
    read_job,
)
from horn.server.api.strict import StrictJSONRoute
from horn.server.core import limits
from horn.server.core.exceptions import Conflict, InvalidArgument, NotFound
from horn.server.queue import send_job
from horn.server.store import jobs as store
from horn.server.store.blobs import check_blob_id, usable_blob
from horn.server.store.db import session_factory
from horn.server.store.loopreads import LoopReads
from horn.server.store.models import get_model
from horn.server.store.tables import JobRow
from horn.server.wakeups import Watch

router = APIRouter(prefix="/jobs", tags=["jobs"], route_class=StrictJSONRoute)
log = logging.getLogger(__name__)

def to_public(row: JobRow | dict[str, Any]) -> JobPublic:
    """The API view of a job: its row, or the row's `JobPublic` columns by name (what
    the poll's loop read returns)."""
    view = row if isinstance(row, dict) else {name: getattr(row, name)
                                              for name in JobPublic.model_fields}
    return JobPublic.model_validate({**view, "error": view["error"] or None})


def _check_args(kind: JobKind, args: dict[str, Any]) -> dict[str, Any]:
    try:
        parsed = args_model(kind).model_validate(args)
    except ValidationError as exc:
        problems = "; ".join(
            f"`{'.'.join(str(p) for p in e['loc'])}`: {e['msg']}. Received: {e.get('input')!r}"
            for e in exc.errors()[:5])
        raise InvalidArgument(f"Invalid arguments for `{kind.value}`: {problems}") from exc
    for callback in getattr(parsed, "callbacks", []):
        validate_keras_config(callback, where="args.callbacks")
    return parsed.model_dump()


@router.post("", response_model=JobPublic, status_code=201,
             responses={200: {"model": JobPublic,
                              "description": "A job with this Idempotency-Key exists"}})
def create_job(body: JobCreate, session: SessionDep, settings: SettingsDep, user: CurrentUser,
               request: Request, response: Response,
               idempotency_key: Annotated[str | None, Header(max_length=200)] = None
               ) -> JobPublic:
    """Queue a job. With an `Idempotency-Key`, repeating the request returns the same job."""
    if idempotency_key:
        existing = store.find_by_idempotency_key(session, user.name, idempotency_key)
        if existing is not None:
            response.status_code = 200
            return to_public(existing)
    model = get_model(session, body.model_id, user.name)
    if model is None:
        raise NotFound(f"No model with id {body.model_id!r}. Register it with "
                       "POST /v1/models first.")
    limits.check_time_limit(body.time_limit, settings)
    limits.check_model_size(model.spec, settings)
    if body.kind not in (JobKind.INSPECT, JobKind.SESSION) and body.data.x is None:
        raise InvalidArgument(f"`{body.kind.value}` needs input data: the job's `data.x` "
                              "is missing. Upload the array and pass its blob id.")
    if body.kind in (JobKind.FIT, JobKind.EVALUATE) and not body.compile_config:
        raise InvalidArgument(
            f"You must call `compile()` on the model before `{body.kind.value}`: "
            "the job carries no compile_config.")
    if body.compile_config:
        validate_keras_config(body.compile_config, where="compile_config")
    args = _check_args(body.kind, body.args)
    data = body.data.model_dump(exclude_none=True)
    limits.check_array_count(len(flatten(data)), settings)
    samples: int | None = None
    for name, ref in data.items():
        for blob_id in flatten(ref):
            check_blob_id(blob_id)
            blob = usable_blob(session, user.name, blob_id)
            if blob is None:
                raise InvalidArgument(
                    f"Array `{name}` refers to blob {blob_id}, which you never uploaded. "
                    "Upload it with PUT /v1/blobs/{id} first.")
            if name == "x" and samples is None and blob.shape:
                samples = int(blob.shape[0])
    limits.check_steps(body.kind.value, args, samples, settings)
    limits.check_job_quota(session, user.name, settings)
    row = store.create_job(session, owner=user.name, model_id=body.model_id, kind=body.kind.value,
                           queue=body.queue or settings.queue,
                           compile_config=body.compile_config, compile_id=body.compile_id,
                           args=args, data=data, idempotency_key=idempotency_key,
                           priority=body.priority, max_attempts=body.max_attempts,
                           time_limit=body.time_limit, sending=True)
    session.commit()
    # Marked sent in the row's own transaction (one commit per job, not two): a server
    # that dies before the send leaves a job the reaper finds missing from the broker.
    try:
        send_job(request.app.state.sender, row)
    except Exception:  # the broker is down: the job stays queued; the reaper sends it
        log.warning("could not send job %s to the broker; the reaper will retry", row.id,
                    exc_info=True)
        store.mark_unsent(session, row.id)
        session.commit()
    return to_public(row)


@router.get("", response_model=JobsPublic)
def list_jobs(session: SessionDep, user: CurrentUser,
              status: JobStatus | None = None,
              limit: int = Query(default=50, ge=1, le=500),
              offset: int = Query(default=0, ge=0, le=1_000_000_000)) -> JobsPublic:
    """Your jobs, newest first."""
    rows, count = store.list_jobs(session, owner=user.name,
                                  status=status.value if status else None,
                                  limit=limit, offset=offset)
    return JobsPublic(data=[to_public(r) for r in rows], count=count)


@router.get("/{job_id}", response_model=JobPublic)
async def get_job(job_id: str, request: Request) -> JobPublic:
    """One job (read with the caller's key, on the event loop, on PostgreSQL: scripts
    and pages poll this)."""
    _, row = await caller_and_job(request, job_id)
    if row is None:
        raise NotFound(f"No job with id {job_id!r}.")
    return to_public(row)


@router.post("/{job_id}/cancel", response_model=JobPublic,
             responses={409: {"description": "The job already finished"}})
def cancel_job(job_id: str, session: SessionDep, user: CurrentUser) -> JobPublic:
    """Cancel a job. A queued job is cancelled at once and never runs; a running one
    stops within a batch, saves a final checkpoint and ends `cancelled`."""
    if store.get_job(session, job_id, user.name) is None:
        raise NotFound(f"No job with id {job_id!r}.")
    status = store.cancel_job(session, job_id)
    session.commit()
    if status in (JobStatus.SUCCEEDED.value, JobStatus.FAILED.value):
        raise Conflict(f"Job {job_id} has already finished ({status}); there is nothing to "
                       "cancel.", {"status": status})
    row = store.get_job(session, job_id)
    assert row is not None
    session.refresh(row)
    return to_public(row)


@router.post("/{job_id}/stop", response_model=JobPublic,
             responses={409: {"description": "The job already finished"}})
def stop_job(job_id: str, session: SessionDep, user: CurrentUser) -> JobPublic:
    """Stop a fit after its epoch in progress; it finishes normally (`succeeded`), as
    when a Keras callback sets `model.stop_training = True`."""
    row = store.get_job(session, job_id, user.name)
    if row is None:
        raise NotFound(f"No job with id {job_id!r}.")
    if not store.request_stop(session, job_id):
        raise Conflict(f"Job {job_id} has already finished ({row.status}).",
                       {"status": row.status})
    session.commit()
    session.refresh(row)
    return to_public(row)


@router.get("/{job_id}/metrics", response_model=MetricsPublic)
def job_metrics(job_id: str, session: SessionDep, user: CurrentUser) -> MetricsPublic:
    """Per-epoch metrics of a job, as the worker recorded them."""
    if store.get_job(session, job_id, user.name) is None:
        raise NotFound(f"No job with id {job_id!r}.")
    rows = store.job_metrics(session, job_id)
    return MetricsPublic(count=len(rows), data=[
        MetricPublic(epoch=r.epoch, step=r.step, name=r.name, value=r.value, time=r.time)
        for r in rows])


@router.get("/{job_id}/events", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "Server-sent events: `id`, `event` (the type) "
                             "and `data` (JSON). Reconnect with `Last-Event-ID` to resume."}})
async def job_events(job_id: str, request: Request, session: SessionDep, user: CurrentUser,
                     last_event_id: Annotated[str | None, Header()] = None,
                     after: int | None = Query(default=None, ge=0, le=2**53,
                                               description="Replay events after this id")
                     ) -> StreamingResponse:
    """Stream the job's events as they happen, from the start or after `Last-Event-ID`."""
    if await read_job(request, session, job_id, user.name) is None:
        raise NotFound(f"No job with id {job_id!r}.")
    start = after or 0
    if last_event_id:
        if not last_event_id.isdigit() or int(last_event_id) > 2**53:
            raise InvalidArgument("Expected Last-Event-ID to be an event id (a non-negative "
                                  f"integer). Received: {last_event_id[:40]!r}")
        start = max(start, int(last_event_id))
    stream = _event_stream(request, job_id, start)
    return StreamingResponse(stream, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _event_stream(request: Request, job_id: str, after_id: int) -> AsyncIterator[str]:
    engine = request.app.state.engine
    poll = request.app.state.settings.event_poll_interval
    make_session = session_factory(engine)
    reads: LoopReads | None = request.app.state.loop_reads

    def fetch_in_thread(last: int) -> list[tuple[int, str, str]]:
        with make_session() as session:
            return [(e.id, e.type, json.dumps(e.data)) for e in
                    store.events_after(session, job_id, last)]

    async def fetch(last: int) -> list[tuple[int, str, str]]:
        if reads is not None:  # PostgreSQL: one round trip on the loop
            return await reads.events(job_id, last)
        return await anyio.to_thread.run_sync(fetch_in_thread, last)

    wake = await EventWake.open(request, job_id, poll)
    try:
        last, idle = after_id, 0.0
        while True:
            batch = await fetch(last)
            for event_id, type_, data in batch:
                last = event_id
                yield f"id: {event_id}\nevent: {type_}\ndata: {data}\n\n"
                if type_ == JOB_END:
                    return
            if batch:
                idle = 0.0
                continue
            if await request.is_disconnected():
                return
            idle += await wake.wait()
            if idle >= 15:
                idle = 0.0
                yield ": keep-alive\n\n"
    finally:
        await wake.close()


class EventWake:
    """How an event stream waits for the next events: a notice from the worker through
    the process's shared Redis subscription (`horn.server.wakeups`, where Redis is the
    broker), or else its poll interval.

    With notices the stream still looks at the database every `RECHECK` seconds, for
    events written without a notice (by the server, or while Redis was away).
    """

    RECHECK = 0.5

    def __init__(self, watch: Watch | None, poll: float) -> None:
        self.watch = watch
        self.poll = poll

    @classmethod
    async def open(cls, request: Request, job_id: str, poll: float) -> EventWake:
        """Subscribe before the first read, so that no notice can be missed."""
        from horn.schemas.names import events_channel

        hub = event_wakeups(request)
        if hub is None:
            return cls(None, poll)
        return cls(await hub.watch(events_channel(job_id)), poll)

    async def wait(self) -> float:
        """Wait for a notice (or the poll interval); returns the seconds waited."""
        started = time.monotonic()
        if self.watch is None:
            await asyncio.sleep(self.poll)
            return self.poll
        await self.watch.wait(self.RECHECK if self.watch.live else self.poll)
        return time.monotonic() - started

    async def close(self) -> None:
        """Stop watching."""
        if self.watch is not None:
            await self.watch.close()
            self.watch = None
