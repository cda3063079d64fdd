"""Models: register an architecture, read it back, download its weights."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import anyio
from fastapi import APIRouter, Query, Request, Response

from horn.schemas.api import MAX_NAME_LENGTH, ModelCreate, ModelPublic
from horn.schemas.estimate import TRAINING_COPIES
from horn.schemas.imports import ModelImported
from horn.schemas.validate import validate_keras_config
from horn.server.api.deps import BlobStoreDep, CurrentUser, SessionDep, SettingsDep
from horn.server.api.strict import StrictJSONRoute
from horn.server.core.exceptions import InvalidArgument, NotFound, PayloadTooLarge
from horn.server.core.limits import check_model_size
from horn.server.importing import ImportRefused, check_keras_file
from horn.server.store import models as store
from horn.server.store.tables import ModelRow

router = APIRouter(prefix="/models", tags=["models"], route_class=StrictJSONRoute)


def to_public(row: ModelRow) -> ModelPublic:
    """The API view of a model row."""
    return ModelPublic(id=row.id, name=row.name, owner=row.owner, spec=row.spec,
                       weights_version=row.weights_version, created_at=row.created_at)


@router.post("", response_model=ModelPublic, status_code=201)
def create_model(body: ModelCreate, session: SessionDep, settings: SettingsDep,
                 user: CurrentUser) -> ModelPublic:
    """Register a model in Keras's JSON format (as `model.to_json()` writes it).

    The spec is checked against the allow-list of Keras classes before it is stored.
    """
    if body.spec.get("class_name") not in ("Sequential", "Functional", "Model"):
        raise InvalidArgument(
            "Expected a model spec whose `class_name` is `Sequential` or `Functional` "
            f"(the JSON of `model.to_json()`). Received: class_name="
            f"{str(body.spec.get('class_name'))[:100]!r}"
        )
    validate_keras_config(body.spec, where="spec")
    check_model_size(body.spec, settings)
    row = store.create_model(session, user.name, body.name, body.spec)
    session.commit()
    return to_public(row)


@router.post("/import", response_model=ModelImported, status_code=201,
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/octet-stream": {"schema": {"type": "string",
                                                         "format": "binary"}}}}})
async def import_model(request: Request, session: SessionDep, settings: SettingsDep,
                       blobs: BlobStoreDep, user: CurrentUser,
                       name: str = Query(min_length=1, max_length=MAX_NAME_LENGTH,
                                         description="The model's name")) -> ModelImported:
    """Create a model from a `.keras` file (the body, as `model.save()` wrote it).

    The archive is unpacked with size and compression-ratio limits, its `config.json` is
    checked against the allow-list like `POST /v1/models`, and its `model.weights.h5` is
    inspected (no external links or files, numeric datasets within the limits) and kept
    as a blob for a worker to load. Legacy `.h5` model files are refused.
    """
    with tempfile.TemporaryDirectory(prefix="horn-import-") as tmp:
        upload = Path(tmp) / "upload.keras"
        size = 0
        with upload.open("wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > settings.max_import_bytes:
                    raise PayloadTooLarge(
                        f"The .keras file exceeds the server's maximum of "
                        f"{settings.max_import_bytes:,} bytes (HORN_MAX_IMPORT_BYTES).")
                out.write(chunk)
        weights_limit = min(settings.max_unpacked_bytes,
                            settings.max_model_memory_bytes // TRAINING_COPIES)
        try:
            checked = await anyio.to_thread.run_sync(functools.partial(
                check_keras_file, upload, Path(tmp),
                max_unpacked_bytes=settings.max_unpacked_bytes,
                max_ratio=settings.max_compression_ratio,
                max_weights_bytes=weights_limit))
        except ImportRefused as exc:
            raise InvalidArgument(str(exc)) from exc
        check_model_size(checked.config, settings)
        weights_blob = None
        if checked.weights is not None:
            weights_blob = await anyio.to_thread.run_sync(blobs.put_file, checked.weights)
    row = store.create_model(session, user.name, name, checked.config)
    row.import_weights_blob = weights_blob
    session.commit()
    return ModelImported(**to_public(row).model_dump(), import_weights_blob=weights_blob,
                         weights_bytes=checked.weights_bytes,
                         keras_version=checked.keras_version)


@router.get("/{model_id}", response_model=ModelPublic)
def get_model(model_id: str, session: SessionDep, user: CurrentUser) -> ModelPublic:
    """A registered model."""
    row = store.get_model(session, model_id, user.name)
    if row is None:
        raise NotFound(f"No model with id {model_id!r}.")
    return to_public(row)


@router.get("/{model_id}/weights", response_class=Response,
            responses={200: {"content": {"application/octet-stream": {}},
                             "description": "The weights as an `.npz` file of `.npy` arrays "
                             "(`weights/0000`, ... in Keras's `get_weights()` order)."}})
def download_weights(model_id: str, session: SessionDep, user: CurrentUser,
                     version: int | None = Query(default=None, ge=1, le=2**31 - 1)
                     ) -> Response:
    """Download a version of the model's weights (the newest by default)."""
    if store.get_model(session, model_id, user.name) is None:
        raise NotFound(f"No model with id {model_id!r}.")
    row = store.get_weights(session, model_id, version)
    if row is None:
        which = f"version {version}" if version else "any weights yet (train it first)"
        raise NotFound(f"Model {model_id!r} has no {which}.")
    return Response(row.data, media_type="application/octet-stream",
                    headers={"X-Horn-Weights-Version": str(row.version)})
