"""Uploading weights: `model.set_weights(...)` stores them as a new weights version."""

from __future__ import annotations

import io
import re
import zipfile

from fastapi import APIRouter, Request
from pydantic import BaseModel

from horn.schemas import npy
from horn.server.api.deps import CurrentUser, SessionDep, SettingsDep
from horn.server.api.routing import ReleasingRoute
from horn.server.core.exceptions import InvalidArgument, NotFound, PayloadTooLarge
from horn.server.store import models as store

router = APIRouter(prefix="/models", tags=["models"], route_class=ReleasingRoute)

_MEMBER = re.compile(r"^weights/\d{4}\.npy$")
_BATCH_MEMBER = re.compile(r"^(x|y|sample_weight)(/[A-Za-z0-9_.\-]{1,80})?\.npy$")


class WeightsStored(BaseModel):
    """The version the uploaded weights became."""

    model_id: str
    weights_version: int


def check_batch_archive(data: bytes, max_bytes: int) -> int:
    """Check the `.npz` of one manual batch (`x`, `y`, `sample_weight`, or `x/<name>`
    members for several inputs), like `check_weights_archive`."""
    return check_weights_archive(data, max_bytes, _BATCH_MEMBER, "`x`, `y`, `x/0`, ...",
                                 what="the batch")


def check_weights_archive(data: bytes, max_bytes: int, member: re.Pattern[str] = _MEMBER,
                          expected: str = "`weights/0000.npy`, `weights/0001.npy`, ...",
                          what: str = "the weights") -> int:
    """Check an `.npz` of weights: only `weights/NNNN.npy` members, each a plain `.npy`
    (no pickle, no object dtype) whose header matches its size, within the size limit.
    Returns the number of arrays."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise InvalidArgument(f"Expected {what} as an `.npz` archive (as `np.savez` "
                              f"writes). Received bytes that are not a zip file: {exc}") from exc
    total = 0
    with archive:
        infos = archive.infolist()
        for info in infos:
            if not member.fullmatch(info.filename):
                raise InvalidArgument(f"Expected only members named {expected} "
                                      f"Received: {info.filename[:80]!r}")
            total += info.file_size
            if total > max_bytes:
                raise PayloadTooLarge(f"{what.capitalize()} unpack to more than {max_bytes} bytes "
                                      "(HORN_MAX_UPLOAD_BYTES).")
            raw = archive.read(info)
            header = npy.parse_header(raw[: npy.MAX_HEADER_BYTES])
            npy.check_length(header, len(raw))
    return len(infos)


@router.put("/{model_id}/weights", response_model=WeightsStored,
            openapi_extra={"requestBody": {"required": True, "content": {
                "application/octet-stream": {"schema": {"type": "string",
                                                        "format": "binary"}}}}})
async def upload_weights(model_id: str, request: Request, session: SessionDep,
                         settings: SettingsDep, user: CurrentUser) -> WeightsStored:
    """Store weights (an `.npz` of `weights/NNNN` arrays in Keras's `get_weights()`
    order) as the model's newest version; the next job starts from them."""
    if store.get_model(session, model_id, user.name) is None:
        raise NotFound(f"No model with id {model_id!r}.")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > settings.max_upload_bytes:
            raise PayloadTooLarge(f"Upload exceeds the server's maximum of "
                                  f"{settings.max_upload_bytes} bytes (HORN_MAX_UPLOAD_BYTES).")
    check_weights_archive(bytes(body), settings.max_upload_bytes)
    version = store.add_weights(session, model_id, bytes(body), None, None)
    session.commit()
    return WeightsStored(model_id=model_id, weights_version=version)
