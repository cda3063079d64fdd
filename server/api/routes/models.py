"""Models: register an architecture, read it back, download its weights."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from schemas.api import ModelCreate, ModelPublic
from schemas.validate import validate_keras_config
from server.api.deps import CurrentUser, SessionDep
from server.core.errors import InvalidArgument, NotFound
from server.store import models as store
from server.store.tables import ModelRow

router = APIRouter(prefix="/models", tags=["models"])


def to_public(row: ModelRow) -> ModelPublic:
    """The API view of a model row."""
    return ModelPublic(id=row.id, name=row.name, owner=row.owner, spec=row.spec,
                       weights_version=row.weights_version, created_at=row.created_at)


@router.post("", response_model=ModelPublic, status_code=201)
def create_model(body: ModelCreate, session: SessionDep, user: CurrentUser) -> ModelPublic:
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
    row = store.create_model(session, user, body.name, body.spec)
    session.commit()
    return to_public(row)


@router.get("/{model_id}", response_model=ModelPublic)
def get_model(model_id: str, session: SessionDep, user: CurrentUser) -> ModelPublic:
    """A registered model."""
    row = store.get_model(session, model_id, user)
    if row is None:
        raise NotFound(f"No model with id {model_id!r}.")
    return to_public(row)


@router.get("/{model_id}/weights", response_class=Response,
            responses={200: {"content": {"application/octet-stream": {}},
                             "description": "The weights as an `.npz` file of `.npy` arrays "
                             "(`weights/0000`, ... in Keras's `get_weights()` order)."}})
def download_weights(model_id: str, session: SessionDep, user: CurrentUser,
                     version: int | None = Query(default=None, ge=1)) -> Response:
    """Download a version of the model's weights (the newest by default)."""
    if store.get_model(session, model_id, user) is None:
        raise NotFound(f"No model with id {model_id!r}.")
    row = store.get_weights(session, model_id, version)
    if row is None:
        which = f"version {version}" if version else "any weights yet (train it first)"
        raise NotFound(f"Model {model_id!r} has no {which}.")
    return Response(row.data, media_type="application/octet-stream",
                    headers={"X-Horn-Weights-Version": str(row.version)})
