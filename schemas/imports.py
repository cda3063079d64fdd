"""Wire models of `.keras` imports (`POST /v1/models/import`)."""

from __future__ import annotations

from pydantic import Field

from horn.schemas.api import ModelPublic


class ModelImported(ModelPublic):
    """A model created from an uploaded `.keras` file."""

    import_weights_blob: str | None = Field(
        default=None, description="Blob id (BLAKE3) of the checked `model.weights.h5`; "
        "a worker loads it before the model's first job")
    weights_bytes: int = Field(default=0, description="Declared bytes of the weights")
    keras_version: str | None = None
