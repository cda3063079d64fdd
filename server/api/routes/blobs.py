"""Blobs: content-addressed `.npy` arrays, uploaded once and referenced by jobs."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from horn.schemas.api import BlobPublic, BlobsMissing, BlobsMissingRequest
from horn.server.api.deps import BlobStoreDep, CurrentUser, SessionDep, SettingsDep
from horn.server.api.routing import releasing_sessions
from horn.server.api.strict import StrictJSONRoute
from horn.server.core.exceptions import NotFound
from horn.server.store import blobs as store
from horn.server.store.loopreads import LoopReads
from horn.server.store.tables import BlobRow

router = APIRouter(prefix="/blobs", tags=["blobs"], route_class=StrictJSONRoute)


@router.post("/missing", response_model=BlobsMissing)
async def missing(body: BlobsMissingRequest, request: Request, session: SessionDep,
                  blobs: BlobStoreDep, user: CurrentUser) -> BlobsMissing:
    """Which of these ids the server lacks: upload only those."""
    ids = list(dict.fromkeys(body.ids))
    reads: LoopReads | None = request.app.state.loop_reads
    if reads is not None:  # PostgreSQL: the read on the loop, the files' checks in a thread
        owned = await reads.blob_refs(user.name, ids)
    else:
        owned = await run_in_threadpool(releasing_sessions(store.owned_ids), session,
                                        user.name, ids)
    if not owned:  # nothing to look for in the store
        return BlobsMissing(missing=ids)
    return BlobsMissing(missing=await run_in_threadpool(store.missing_ids, blobs, ids, owned))


@router.put("/{blob_id}", response_model=BlobPublic,
            openapi_extra={"requestBody": {"required": True, "content": {
                "application/octet-stream": {"schema": {"type": "string",
                                                        "format": "binary"}}}}})
async def upload(blob_id: str, request: Request, session: SessionDep, blobs: BlobStoreDep,
                 settings: SettingsDep, user: CurrentUser) -> BlobPublic:
    """Upload the `.npy` bytes of one array, streamed; the id must be their BLAKE3 hash."""
    store.check_blob_id(blob_id)
    existing = session.get(BlobRow, blob_id)
    if existing is not None and blobs.exists(blob_id) and \
            store.has_ref(session, user.name, blob_id):
        async for _ in request.stream():  # drain; the bytes are already here
            pass
        return _public(existing)
    # Stored for someone else, or not at all: the bytes must arrive and hash to the id,
    # which proves the caller holds them before they may use the blob.
    size, header = await blobs.receive(blob_id, request.stream(), settings.max_upload_bytes)
    row = store.record_blob(session, blob_id, user.name, size, header)
    session.commit()
    return _public(row)


@router.get("/{blob_id}", response_class=Response,
            responses={200: {"content": {"application/octet-stream": {}}}})
async def download(blob_id: str, request: Request, session: SessionDep, blobs: BlobStoreDep,
                   user: CurrentUser) -> Response:
    """The `.npy` bytes of a blob (datasets, predictions)."""
    store.check_blob_id(blob_id)
    size = await _usable_size(request, session, blob_id, user.name)
    path = blobs.local_path(blob_id)
    if path is not None:
        found = None if size is None else await run_in_threadpool(_stat, path)
        if found is None:
            raise NotFound(f"No blob with id {blob_id!r}.")
        return FileResponse(path, stat_result=found, media_type="application/octet-stream")
    if size is None or not await run_in_threadpool(blobs.exists, blob_id):
        raise NotFound(f"No blob with id {blob_id!r}.")
    # Object storage: stream the object through (clients need not reach the store).
    return StreamingResponse(blobs.iter_chunks(blob_id), media_type="application/octet-stream",
                             headers={"Content-Length": str(size)})


async def _usable_size(request: Request, session: Session, blob_id: str, owner: str
                       ) -> int | None:
    """The blob's size when `owner` may use it: read on the event loop on PostgreSQL
    (`horn.server.store.loopreads`), otherwise through the ORM in the thread pool."""
    reads: LoopReads | None = request.app.state.loop_reads
    if reads is not None:
        return await reads.blob_size(owner, blob_id)

    def size(session: Session) -> int | None:
        row = store.usable_blob(session, owner, blob_id)
        return None if row is None else row.size

    found: int | None = await run_in_threadpool(releasing_sessions(size), session)
    return found


def _stat(path: Path) -> os.stat_result | None:
    """The file's status (what `FileResponse` sends as its headers), or None when it is
    not a file."""
    try:
        found = path.stat()
    except FileNotFoundError:
        return None
    return found if stat.S_ISREG(found.st_mode) else None


def _public(row: BlobRow) -> BlobPublic:
    return BlobPublic(id=row.id, size=row.size, dtype=row.dtype, shape=list(row.shape))
