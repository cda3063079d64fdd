"""Blobs: content-addressed `.npy` arrays, uploaded once and referenced by jobs."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response, StreamingResponse

from schemas.api import BlobPublic, BlobsMissing, BlobsMissingRequest
from server.api.deps import BlobStoreDep, CurrentUser, SessionDep, SettingsDep
from server.api.strict import StrictJSONRoute
from server.core.errors import NotFound
from server.store import blobs as store
from server.store.tables import BlobRow

router = APIRouter(prefix="/blobs", tags=["blobs"], route_class=StrictJSONRoute)


@router.post("/missing", response_model=BlobsMissing)
def missing(body: BlobsMissingRequest, session: SessionDep, blobs: BlobStoreDep,
            user: CurrentUser) -> BlobsMissing:
    """Which of these ids the server lacks: upload only those."""
    return BlobsMissing(missing=store.missing_ids(session, blobs, body.ids, user.name))


@router.put("/{blob_id}", response_model=BlobPublic,
            openapi_extra={"requestBody": {"required": True, "content": {
                "application/octet-stream": {"schema": {"type": "string",
                                                        "format": "binary"}}}}})
async def upload(blob_id: str, request: Request, session: SessionDep, blobs: BlobStoreDep,
                 settings: SettingsDep, user: CurrentUser) -> BlobPublic:
    """Upload the `.npy` bytes of one array, streamed; the id must be their SHA-256."""
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
def download(blob_id: str, session: SessionDep, blobs: BlobStoreDep,
             user: CurrentUser) -> Response:
    """The `.npy` bytes of a blob (datasets, predictions)."""
    store.check_blob_id(blob_id)
    row = session.get(BlobRow, blob_id)
    if row is None or not store.has_ref(session, user.name, blob_id) or \
            not blobs.exists(blob_id):
        raise NotFound(f"No blob with id {blob_id!r}.")
    path = blobs.local_path(blob_id)
    if path is not None:
        return FileResponse(path, media_type="application/octet-stream")
    # Object storage: stream the object through (clients need not reach the store).
    return StreamingResponse(blobs.iter_chunks(blob_id), media_type="application/octet-stream",
                             headers={"Content-Length": str(row.size)})


def _public(row: BlobRow) -> BlobPublic:
    return BlobPublic(id=row.id, size=row.size, dtype=row.dtype, shape=list(row.shape))
